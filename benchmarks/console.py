"""The console and the Django admin on a large organization: each page's median time
against a bare page of the same site.

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/console.py [--messages 100000] [--users 10000]
        [--channels 1000] [--rounds 15] [--keepdb] [--only channel] [--profile]

The issue's size is ``--messages 1000000 --users 100000`` (seeding takes about half a
minute on PostgreSQL; the defaults are ten times smaller so a run takes seconds).

It creates its OWN scratch database (Django's test-database machinery: ``test_<NAME>``
next to the database of DATABASE_URL; in memory on SQLite), migrates it, seeds it with
``manage.py seed_scale`` and drops it at the end — so it never touches real data. With
``--keepdb`` the scratch database is kept and reused by the next run (seeded only when
it has fewer messages than asked for).

A superuser is logged in with Django's test Client. The reference is a bare page of the
same site: the console's password-change form (the same middleware, session, login, base
template and CSRF token; no data); the admin's pages are paired with the admin's own
bare page, its password-change form (the admin's base template). ``/healthz`` (no
template, no session) is measured too.
Every page is requested once to warm up; then ``--rounds`` rounds, each of which requests,
for every page in turn, the bare page and then the page (a pair). A page's figure is the
**median of its per-round ratios** (page / the bare page of the same pair), with the
min-max range of those ratios: load that drifts during a run (other processes on the
machine) hits both halves of a pair alike, so the ratio holds where the raw times swing.
Its median time, its query count and the statements' share of the time are printed too.
Pages that do not resolve or do not answer 200 are listed as skipped. ``--only NAME``
(repeatable) keeps the page of that name (or whose URL contains it); ``--profile`` runs
cProfile around the selected pages' requests and prints the top functions by cumulative
time (and by own time) for each, ``--show-sql`` each statement with its median time (see
docs/performance.md, "Console at scale").

The console pages are those of ``apps/console/urls.py`` (lists, and detail pages for a
sample channel, user and message); the admin pages are every registered model's
changelist, plus a search, a filter and a deep page on messages and a search by name on
members. It asserts nothing about wall-clock: the figures are for a person to read; the
target is a ratio of 3 or less (issue 15).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatadmin.settings")

import django

django.setup()

from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import (
    CaptureQueriesContext,
    setup_databases,
    teardown_databases,
)
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse

from apps.accounts.models import Account
from apps.channels.models import Channel
from apps.members.models import Member, Role
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.reports.models import Report

ORG = "scale"
SUPERUSER = "bench@chatadmin.test"


@dataclass
class Row:
    group: str
    name: str
    url: str
    status: int = 0
    queries: int = 0
    times: list[float] = field(default_factory=list)  # seconds, one per round
    sql_times: list[float] = field(default_factory=list)  # seconds in statements
    ratios: list[float] = field(default_factory=list)  # page / bare, one per round

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000 if self.times else 0.0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=15, help="(bare, page) pairs per page")
    parser.add_argument(
        "--only", action="append", default=[], help="a page by name, or pages whose URL has this"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the selected pages")
    parser.add_argument(
        "--show-sql", action="store_true", help="each statement of the selected pages, timed"
    )
    parser.add_argument("--keepdb", action="store_true", help="keep (and reuse) the scratch DB")
    return parser.parse_args()


def _seed(args: argparse.Namespace) -> Organization:
    org = Organization.objects.filter(slug=ORG).first()
    have = Message.objects.filter(organization=org).count() if org else 0
    if have < args.messages:
        print(f"Seeding {args.messages - have:,} messages, {args.users:,} users ...")
        call_command(
            "seed_scale",
            org=ORG,
            messages=args.messages - have,
            users=args.users,
            channels=args.channels,
        )
    else:
        print(f"Reusing the scratch database: {have:,} messages.")
    return Organization.objects.get(slug=ORG)


def _samples(org: Organization) -> dict[str, str]:
    channel = Channel.objects.filter(organization=org).order_by("pk").first()
    member = Member.objects.filter(organization=org).order_by("pk").first()
    message = Message.objects.filter(organization=org).order_by("-pk").first()
    report = Report.objects.filter(organization=org, state="open").order_by("pk").first()
    role = Role.objects.filter(organization=org).order_by("pk").first()
    values = {
        "role_pk": str(role.pk) if role else "",
        "report_id": str(report.pk) if report else "",
        "channel_id": channel.channel_id if channel else "",
        "user_id": member.user_id if member else "",
        "message_id": str(message.public_id) if message else "",
    }
    return {k: v for k, v in values.items() if v}


def _console_pages(org: Organization, samples: dict[str, str]) -> list[Row]:
    """Every named page of the console under /console/<org>/ that reverses with the
    organization and, for detail pages, a sample id."""
    from apps.console import urls as console_urls

    rows: list[Row] = []
    seen: set[str] = set()

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name and pattern.name not in seen:
                seen.add(pattern.name)
                wanted = set(pattern.pattern.regex.groupindex)
                kwargs = {"org": org.slug}
                for key in wanted:
                    if key in samples:
                        kwargs[key] = samples[key]
                if wanted - set(kwargs):
                    continue  # a kwarg we have no sample for
                try:
                    url = reverse(f"console:{pattern.name}", kwargs=kwargs)
                except NoReverseMatch:
                    continue
                rows.append(Row("console", pattern.name, url))

    walk(list(getattr(console_urls, "org_pages", [])))
    return rows


def _admin_pages(samples: dict[str, str]) -> list[Row]:
    rows = []
    for model in admin.site._registry:
        name = f"{model._meta.app_label}.{model.__name__}"
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        rows.append(Row("admin", name, url))
    message_list = reverse("admin:chat_messages_message_changelist")
    member_list = reverse("admin:members_member_changelist")
    rows += [
        Row("admin", "Message, search by id", f"{message_list}?q={samples.get('message_id', '')}"),
        Row("admin", "Message, type filter", f"{message_list}?type__exact=text"),
        Row("admin", "Message, page 50", f"{message_list}?p=50"),
        Row("admin", "Member, search by name", f"{member_list}?q=User+123"),
    ]
    return rows


def _get(client: Client, row: Row) -> tuple[float, float, int]:
    """One request: (wall seconds, seconds spent in statements, statement count)."""
    spent = [0.0]

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(timed):
        started = time.perf_counter()
        response = client.get(row.url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
        elapsed = time.perf_counter() - started
    row.status = response.status_code
    return elapsed, spent[0], len(queries)


def _rounds(client: Client, bases: dict[str, Row], rows: list[Row], rounds: int) -> None:
    """``rounds`` rounds; in each, every page as a pair: its site's bare page, then it."""
    for row in [*bases.values(), *rows]:
        _get(client, row)  # warm up (templates, caches, the planner)
    live = [row for row in rows if row.status == 200]
    for _ in range(rounds):
        for row in live:
            base = bases[row.group]
            bare, _sql, _n = _get(client, base)
            elapsed, sql, row.queries = _get(client, row)
            base.times.append(bare)
            row.times.append(elapsed)
            row.sql_times.append(sql)
            row.ratios.append(elapsed / bare)


def _show_sql(client: Client, rows: list[Row], rounds: int) -> None:
    """Each statement of each page with its median time over ``rounds`` requests."""
    for row in rows:
        if row.status != 200:
            continue
        timings: list[list[tuple[str, float]]] = []
        for _ in range(rounds):
            seen: list[tuple[str, float]] = []

            def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    seen.append((sql, time.perf_counter() - started))  # noqa: B023

            with connection.execute_wrapper(timed):
                client.get(row.url)
            timings.append(seen)
        print(f"\n===== statements: {row.name} {row.url} (median of {rounds} requests)")
        for i, (sql, _) in enumerate(timings[-1]):
            median = statistics.median(t[i][1] for t in timings if i < len(t)) * 1000
            print(f"{median:8.2f} ms  {' '.join(sql.split())[:150]}")


def _profile(client: Client, rows: list[Row], rounds: int) -> None:
    for row in rows:
        if row.status != 200:
            continue
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(rounds):
            client.get(row.url)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(60)
        stats.sort_stats("tottime").print_stats(20)
        print(f"\n===== profile: {row.name} {row.url} ({rounds} requests)")
        print(out.getvalue())


def main() -> None:
    args = _parse()
    # 405s of POST-only routes and the login throttle's chatter are not figures
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    logging.getLogger("axes").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No directory at")
    # Not setup_test_environment(): its instrumented template rendering (a signal and a
    # context copy per template, for assertTemplateUsed) would inflate every figure.
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    # serialized_aliases=set(): no JSON dump of the whole database (TransactionTestCase's
    # rollback emulation), which took minutes on a kept 1,000,000-message database
    old_config = setup_databases(
        verbosity=1, interactive=False, keepdb=args.keepdb, serialized_aliases=set()
    )
    try:
        org = _seed(args)
        account = Account.objects.filter(email=SUPERUSER).first() or (
            Account.objects.create_superuser(email=SUPERUSER, password="bench-pass-123")
        )
        client = Client()
        client.force_login(account)
        samples = _samples(org)
        bases = {
            "console": Row("console", "bare page", reverse("console:password_change")),
            "admin": Row("admin", "bare page", reverse("admin:password_change")),
        }
        health = Row("console", "/healthz", reverse("healthz"))
        rows = [health, *_console_pages(org, samples), *_admin_pages(samples)]
        if args.only:
            rows = [r for r in rows if any(o == r.name or o in r.url for o in args.only)]
        _rounds(client, bases, rows, args.rounds)
        if args.show_sql:
            _show_sql(client, rows, args.rounds)
        if args.profile:
            _profile(client, rows, args.rounds)
        _print(args, bases, rows)
    finally:
        if not args.keepdb:
            teardown_databases(old_config, verbosity=1)


def _print(args: argparse.Namespace, bases: dict[str, Row], rows: list[Row]) -> None:
    messages = Message.objects.count()
    members = Member.objects.count()
    print()
    print(
        f"{connection.vendor}: {messages:,} messages, {members:,} users; {args.rounds} rounds "
        f"of (bare, page) pairs; load {os.getloadavg()[0]:.2f}"
    )
    for group, base in bases.items():
        print(f"bare page of {group}: {base.url}, median {base.median_ms:.1f} ms")
    print(
        f"{'group':<8} {'page':<40} {'median':>9} {'x bare':>7} {'range':>11} "
        f"{'queries':>8} {'sql':>5}"
    )
    skipped = []
    for row in rows:
        if row.status != 200 or not row.ratios:
            skipped.append(f"{row.name} ({row.status})")
            continue
        ratio = statistics.median(row.ratios)
        spread = f"{min(row.ratios):.1f}-{max(row.ratios):.1f}"
        sql_share = sum(row.sql_times) / sum(row.times) if sum(row.times) else 0.0
        flag = "  > 3x" if ratio > 3 else ""
        print(
            f"{row.group:<8} {row.name[:40]:<40} {row.median_ms:>7.1f}ms {ratio:>7.2f} "
            f"{spread:>11} {row.queries:>8} {sql_share:>5.0%}{flag}"
        )
    if skipped:
        print("skipped (not 200): " + ", ".join(skipped))


if __name__ == "__main__":
    main()
