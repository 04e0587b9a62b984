"""``manage.py seed_scale``: a large organization, to measure the console and the admin.

    manage.py seed_scale --org scale --messages 1000000 --users 100000 [--channels 1000]

What it makes in the organization (created if missing):

- ``--users`` members (``<prefix>0`` ...), ``--channels`` channels; member *i* is a
  current member of channel ``i % channels``;
- ``--messages`` text messages, spread over the last 30 days (creation time grows with
  the id), each by a member of its channel: message *g* is by member ``g % users``;
- ``--reports`` open reports on recent messages (default: one per 2,000 messages) and
  ``--audit`` audit entries over 30 days (default: one per 100 messages), so the
  review queue, the dashboard and the audit log have something to show.

Fast: PostgreSQL gets ``INSERT ... SELECT ... FROM generate_series`` in chunks of
100,000 rows; other databases ``bulk_create`` in chunks of ``--chunk`` (10,000). A
progress line on stderr is updated in place. Users and channels are idempotent (found by
id on a second run); messages, reports and audit entries are added on every run.

The organization is created through ``organization_create`` like any other; the
synthetic rows are not: they are measurement fixtures written in bulk (a service per
row would take hours at this size and emit an event per user and per message), never
business writes, and nothing here runs outside a seeded test or benchmark database.

The denormalized counters are correct at the end: each channel's ``member_count``,
``message_count`` and ``last_activity_at`` are recomputed from the rows (one UPDATE),
and PostgreSQL tables are ANALYZEd so the planner (and the admin's estimated counts)
know their size.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.cli.arguments import domain_errors
from apps.core.database import analyze
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.organizations.services import organization_create
from apps.reports.models import Report

PG_CHUNK = 100_000
SPAN = timedelta(days=30)
AUDIT_ACTIONS = [
    "message.delete",
    "channel.users.mute",
    "channel.users.ban",
    "user.ban",
    "report.resolve",
    "blacklist.add",
]


class Progress:
    """``label: 120,000/1,000,000 (12%) 85,000/s`` on stderr, rewritten in place."""

    def __init__(self, label: str, total: int, stream: Any = None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.started = time.perf_counter()
        self._draw()

    def advance(self, count: int) -> None:
        self.done += count
        self._draw()

    def finish(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        pct = 100 * self.done // self.total if self.total else 100
        width = 30
        filled = width * pct // 100
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(
            f"\r{self.label:<14} [{bar}] {self.done:>11,}/{self.total:,} ({pct:3d}%) "
            f"{self.done / elapsed:,.0f}/s   "
        )
        self.stream.flush()


@contextmanager
def _explicit_timestamps(*models_and_fields: tuple[type[Model], str]) -> Iterator[None]:
    """Let bulk_create keep the given ``auto_now_add`` values (spread over 30 days)."""
    fields = [model._meta.get_field(name) for model, name in models_and_fields]
    saved = [(f, f.auto_now_add) for f in fields]
    try:
        for f in fields:
            f.auto_now_add = False
        yield
    finally:
        for f, value in saved:
            f.auto_now_add = value


def _insert_select_sql(
    model: type[Model], given: dict[str, tuple[str, list[Any]]]
) -> tuple[str, list[Any]]:
    """``INSERT INTO t (...) SELECT ... FROM generate_series(%s, %s) g`` for the model:
    the ``given`` column expressions (with their parameters), the field default for the
    other non-null columns, NULL for nullable ones. The last two parameters (the range)
    are appended by the caller."""
    columns, exprs, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(connection.ops.quote_name(f.column))
        if f.column in given:
            expr, expr_params = given[f.column]
            exprs.append(expr)
            params.extend(expr_params)
        elif f.null:
            exprs.append("NULL")
        elif f.get_default() is not None:  # the field's default, or "" for blank text
            exprs.append("%s")
            params.append(f.get_db_prep_save(f.get_default(), connection))
        else:
            raise CommandError(f"seed_scale: no value for {model.__name__}.{f.name}")
    table = connection.ops.quote_name(model._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(exprs)} FROM generate_series(%s::bigint, %s::bigint) g "
        "ON CONFLICT DO NOTHING"
    )
    return sql, params


class Command(BaseCommand):
    help = "Seed a large organization (users, channels, messages) to measure the console."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization slug (created if missing)")
        parser.add_argument("--messages", type=int, default=100_000)
        parser.add_argument("--users", type=int, default=10_000)
        parser.add_argument("--channels", type=int, default=1_000)
        parser.add_argument("--reports", type=int, default=None, help="default: messages/2000")
        parser.add_argument("--audit", type=int, default=None, help="default: messages/100")
        parser.add_argument("--prefix", default="scale-", help="prefix of user and channel ids")
        parser.add_argument("--chunk", type=int, default=10_000, help="rows per bulk_create")
        parser.add_argument("--quiet", action="store_true", help="no progress line")

    def handle(self, *args: Any, **opts: Any) -> None:
        users, channels, messages = opts["users"], opts["channels"], opts["messages"]
        if users < 1 or channels < 1 or messages < 0:
            raise CommandError("--users and --channels must be at least 1, --messages >= 0")
        channels = min(channels, users)  # every channel gets at least one member
        reports = opts["reports"] if opts["reports"] is not None else messages // 2000
        audit = opts["audit"] if opts["audit"] is not None else messages // 100
        self.chunk = max(1, opts["chunk"])
        self.quiet = opts["quiet"]
        self.prefix = opts["prefix"]
        self.pg = connection.vendor == "postgresql"
        started = time.perf_counter()

        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            with domain_errors():
                org = organization_create(slug=opts["org"], name=opts["org"].title())
        self.now = timezone.now()
        self.org = org
        member_pks = self._members(users)
        channel_pks = self._channels(channels)
        self._memberships(member_pks, channel_pks)
        self._messages(messages, member_pks, channel_pks)
        self._reports(reports, member_pks)
        self._audit(audit)
        self._recount()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {org.slug}: {users:,} users, {channels:,} channels, "
                f"{messages:,} messages, {reports:,} reports, {audit:,} audit entries "
                f"in {time.perf_counter() - started:.1f} s ({connection.vendor})."
            )
        )

    # --- helpers ---------------------------------------------------------------------

    def _progress(self, label: str, total: int) -> Progress:
        return Progress(label, total, stream=_Null() if self.quiet else _Raw(self.stderr))

    def _fill(
        self,
        model: type[Model],
        label: str,
        total: int,
        sql: dict[str, tuple[str, list[Any]]] | None,
        make: Callable[[int], Model],
        offset: int = 0,
    ) -> None:
        """Rows ``offset .. offset + total - 1``: generate_series on PostgreSQL (when
        ``sql`` is given), bulk_create otherwise; conflicts (a second run) are skipped."""
        progress = self._progress(label, total)
        if self.pg and sql is not None:
            statement, params = _insert_select_sql(model, sql)
            for start in range(0, total, PG_CHUNK):
                stop = min(total, start + PG_CHUNK)
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(statement, [*params, offset + start, offset + stop - 1])
                progress.advance(stop - start)
        else:
            for start in range(0, total, self.chunk):
                stop = min(total, start + self.chunk)
                model.objects.bulk_create(
                    [make(offset + i) for i in range(start, stop)],
                    batch_size=self.chunk,
                    ignore_conflicts=True,
                )
                progress.advance(stop - start)
        progress.finish()

    def _pks_by_index(self, model: type[Model], id_field: str, count: int) -> list[int]:
        rows = model.objects.filter(
            organization=self.org, **{f"{id_field}__startswith": self.prefix}
        ).values_list(id_field, "pk")
        by_index: dict[int, int] = {}
        for natural_id, pk in rows.iterator(chunk_size=10_000):
            suffix = natural_id[len(self.prefix) :]
            if suffix.isdigit() and int(suffix) < count:
                by_index[int(suffix)] = pk
        if len(by_index) != count:
            raise CommandError(f"{model.__name__}: expected {count} rows, found {len(by_index)}")
        return [by_index[i] for i in range(count)]

    def _time_at(self, index: int, total: int) -> datetime:
        return self.now - SPAN + SPAN * (index + 1) / max(total, 1)

    # --- the rows ----------------------------------------------------------------------

    def _members(self, users: int) -> list[int]:
        now, org = self.now, self.org
        self._fill(
            Member,
            "users",
            users,
            {
                "organization_id": ("%s", [org.pk]),
                "user_id": ("%s || g", [self.prefix]),
                "display_name": ("'User ' || g", []),
                "created_at": ("%s", [now]),
                "updated_at": ("%s", [now]),
            },
            lambda i: Member(
                organization=org, user_id=f"{self.prefix}{i}", display_name=f"User {i}"
            ),
        )
        return self._pks_by_index(Member, "user_id", users)

    def _channels(self, channels: int) -> list[int]:
        now, org = self.now, self.org
        self._fill(
            Channel,
            "channels",
            channels,
            {
                "organization_id": ("%s", [org.pk]),
                "channel_id": ("%s || g", [self.prefix]),
                "display_name": ("'Channel ' || g", []),
                "created_at": ("%s", [now - SPAN]),
                "updated_at": ("%s", [now]),
            },
            lambda i: Channel(
                organization=org, channel_id=f"{self.prefix}{i}", display_name=f"Channel {i}"
            ),
        )
        return self._pks_by_index(Channel, "channel_id", channels)

    def _memberships(self, member_pks: Sequence[int], channel_pks: Sequence[int]) -> None:
        org, now = self.org, self.now
        users, channels = len(member_pks), len(channel_pks)
        self._fill(
            Membership,
            "memberships",
            users,
            {
                "organization_id": ("%s", [org.pk]),
                "member_id": ("(%s::bigint[])[1 + g]", [list(member_pks)]),
                "channel_id": (
                    "(%s::bigint[])[1 + mod(g, %s::bigint)]",
                    [list(channel_pks), channels],
                ),
                "joined_at": ("%s", [now - SPAN]),
            },
            lambda i: Membership(
                organization=org,
                member_id=member_pks[i],
                channel_id=channel_pks[i % channels],
                joined_at=now - SPAN,
            ),
        )

    def _messages(self, count: int, member_pks: Sequence[int], channel_pks: Sequence[int]) -> None:
        if not count:
            return
        org = self.org
        users, channels = len(member_pks), len(channel_pks)
        start, step = self.now - SPAN, SPAN / count
        with _explicit_timestamps((Message, "created_at")):
            self._fill(
                Message,
                "messages",
                count,
                {
                    "organization_id": ("%s", [org.pk]),
                    "channel_id": (
                        "(%s::bigint[])[1 + mod(mod(g, %s::bigint), %s::bigint)]",
                        [list(channel_pks), users, channels],
                    ),
                    "author_id": (
                        "(%s::bigint[])[1 + mod(g, %s::bigint)]",
                        [list(member_pks), users],
                    ),
                    "public_id": ("gen_random_uuid()", []),
                    "type": ("'text'", []),
                    "data": ("jsonb_build_object('text', 'Seeded message number ' || g)", []),
                    "created_at": ("%s::timestamptz + (g + 1) * %s::interval", [start, step]),
                },
                lambda g: Message(
                    organization=org,
                    channel_id=channel_pks[(g % users) % channels],
                    author_id=member_pks[g % users],
                    type=Message.Type.TEXT,
                    data={"text": f"Seeded message number {g}"},
                    created_at=start + (g + 1) * step,
                ),
            )

    def _reports(self, count: int, member_pks: Sequence[int]) -> None:
        """Open reports on the newest messages, each by another member than the author."""
        if not count or len(member_pks) < 2:
            return
        targets = list(
            Message.objects.filter(organization=self.org, deleted_at__isnull=True)
            .order_by("-pk")
            .values_list("pk", "author_id")[: count * 10 : 10]
        )
        rows = []
        for k, (message_pk, author_pk) in enumerate(targets):
            reporter = member_pks[(k * 7919) % len(member_pks)]
            if reporter == author_pk:
                reporter = member_pks[(k * 7919 + 1) % len(member_pks)]
            rows.append(
                Report(
                    organization=self.org,
                    reporter_id=reporter,
                    target_member_id=author_pk,
                    target_message_id=message_pk,
                    reason="spam" if k % 2 else "abuse",
                    created_at=self._time_at(len(targets) + k, 2 * len(targets)),
                )
            )
        progress = self._progress("reports", len(rows))
        with _explicit_timestamps((Report, "created_at")):
            for start in range(0, len(rows), self.chunk):
                batch = rows[start : start + self.chunk]
                Report.objects.bulk_create(batch, ignore_conflicts=True)
                progress.advance(len(batch))
        progress.finish()

    def _audit(self, count: int) -> None:
        org = self.org
        with _explicit_timestamps((AuditEntry, "created_at")):
            self._fill(
                AuditEntry,
                "audit entries",
                count,
                None,  # few rows: bulk_create everywhere
                lambda i: AuditEntry(
                    organization=org,
                    actor_label=f"moderator{i % 5}@{org.slug}.test",
                    action=AUDIT_ACTIONS[i % len(AUDIT_ACTIONS)],
                    target_type="user",
                    target_id=f"{self.prefix}{i}",
                    reason="seeded",
                    created_at=self._time_at(i, count),
                ),
            )

    def _recount(self) -> None:
        """Each channel's counters from its rows (one statement), then ANALYZE."""
        q = connection.ops.quote_name
        channels, messages, memberships = (
            q(Channel._meta.db_table),
            q(Message._meta.db_table),
            q(Membership._meta.db_table),
        )
        progress = self._progress("counters", 1)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {channels} SET "
                f"message_count = (SELECT COUNT(*) FROM {messages} m "
                f"  WHERE m.channel_id = {channels}.id AND m.deleted_at IS NULL), "
                f"member_count = (SELECT COUNT(*) FROM {memberships} ms "
                f"  WHERE ms.channel_id = {channels}.id AND ms.joined_at IS NOT NULL), "
                f"last_activity_at = (SELECT MAX(m.created_at) FROM {messages} m "
                f"  WHERE m.channel_id = {channels}.id) "
                f"WHERE organization_id = %s AND closed_at IS NULL",
                [self.org.pk],
            )
        progress.advance(1)
        progress.finish()
        analyze(Member, Channel, Membership, Message, Report, AuditEntry)


class _Raw:
    """The command's stderr without OutputWrapper's added newline (the line is redrawn)."""

    def __init__(self, wrapper: Any) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()


class _Null:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
