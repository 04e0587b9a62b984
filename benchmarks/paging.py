"""Paging a channel is flat both ways (issue 15): page 1,000 against page 1, from the
newest backwards and from the oldest forwards, as ratios measured in one run.

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/paging.py [--messages 1000000] [--pages 2,1000,20000]
        [--rounds 9] [--repeat 5] [--keepdb]

It creates its OWN scratch database (Django's test-database machinery: ``test_<NAME>``
next to the database of DATABASE_URL, in memory on SQLite), migrates it, and drops it at
the end unless ``--keepdb`` (then the next run reuses the channel). It prints figures and
asserts nothing about wall-clock; the target is printed next to the ratios.

- One channel of ``--messages`` messages (``benchmarks/purge.py``'s ``add_messages``: one
  ``INSERT ... SELECT generate_series`` on PostgreSQL, chunked ``bulk_create`` elsewhere),
  then ``VACUUM ANALYZE`` (``apps.core.database.analyze``).
- Pages of 25 through ``apps.messages.selectors.messages.message_query``, the selector behind
  ``GET``/``POST /api/v2/messages`` (called directly: the HTTP layer adds the same cost to
  every page and would only dilute the ratio). Page 1 backwards is the default page (the
  25 newest); page N of ``--pages`` (default 2, 1,000 and 20,000, those that fit)
  backwards is the one the ``previous`` links reach after N - 1 steps (its token, taken
  from the page before it). Forwards alike from ``first=25`` and ``next`` links. From
  page 2 on, a page checks its far neighbour inside its own statement (a scalar subquery,
  ``ORDER BY id LIMIT 1``: an InitPlan on PostgreSQL). The neighbour check as it was
  before issue 15 (an unordered ``EXISTS``, a sequential scan on deep backward pages) is
  gone from the product; its figures are in docs/performance.md, "Paging".
- ``--rounds`` rounds; in each, every case runs ``--repeat`` times, the cases in a
  rotated order. Medians over all runs; ratio page N / page 1 per direction
  (target: page 1,000 <= 1.2). ``synchronize_seqscans`` is off for the run: a
  sequential scan reads the table from its start, as one request's would. On PostgreSQL
  also the page statement's execution time inside PostgreSQL and whether its plan holds a
  sequential scan (EXPLAIN ANALYZE).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatadmin.settings")

import django

django.setup()

from django.conf import settings
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases
from purge import add_messages  # the scratch channel loader of the purge benchmark

from apps.channels.models import Channel
from apps.core.database import analyze
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.selectors.messages import MessagePage, message_query
from apps.organizations.models import Organization

SLUG = "bench-paging"
PAGE = 25
#: The page of the issue's target (page N / page 1 <= 1.2 at 1,000,000 messages).
TARGET_PAGE = 1_000


# --- the channel -------------------------------------------------------------------------------


def seed(size: int) -> tuple[Organization, Channel]:
    org = Organization.objects.filter(slug=SLUG).first()
    if org is not None:
        channel = Channel.objects.get(organization=org, channel_id="big")
        if Message.objects.filter(channel=channel).count() == size:
            print(f"reusing the channel: {size:,} messages")
            return org, channel
        raise SystemExit("the scratch channel has another size: run without --keepdb once")
    org = Organization.objects.create(slug=SLUG, name="Bench Paging")
    channel = Channel.objects.create(organization=org, channel_id="big", visibility="public")
    author = Member.objects.create(organization=org, user_id="author")
    started = time.perf_counter()
    add_messages(channel, author, size)
    loaded = time.perf_counter() - started
    analyze(Message, Channel, Member, vacuum=True)
    with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CHECKPOINT")  # the load's WAL now, not during a measurement
    print(f"seeded {size:,} messages in {loaded:.1f} s, then analyze(vacuum=True)")
    return org, channel


# --- the pages ---------------------------------------------------------------------------------


def deep_tokens(org: Organization, channel: Channel, page: int) -> tuple[str, str]:
    """The tokens of page ``page`` backwards (from the newest) and forwards (from the
    oldest), as the ``previous`` / ``next`` link of the page before it carries them."""
    rows = Message.objects.filter(channel=channel, deleted_at__isnull=True)
    # page k (counted from 1) holds the messages (k-1)*25 .. k*25-1 from its end, so page
    # ``page - 1`` is the 25 beyond the message (page-2)*25-1 (page 1: the default page)
    edge = (page - 2) * PAGE - 1
    if edge < 0:
        back = message_query(organization=org, channel=channel, last=PAGE)
        fwd = message_query(organization=org, channel=channel, first=PAGE)
    else:
        newer, older = rows.order_by("-pk")[edge], rows.order_by("pk")[edge]
        back = message_query(organization=org, channel=channel, before=str(newer.public_id))
        fwd = message_query(organization=org, channel=channel, after=str(older.public_id))
    if not back.previous or not fwd.next:
        raise SystemExit(f"the channel has fewer than {page} pages")
    return back.previous, fwd.next


def cases(
    org: Organization, channel: Channel, pages: list[int]
) -> dict[str, Callable[[], MessagePage]]:
    tokens = {page: deep_tokens(org, channel, page) for page in pages}

    def run(**kwargs: Any) -> Callable[[], MessagePage]:
        def call() -> MessagePage:
            result = message_query(organization=org, channel=channel, **kwargs)
            if len(result.items) != PAGE:
                raise SystemExit(f"{kwargs}: {len(result.items)} messages")
            return result

        return call

    return {
        "backward 1": run(),
        **{f"backward {page}": run(token=tokens[page][0]) for page in pages},
        "forward 1": run(first=PAGE),
        **{f"forward {page}": run(token=tokens[page][1]) for page in pages},
    }


def page_plan(fn: Callable[[], Any]) -> tuple[str, float] | None:
    """Whether the page statement of ``fn`` (the last statement it runs) scans the
    messages table sequentially anywhere in its plan, and its own execution time
    (EXPLAIN ANALYZE, median of 5), on PostgreSQL."""
    if connection.vendor != "postgresql":
        return None
    with CaptureQueriesContext(connection) as captured:
        fn()
    sql = captured.captured_queries[-1]["sql"]
    times, seq_scan = [], False
    with connection.cursor() as cursor:
        for _ in range(5):
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            times.append(plan[0]["Execution Time"])
            seq_scan = '"Seq Scan"' in json.dumps(plan)
    return ("Seq Scan in the plan" if seq_scan else "index only"), statistics.median(times)


def measure(args: argparse.Namespace, org: Organization, channel: Channel) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # A sequential scan starts where the previous one of the table stopped
            # (synchronized scans): a scan rerun in a loop would find its row at once and
            # hide what one scan costs a request. Every scan starts at block 0.
            cursor.execute("SET synchronize_seqscans = off")
    pages = cases(org, channel, args.pages)
    runs: dict[str, list[float]] = {}
    plans: dict[str, tuple[str, float] | None] = {}
    for label, fn in pages.items():
        for _ in range(3):  # warm-up
            fn()
        runs[label] = []
        plans[label] = page_plan(fn)
    order = list(pages)
    for n in range(args.rounds):
        shift = n % len(order)
        for label in order[shift:] + order[:shift]:
            fn = pages[label]
            for _ in range(args.repeat):
                started = time.perf_counter()
                fn()
                runs[label].append(time.perf_counter() - started)

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\npaging: one channel of {args.messages:,} messages, pages of {PAGE} through "
        f"message_query; {args.rounds} rounds x {args.repeat} runs, rotated; load {load}"
    )
    print(f"  {'case':<16} {'median ms':>9} {'range ms':>17}   page statement")
    for label in order:
        times = [t * 1000 for t in runs[label]]
        plan = plans[label]
        shown = f"{plan[0]}, {plan[1]:.3f} ms in PostgreSQL" if plan else "-"
        print(
            f"  {label:<16} {statistics.median(times):9.2f} "
            f"{min(times):8.2f}..{max(times):7.2f}   {shown}"
        )
    for direction in ("backward", "forward"):
        first = statistics.median(runs[f"{direction} 1"])
        for page in args.pages:
            deep = statistics.median(runs[f"{direction} {page}"])
            print(
                f"  {direction:<9} page {page:,} / page 1 = {deep / first:5.2f}"
                + ("   (target <= 1.2)" if page == TARGET_PAGE else "")
            )


# --- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument(
        "--pages",
        type=lambda value: [int(v) for v in value.split(",")],
        default=[2, TARGET_PAGE, 20_000],
        help="the pages compared with page 1 (each >= 2), comma-separated",
    )
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each case per round")
    parser.add_argument("--keepdb", action="store_true", help="keep (and reuse) the scratch DB")
    args = parser.parse_args()
    args.pages = [p for p in args.pages if p * PAGE <= args.messages]
    if not args.pages or min(args.pages) < 2:
        raise SystemExit("--pages must be >= 2 and fit in --messages")

    settings.DEBUG = False  # production-like: no query log
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
        org, channel = seed(args.messages)
        measure(args, org, channel)
    finally:
        if not args.keepdb:
            teardown_databases(old_config, verbosity=0)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
