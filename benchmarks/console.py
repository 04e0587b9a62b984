"""The console and the Django admin on a large organization: each page's median time
against a bare page of the same site.

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/console.py [--messages 100000] [--users 10000]
        [--channels 1000] [--repeat 7] [--keepdb]

The issue's size is ``--messages 1000000 --users 100000`` (seeding takes about half a
minute on PostgreSQL; the defaults are ten times smaller so a run takes seconds).

It creates its OWN scratch database (Django's test-database machinery: ``test_<NAME>``
next to the database of DATABASE_URL; in memory on SQLite), migrates it, seeds it with
``manage.py seed_scale`` and drops it at the end — so it never touches real data. With
``--keepdb`` the scratch database is kept and reused by the next run (seeded only when
it has fewer messages than asked for).

A superuser is logged in with Django's test Client. Every page is requested once to
warm up, then ``--repeat`` times; the median is printed with the page's query count and
its ratio to the median of a bare page of the same site: the console's password-change
form (the same middleware, session, login, base template and CSRF token; no data).
``/healthz`` (no template, no session) is printed too. Pages that do not resolve or do
not answer 200 are listed as skipped.
The console pages are those of ``apps/console/urls.py`` (lists, and detail pages for a
sample channel, user and message); the admin pages are every registered model's
changelist, plus a search, a filter and a deep page on messages. It asserts nothing
about wall-clock: the figures are for a person to read.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
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
from apps.members.models import Member
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
    median_ms: float = 0.0
    queries: int = 0
    status: int = 0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=7)
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
    values = {
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


def _measure(client: Client, row: Row, repeat: int) -> Row:
    response = client.get(row.url)  # warm up (templates, caches, the planner)
    row.status = response.status_code
    if row.status != 200:
        return row
    times = []
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(row.url)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            times.append(time.perf_counter() - started)
        row.queries = len(queries)
    row.median_ms = statistics.median(times) * 1000
    return row


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
    old_config = setup_databases(verbosity=1, interactive=False, keepdb=args.keepdb)
    try:
        org = _seed(args)
        account = Account.objects.filter(email=SUPERUSER).first() or (
            Account.objects.create_superuser(email=SUPERUSER, password="bench-pass-123")
        )
        client = Client()
        client.force_login(account)
        samples = _samples(org)
        bare_url = reverse("console:password_change")
        base = _measure(client, Row("base", "bare page", bare_url), args.repeat * 3)
        health = _measure(client, Row("base", "/healthz", reverse("healthz")), args.repeat * 3)
        rows = [health, *_console_pages(org, samples), *_admin_pages(samples)]
        for row in rows:
            _measure(client, row, args.repeat)
        _print(args, base, rows)
    finally:
        if not args.keepdb:
            teardown_databases(old_config, verbosity=1)


def _print(args: argparse.Namespace, base: Row, rows: list[Row]) -> None:
    messages = Message.objects.count()
    members = Member.objects.count()
    print()
    print(
        f"{connection.vendor}: {messages:,} messages, {members:,} users; "
        f"median of {args.repeat}; bare page {base.url}: {base.median_ms:.1f} ms"
    )
    print(f"{'group':<8} {'page':<40} {'median':>9} {'x bare':>7} {'queries':>8}")
    skipped = []
    for row in rows:
        if row.status != 200:
            skipped.append(f"{row.name} ({row.status})")
            continue
        ratio = row.median_ms / base.median_ms if base.median_ms else 0.0
        print(
            f"{row.group:<8} {row.name[:40]:<40} {row.median_ms:>7.1f}ms {ratio:>7.1f} "
            f"{row.queries:>8}"
        )
    if skipped:
        print("skipped (not 200): " + ", ".join(skipped))


if __name__ == "__main__":
    main()
