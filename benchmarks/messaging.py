"""The messaging API's speed targets (issue 12, "Speed"), as ratios measured in one run.

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/messaging.py [--search-size 1000000] [--small-size 10000]
        [--posts 40] [--rounds 5] [--repeat 15] [--channels 500] [--few-channels 5]
        [--keepdb] [--skip-post] [--skip-search] [--skip-channels]

``--quick`` is ``--search-size 100000 --posts 20 --rounds 3 --repeat 7``. It creates its
OWN scratch database (Django's test-database machinery: ``test_<NAME>`` next to the
database of DATABASE_URL, in memory on SQLite), migrates it, and drops it at the end
unless ``--keepdb`` (then the next run reuses the seeded rows). It prints figures and
asserts nothing about wall-clock; the targets are printed next to the ratios.

1. **Post**: ``POST /api/messaging/channels/{id}/messages/`` (a session token) against
   ``POST /api/v2/message`` (an admin access token) into the same kind of channel, with
   Django's test client in this process (as ``benchmarks/console.py``), ``--rounds``
   rounds of ``--posts`` posts each, the two APIs alternating; the median per post and
   the statements per post. Target: messaging / v2 <= 1.2.
2. **Search** (PostgreSQL; on SQLite the LIKE fallback is timed, for reference only):
   two organizations, one with ``--search-size`` messages in 100 public channels, one
   with ``--small-size``; the same queries in each through
   ``apps.messages.selectors.search.messages_search`` (the readable channels, then the
   page of 50): a rare word (40 messages of each set contain it), a word in 1 % of the
   messages, a word in none, the 1 % word with a word of every message; on PostgreSQL
   also the statements' own execution time (EXPLAIN ANALYZE, summed). Target: big / small
   <= 3 (the GIN index carries it). The rare word is also run as an unindexed
   ``ILIKE '%word%'`` over the big set (the ratio is reported), and a history page (no
   query) deep in one channel of the big set against its first page.
3. **Channel list**: ``GET /api/messaging/channels/`` (unread counts included) for a
   member of ``--channels`` channels against a member of ``--few-channels``; median,
   statements, ratio. Target: <= 3, and a number of statements that does not grow.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatadmin.settings")

import django

django.setup()

from celery import Celery
from celery.app.task import Task
from django.conf import settings
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.core.database import analyze
from apps.members.models import Member
from apps.members.services import member_session_issue
from apps.messages.models import Message
from apps.messages.selectors.search import messages_search
from apps.organizations.models import Organization
from apps.organizations.services import organization_token_issue

#: Messages per INSERT when the database has no generate_series (SQLite).
CHUNK = 20_000
#: Messages of each search set that contain the rare word.
RARE_HITS = 40
SEARCH_CHANNELS = 100
#: Pseudo-words of the generated texts (the first is the 1 % word).
VOCABULARY = [
    f"{a}{b}{c}"
    for a in ("ka", "lo", "mi", "nu", "pe")
    for b in ("ra", "so", "ti", "vu", "we")
    for c in ("bel", "dor", "fin", "gal", "hum", "jin", "kot", "lum")
]  # 200 words


# --- helpers ---------------------------------------------------------------------------------


def median_ms(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def statements(fn: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured)


@contextlib.contextmanager
def no_task_dispatch() -> Iterator[None]:
    """Posts request an outbox dispatch on commit; keep the broker out of the figures."""
    with (
        mock.patch.object(Task, "apply_async", lambda *a, **kw: None),
        mock.patch.object(Celery, "send_task", lambda *a, **kw: None),
    ):
        yield


def server_ms(fn: Callable[[], Any], repeat: int = 5) -> float:
    """PostgreSQL's own execution time (EXPLAIN ANALYZE, median) of the statements ``fn``
    runs, summed: the database's share of a figure, without Python and the round trips."""
    with CaptureQueriesContext(connection) as captured:
        fn()
    totals = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            total = 0.0
            for query in captured.captured_queries:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query['sql']}")
                plan = cursor.fetchone()[0]
                plan = json.loads(plan) if isinstance(plan, str) else plan
                total += plan[0]["Execution Time"]
            totals.append(total)
    return statistics.median(totals)


def vacuum() -> None:
    """Fresh statistics after a bulk load (apps.core.database.analyze), and its WAL
    flushed now rather than during a measurement."""
    analyze(Organization, Member, Channel, Membership, Message, vacuum=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, contextlib.suppress(DatabaseError):
            cursor.execute("CHECKPOINT")


def organization(slug: str) -> tuple[Organization, bool]:
    """The scratch organization ``slug``, and whether it was there already (--keepdb)."""
    org = Organization.objects.filter(slug=slug).first()
    if org is not None:
        return org, True
    return Organization.objects.create(slug=slug, name=slug.title()), False


# --- 1. post -------------------------------------------------------------------------------


def bench_post(args: argparse.Namespace) -> None:
    org, _ = organization("bench-post")
    channel = Channel.objects.create(
        organization=org, channel_id=f"post-{time.time_ns()}", visibility="public"
    )
    poster = Member.objects.create(organization=org, user_id=f"poster-{channel.pk}")
    Membership.objects.create(
        organization=org, channel=channel, member=poster, joined_at=timezone.now()
    )
    account = Account.objects.create_user(
        email=f"bench-{channel.pk}@chatadmin.test", password="bench-pass-123"
    )
    token = organization_token_issue(
        organization=org, actor=Actor.system(), name="bench", account=account
    ).raw
    session = member_session_issue(actor=Actor.system(), member=poster).token
    v2 = APIClient()
    v2.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    messaging = APIClient()
    messaging.credentials(HTTP_AUTHORIZATION=f"Bearer {session}")
    counter = iter(range(10**9))

    def post_v2() -> None:
        body = {"channelId": channel.channel_id, "type": "text", "data": {"text": text()}}
        response = v2.post("/api/v2/message", body, format="json")
        if response.status_code != 201:
            raise SystemExit(f"v2 post: {response.status_code} {response.content[:300]!r}")

    def post_messaging() -> None:
        url = f"/api/messaging/channels/{channel.pk}/messages/"
        response = messaging.post(url, {"message": text()}, format="json")
        if response.status_code != 201:
            raise SystemExit(f"messaging post: {response.status_code} {response.content[:300]!r}")

    def text() -> str:
        return f"benchmark message {next(counter)} with a few ordinary words in it"

    runs: dict[str, list[float]] = {"v2": [], "messaging": []}
    with no_task_dispatch():
        for fn in (post_v2, post_messaging) * 5:  # warm up both paths
            fn()
        counts = {"v2": statements(post_v2), "messaging": statements(post_messaging)}
        if args.show_sql:
            for name, fn in (("v2", post_v2), ("messaging", post_messaging)):
                with CaptureQueriesContext(connection) as captured:
                    fn()
                print(f"  {name}:")
                for query in captured.captured_queries:
                    print(f"    {query['time']:>6} s  {query['sql'][:150]}")
        for n in range(args.rounds):
            order = [("v2", post_v2), ("messaging", post_messaging)]
            for name, fn in order if n % 2 == 0 else order[::-1]:
                for _ in range(args.posts):
                    started = time.perf_counter()
                    fn()
                    runs[name].append(time.perf_counter() - started)
    v2_ms = statistics.median(runs["v2"]) * 1000
    ours = statistics.median(runs["messaging"]) * 1000
    print(f"\npost: {args.rounds} rounds of {args.posts} posts per API, alternating")
    print(
        f"  POST /api/v2/message                       {v2_ms:7.2f} ms  {counts['v2']} statements"
    )
    print(
        f"  POST /api/messaging/channels/{{id}}/messages/ {ours:7.2f} ms  "
        f"{counts['messaging']} statements"
    )
    print(f"  ratio messaging / v2                       {ours / v2_ms:7.2f}   (target <= 1.2)")


# --- 2. search -----------------------------------------------------------------------------


def seed_search_set(slug: str, size: int) -> tuple[Organization, Member]:
    """An organization with ``size`` messages over :data:`SEARCH_CHANNELS` public
    channels (interleaved), and a reader that belongs to none of them."""
    org, existed = organization(slug)
    reader = Member.objects.filter(organization=org, user_id="reader").first()
    if existed and reader and Message.objects.filter(organization=org).count() == size:
        print(f"  reusing {slug}: {size:,} messages")
        return org, reader
    if existed:
        raise SystemExit(f"{slug} exists with another size: drop the scratch database")
    reader = Member.objects.create(organization=org, user_id="reader")
    author = Member.objects.create(organization=org, user_id="author")
    channels = Channel.objects.bulk_create(
        Channel(organization=org, channel_id=f"c{i}", visibility="public", message_count=0)
        for i in range(SEARCH_CHANNELS)
    )
    every = max(1, size // RARE_HITS)
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO chat_messages_message (organization_id, channel_id, author_id,"
                " public_id, type, data, children_count, created_at)"
                " SELECT %s, (%s::bigint[])[(1 + g %% %s)::int], %s, gen_random_uuid(), 'text',"
                " jsonb_build_object('text', 'message ' || g || ' '"
                " || (%s::text[])[(1 + (g * 7919) %% 200)::int] || ' '"
                " || (%s::text[])[(1 + (g * 104729) %% 200)::int]"
                " || CASE WHEN g %% %s = 7 THEN ' needle' ELSE '' END), 0, now()"
                " FROM generate_series(1::bigint, %s) g",
                [
                    org.pk,
                    [c.pk for c in channels],
                    SEARCH_CHANNELS,
                    author.pk,
                    VOCABULARY,
                    VOCABULARY,
                    every,
                    size,
                ],
            )
    else:
        for start in range(1, size + 1, CHUNK):
            Message.objects.bulk_create(
                Message(
                    organization=org,
                    channel=channels[g % SEARCH_CHANNELS],
                    author=author,
                    type="text",
                    data={
                        "text": f"message {g} {VOCABULARY[(g * 7919) % 200]} "
                        f"{VOCABULARY[(g * 104729) % 200]}" + (" needle" if g % every == 7 else "")
                    },
                )
                for g in range(start, min(size + 1, start + CHUNK))
            )
    for channel in channels:
        Channel.objects.filter(pk=channel.pk).update(message_count=size // SEARCH_CHANNELS)
    print(f"  seeded {slug}: {size:,} messages in {time.perf_counter() - started:.1f} s")
    return org, reader


def ilike_page(org: Organization, word: str) -> list[int]:
    """The rare-word search without the index: ILIKE over the texts of the same channels."""
    pks = list(Channel.objects.filter(organization=org).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM chat_messages_message WHERE channel_id = ANY(%s)"
            " AND deleted_at IS NULL AND hidden_at IS NULL"
            " AND COALESCE(data->>'text', data->>'caption', data->>'name', '') ILIKE %s"
            " ORDER BY id DESC LIMIT 50",
            [pks, f"%{word}%"],
        )
        return [row[0] for row in cursor.fetchall()]


def bench_search(args: argparse.Namespace) -> None:
    print(f"\nsearch: {args.search_size:,} vs {args.small_size:,} messages ({connection.vendor})")
    big, big_reader = seed_search_set(f"search-{args.search_size}", args.search_size)
    small, small_reader = seed_search_set(f"search-{args.small_size}", args.small_size)
    vacuum()
    common = VOCABULARY[0]
    queries = [
        ("rare word", "needle"),
        ("1 % word", common),
        ("no match", "zyzzyva"),
        ("1 % word and an every-row word", f"{common} message"),
    ]
    pg = connection.vendor == "postgresql"
    print(
        f"  {'query':<44} {'big ms':>8} {'hits':>5} {'small ms':>9} {'hits':>5} "
        f"{'big/small':>9}" + ("   in PostgreSQL: big, small ms" if pg else "")
    )
    figures = {}
    for label, query in queries:
        row = []
        for org, reader in ((big, big_reader), (small, small_reader)):

            def run(org: Organization = org, reader: Member = reader, query: str = query) -> Any:
                return messages_search(organization=org, member=reader, query=query, limit=50)

            row.append((median_ms(run, args.repeat), len(run()), server_ms(run) if pg else 0))
        (big_ms, big_hits, big_db), (small_ms, small_hits, small_db) = row
        figures[label] = big_ms
        print(
            f"  {label + ' (' + query + ')':<44} {big_ms:8.2f} {big_hits:5} {small_ms:9.2f} "
            f"{small_hits:5} {big_ms / small_ms:9.2f}"
            + (f"   {big_db:7.2f}, {small_db:.2f}" if pg else "")
        )
    print("  (target: big/small <= 3)")
    if pg:
        ilike_ms = median_ms(lambda: ilike_page(big, "needle"), max(3, args.repeat // 3), 1)
        print(
            f"  unindexed ILIKE '%needle%' over the big set: {ilike_ms:.1f} ms, "
            f"{ilike_ms / figures['rare word']:.0f}x the full-text search"
        )
    channel = Channel.objects.filter(organization=big).order_by("pk").first()
    pks = list(Message.objects.filter(channel=channel).order_by("pk").values_list("pk", flat=True))

    def page(before: int | None) -> Any:
        return messages_search(
            organization=big, member=big_reader, channel_ids=[channel.pk], before=before
        )

    pages = [("first", None), ("middle", pks[len(pks) // 2]), ("near the oldest", pks[60])]
    print(f"  history of one channel ({len(pks):,} messages), a page of 50 (no query):")
    base = None
    for label, before in pages:

        def run(before: int | None = before) -> Any:
            return page(before)

        ms = median_ms(run, args.repeat)
        base = base or ms
        db = f", in PostgreSQL {server_ms(run):.2f} ms" if pg else ""
        print(f"    {label:<16} {ms:7.2f} ms ({ms / base:.2f}x the first){db}")


# --- 3. channel list -------------------------------------------------------------------------


def seed_member_of(org: Organization, user_id: str, count: int) -> Member:
    """A member of ``count`` private channels of 20 messages each (5 read), with 3 other
    members in each channel."""
    member = Member.objects.create(organization=org, user_id=user_id)
    others = [Member.objects.create(organization=org, user_id=f"{user_id}-{i}") for i in range(3)]
    channels = Channel.objects.bulk_create(
        Channel(
            organization=org,
            channel_id=f"{user_id}-{i}",
            display_name=f"Channel {i:04d} of {user_id}",
            message_count=20,
            member_count=4,
        )
        for i in range(count)
    )
    now = timezone.now()
    Membership.objects.bulk_create(
        Membership(
            organization=org,
            channel=channel,
            member=m,
            joined_at=now,
            read_count=5 if m is member else 0,
        )
        for channel in channels
        for m in (member, *others)
    )
    Message.objects.bulk_create(
        Message(
            organization=org,
            channel=channel,
            author=others[i % 3],
            type="text",
            data={"text": f"message {i}"},
        )
        for channel in channels
        for i in range(20)
    )
    return member


def bench_channels(args: argparse.Namespace) -> None:
    org, _ = organization(f"bench-lists-{time.time_ns()}")
    many = seed_member_of(org, "many", args.channels)
    few = seed_member_of(org, "few", args.few_channels)
    vacuum()
    rows = []
    for member in (few, many):
        client = APIClient()
        token = member_session_issue(actor=Actor.system(), member=member).token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

        def get(client: APIClient = client) -> Any:
            response = client.get("/api/messaging/channels/")
            if response.status_code != 200:
                raise SystemExit(f"channel list: {response.status_code} {response.content[:300]!r}")
            return response

        listed = len(get().json()["response"])
        rows.append((member.user_id, listed, median_ms(get, args.repeat), statements(get)))
    print("\nchannel list: GET /api/messaging/channels/ (unread counts included)")
    base = rows[0][2]
    for _user_id, listed, ms, count in rows:
        print(
            f"  member of {listed:>4} channels  {ms:8.2f} ms  {count:3} statements  "
            f"ratio {ms / base:5.2f}"
        )
    print("  (target: ratio <= 3, statements the same)")


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--search-size", type=int, default=1_000_000)
    parser.add_argument("--small-size", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=40, help="posts per API per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15, help="timed runs (median)")
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--few-channels", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--keepdb", action="store_true", help="keep (and reuse) the scratch DB")
    parser.add_argument("--show-sql", action="store_true", help="print a post's statements")
    parser.add_argument("--skip-post", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-channels", action="store_true")
    if "--quick" in sys.argv:
        parser.set_defaults(search_size=100_000, posts=20, rounds=3, repeat=7)
    args = parser.parse_args()

    # Production-like: no debug (no query log), no test-environment instrumentation.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="No directory at")
    started = time.perf_counter()
    old_config = setup_databases(
        verbosity=0, interactive=False, keepdb=args.keepdb, serialized_aliases=set()
    )
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT version()")
                version = cursor.fetchone()[0].split(",")[0]
            else:
                version = f"SQLite {connection.Database.sqlite_version}"
        print(f"database: {version}, scratch database {connection.settings_dict['NAME']!r}")
        if not args.skip_post:
            bench_post(args)
        if not args.skip_search:
            bench_search(args)
        if not args.skip_channels:
            bench_channels(args)
    finally:
        if not args.keepdb:
            teardown_databases(old_config, verbosity=0)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
