"""Purge throughput against a raw DELETE, and close latency against channel size.

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/purge.py [--messages 100000] [--reactions 50000]
        [--batch-size 5000] [--repeat 1] [--close-sizes 10,100000,1000000]

or ``make bench``. It creates its OWN scratch database (Django's test-database machinery:
``test_<NAME>`` on PostgreSQL, in memory on SQLite), migrates it, and drops it at the end,
so it never touches real data. It prints figures and asserts nothing about wall-clock.

1. Purge: a channel of ``--messages`` messages with ``--reactions`` reactions is built,
   then deleted with a raw ``DELETE FROM reactions ...; DELETE FROM messages ...`` in one
   transaction; the same channel is built again, identically, and purged with
   ``apps.retention.purge.purge_channel_messages`` (batches, exact counts, files, one
   short transaction per batch). Prints both times and the ratio ours/raw (target <= 2).
2. Close: ``channel_close`` on channels of each ``--close-sizes`` messages (20 joined
   members each), median of ``--close-repeat`` runs, its query count, and the ratio to
   the smallest channel (target: about 1, i.e. no query grows with the messages).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatadmin.settings")

import django

django.setup()

from celery.app.task import Task
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.test.utils import (
    setup_databases,
    teardown_databases,
)
from django.utils import timezone

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.core.database import analyze
from apps.members.models import Member
from apps.messages.models import Message, Reaction
from apps.organizations.models import Organization
from apps.retention.purge import PurgeResult, purge_channel_messages
from apps.retention.services import channel_close

CHUNK = 20_000  # rows per INSERT when the database has no generate_series (SQLite)


# --- building the data fast --------------------------------------------------------------


def _insert_sql(model: type[Model], given: dict[str, str]) -> tuple[list[str], list[str], list]:
    """Columns and SQL expressions for an INSERT ... SELECT: ``given`` expressions, NULL
    for nullable columns, the field default (as a parameter) for the others."""
    columns, exprs, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.column in given:
            exprs.append(given[f.column])
        elif f.null:
            exprs.append("NULL")
        elif f.has_default():
            exprs.append("%s")
            params.append(f.get_db_prep_save(f.get_default(), connection))
        else:
            raise SystemExit(f"benchmark: no value for {model.__name__}.{f.name}; add it here")
    return columns, exprs, params


def add_messages(channel: Channel, author: Member, count: int) -> None:
    """``count`` text messages in the channel (and the channel's message_count)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Message._meta.db_table)
        columns, exprs, params = _insert_sql(
            Message,
            {
                "organization_id": "%s",
                "channel_id": "%s",
                "author_id": "%s",
                "public_id": "gen_random_uuid()",
                "type": "'text'",
                "data": "jsonb_build_object('text', 'message ' || g)",
                "created_at": "now()",
            },
        )
        lead = [channel.organization_id, channel.pk, author.pk]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {', '.join(exprs)} FROM generate_series(1, %s) g",
                [*lead, *params, count],
            )
    else:
        for start in range(0, count, CHUNK):
            Message.objects.bulk_create(
                Message(
                    organization_id=channel.organization_id,
                    channel=channel,
                    author=author,
                    type="text",
                    data={"text": f"message {i}"},
                )
                for i in range(start, min(count, start + CHUNK))
            )
    Channel.objects.filter(pk=channel.pk).update(message_count=count)


def add_reactions(channel: Channel, member: Member, count: int) -> None:
    """``count`` reactions spread evenly over the channel's messages."""
    ids = Message.objects.filter(channel=channel).order_by("pk").values_list("pk", flat=True)
    total = ids.count()
    step = max(1, total // count) if count else 0
    if not count:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Reaction._meta.db_table)
        messages = connection.ops.quote_name(Message._meta.db_table)
        columns, exprs, params = _insert_sql(
            Reaction,
            {
                "organization_id": "%s",
                "member_id": "%s",
                "message_id": "s.id",
                "name": "'+1'",
                "created_at": "now()",
            },
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)} "
                f"FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM {messages} "
                f"WHERE channel_id = %s) s WHERE s.rn %% %s = 0 ORDER BY s.id LIMIT %s",
                [channel.organization_id, member.pk, *params, channel.pk, step, count],
            )
    else:
        chosen = list(ids)[step - 1 :: step][:count]
        for start in range(0, len(chosen), CHUNK):
            Reaction.objects.bulk_create(
                Reaction(
                    organization_id=channel.organization_id,
                    message_id=pk,
                    member=member,
                    name="+1",
                )
                for pk in chosen[start : start + CHUNK]
            )


def vacuum() -> None:
    """Fresh statistics before a measurement (and no dead rows from the previous one):
    apps.core.database.analyze."""
    analyze(Message, Reaction, vacuum=True)
    if connection.vendor == "postgresql":
        # flush the build's WAL now rather than during a measurement (needs a superuser;
        # without one the figures are only noisier)
        with connection.cursor() as cursor, contextlib.suppress(DatabaseError):
            cursor.execute("CHECKPOINT")


class Scene:
    """An organization with two members; channels made on demand."""

    def __init__(self) -> None:
        self.org = Organization.objects.create(slug="bench", name="Benchmark")
        self.author = Member.objects.create(organization=self.org, user_id="author")
        self.reactor = Member.objects.create(organization=self.org, user_id="reactor")
        self.members = [
            Member.objects.create(organization=self.org, user_id=f"member-{i}") for i in range(20)
        ]
        self.n = 0

    def channel(self, messages: int, reactions: int = 0) -> Channel:
        self.n += 1
        channel = Channel.objects.create(
            organization=self.org, channel_id=f"bench-{self.n}", display_name="Bench"
        )
        add_messages(channel, self.author, messages)
        add_reactions(channel, self.reactor, reactions)
        channel.refresh_from_db()
        return channel


# --- measurements ------------------------------------------------------------------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def raw_delete(channel: Channel) -> None:
    q = connection.ops.quote_name
    messages, reactions = q(Message._meta.db_table), q(Reaction._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {reactions} WHERE message_id IN "
            f"(SELECT id FROM {messages} WHERE channel_id = %s)",
            [channel.pk],
        )
        cursor.execute(f"DELETE FROM {messages} WHERE channel_id = %s", [channel.pk])


def bench_purge(scene: Scene, args: argparse.Namespace) -> None:
    print(
        f"\npurge: {args.messages:,} messages with {args.reactions:,} reactions, "
        f"batch size {args.batch_size:,}, {args.repeat} run(s)"
    )
    raws, ours = [], []
    for _ in range(args.repeat):
        build, channel = timed(lambda: scene.channel(args.messages, args.reactions))
        print(f"  built a channel in {build:.1f} s")
        vacuum()
        elapsed, _ = timed(lambda channel=channel: raw_delete(channel))
        raws.append(elapsed)
        assert not Message.objects.filter(channel=channel).exists()

        channel = scene.channel(args.messages, args.reactions)
        vacuum()
        elapsed, result = timed(
            lambda channel=channel: purge_channel_messages(
                channel=channel, batch_size=args.batch_size
            )
        )
        ours.append(elapsed)
        expected = PurgeResult(messages=args.messages, reactions=args.reactions)
        if result != expected:
            raise SystemExit(f"purge counted {result}, expected {expected}")
    raw, our = statistics.median(raws), statistics.median(ours)
    batches = -(-args.messages // args.batch_size)
    print(f"  raw DELETE (reactions, then messages)  {raw:7.3f} s")
    print(f"  purge_channel_messages ({batches} batches)  {our:7.3f} s   counts exact")
    print(f"  ratio ours/raw                        {our / raw:7.2f}   (target <= 2.0)")


@contextmanager
def no_task_dispatch() -> Iterator[None]:
    """The close queues the purge (and events) on commit; keep the broker out of it."""
    with mock.patch.object(Task, "apply_async", lambda *a, **kw: None):
        yield


def _timing(into: list[tuple[str, float]]) -> Callable[..., Any]:
    """A connection.execute_wrapper recording each statement and its duration."""

    def wrapper(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, *args)
        finally:
            into.append((sql, time.perf_counter() - start))

    return wrapper


def bench_close(scene: Scene, args: argparse.Namespace) -> None:
    print(f"\nclose: channel_close with 20 joined members, median of {args.close_repeat} runs")
    rows = []
    for size in args.close_sizes:
        build, channel = timed(lambda size=size: scene.channel(size))
        now = timezone.now()
        Membership.objects.bulk_create(
            Membership(organization=scene.org, channel=channel, member=m, joined_at=now)
            for m in scene.members
        )
        vacuum()
        times: list[float] = []
        per_query: list[list[tuple[str, float]]] = []
        for i in range(args.close_repeat + 1):  # the first run warms caches, not counted
            # reopen (not timed): a close is irreversible, the benchmark cheats here only
            Channel.objects.filter(pk=channel.pk).update(
                closed_at=None, member_count=len(scene.members), message_count=size
            )
            Membership.objects.filter(channel=channel).update(joined_at=now)
            channel.refresh_from_db()
            run: list[tuple[str, float]] = []
            with no_task_dispatch(), connection.execute_wrapper(_timing(run)):
                elapsed, _ = timed(
                    lambda channel=channel: channel_close(channel=channel, actor=Actor.system())
                )
            if i:
                times.append(elapsed)
                per_query.append(run)
        queries = len(per_query[-1])
        if args.show_sql:
            print(f"  {size:,} messages, median per statement:")
            for n, (sql, _) in enumerate(per_query[-1]):
                ms = statistics.median(r[n][1] for r in per_query if len(r) > n) * 1000
                print(f"    {ms:6.2f} ms  {sql[:110]}")
        rows.append((size, statistics.median(times), queries, build))
    base = rows[0][1]
    for size, median, queries, build in rows:
        print(
            f"  {size:>9,} messages  {median * 1000:7.2f} ms  {queries} queries  "
            f"ratio {median / base:5.2f}   (built in {build:.1f} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--reactions", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=settings.CHATADMIN["PURGE_BATCH_SIZE"])
    parser.add_argument("--repeat", type=int, default=1, help="purge runs (median)")
    parser.add_argument(
        "--close-sizes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10, 100_000, 1_000_000],
        help="comma-separated channel sizes for the close latency (default 10,100000,1000000)",
    )
    parser.add_argument("--close-repeat", type=int, default=15)
    parser.add_argument("--show-sql", action="store_true", help="print close's queries")
    parser.add_argument("--skip-purge", action="store_true")
    parser.add_argument("--skip-close", action="store_true")
    args = parser.parse_args()
    if args.reactions > args.messages:
        parser.error("--reactions may not exceed --messages (one reaction per message)")

    settings.DEBUG = False
    logging.getLogger("apps.retention.purge").setLevel(logging.WARNING)
    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="chatadmin-bench-")
    started = time.perf_counter()
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=set())
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT version()")
                version = cursor.fetchone()[0].split(",")[0]
            else:
                version = f"SQLite {connection.Database.sqlite_version}"
        print(f"database: {version}, scratch database {connection.settings_dict['NAME']!r}")
        scene = Scene()
        if not args.skip_purge:
            bench_purge(scene, args)
        if not args.skip_close:
            bench_close(scene, args)
    finally:
        teardown_databases(old_config, verbosity=0)
    print(f"\ntotal {time.perf_counter() - started:.0f} s (scratch database dropped)")


if __name__ == "__main__":
    main()
