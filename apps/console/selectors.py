"""Read queries of the console's dashboard and review queue, scoped to an organization.

Read-only: every write goes through the apps' services. Every function costs a fixed
number of queries, whatever the size of the tables (each is noted).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.selectors.channels import channel_live_q
from apps.core.admin import capped_count
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.selectors.messages import message_visible
from apps.moderation.models import FilterRefusalDay
from apps.organizations.models import Organization
from apps.reports.models import Report, report_open_q
from apps.reports.selectors import report_group, report_list

SYSTEM_LABEL = "system"  # apps.audit.actor.Actor.system().label

# --------------------------------------------------------------------------- dashboard


#: Below this many rows a dashboard total is exact; from it on, "about N" (see below).
EXACT_BELOW = 10_000


@dataclass(frozen=True)
class Total:
    """A count for people to read: ``value`` exact, or the planner's estimate when the
    exact count would cost a scan that grows with the table (``exact`` False)."""

    value: int
    exact: bool = True


def planner_estimate(queryset: QuerySet[Any]) -> int | None:
    """PostgreSQL's row estimate for the queryset (``EXPLAIN``, one cheap statement that
    reads no rows: the statistics ANALYZE keeps), or None on other databases."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):  # pragma: no cover - psycopg returns JSON parsed
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


def total_from(counted: int, queryset: QuerySet[Any], *, exact_below: int) -> Total:
    """A ``Total`` from a count capped at ``exact_below`` (see ``total``)."""
    if counted < exact_below:
        return Total(counted)
    estimate = planner_estimate(queryset)
    return Total(max(estimate or 0, exact_below), exact=False)


def total(queryset: QuerySet[Any], *, exact_below: int | None = None) -> Total:
    """The queryset's size, read at most ``exact_below`` rows deep: exact below it (one
    statement, which stops there); from there on the planner's estimate (PostgreSQL:
    a second statement that reads no rows) or ``exact_below`` itself (elsewhere), not
    exact either way. Its cost is flat however large the table grows."""
    exact_below = EXACT_BELOW if exact_below is None else exact_below
    return total_from(capped_count(queryset, exact_below), queryset, exact_below=exact_below)


def _scalar_row(**parts: tuple[str, QuerySet[Any]]) -> dict[str, Any]:
    """One statement of scalar subqueries: each part is ``(aggregate, queryset)``, read as
    ``(SELECT <aggregate> FROM (<queryset>) AS t)``; one round trip for them all."""
    connection = connections[next(iter(parts.values()))[1].db]
    columns, params = [], []
    for name, (aggregate, queryset) in parts.items():
        sql, part_params = queryset.query.sql_with_params()
        alias = connection.ops.quote_name(name)
        columns.append(f"(SELECT {aggregate} FROM ({sql}) t) AS {alias}")
        params.extend(part_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), params)
        row = cursor.fetchone()
    return dict(zip(parts, row, strict=True))


def dashboard_counts(*, organization: Organization, since: datetime) -> dict[str, Any]:
    """Open reports, open channels, messages, users and the audit entries since
    ``since`` (``actions``), in ONE statement of scalar subqueries (plus, for an
    organization of ``EXACT_BELOW`` users or more, the planner's estimate: ``total``).
    Users are counted at most ``EXACT_BELOW`` deep, so a page view never counts a
    growing table. Messages are the sum of the channels' denormalized ``message_count``
    (kept by the services), never a COUNT(*) over the messages table; closed channels
    count 0. Open reports use the ``report_queue`` index."""
    live = Channel.objects.filter(channel_live_q(), organization=organization).order_by()
    members = Member.objects.filter(organization=organization)
    row = _scalar_row(
        open_reports=(
            "COUNT(*)",
            Report.objects.filter(report_open_q(), organization=organization)
            .order_by()
            .values("pk"),
        ),
        channels=("COUNT(*)", live.filter(closed_at__isnull=True).values("pk")),
        messages=("COALESCE(SUM(t.message_count), 0)", live.values("message_count")),
        users=("COUNT(*)", members.order_by().values("pk")[:EXACT_BELOW]),
        actions=(
            "COUNT(*)",
            audit_since(organization=organization, since=since).order_by().values("pk"),
        ),
    )
    row["users"] = total_from(row["users"], members, exact_below=EXACT_BELOW)
    return row


def audit_since(*, organization: Organization, since: datetime) -> QuerySet[AuditEntry]:
    """The organization's audit entries since ``since``, newest first."""
    return AuditEntry.objects.filter(organization=organization, created_at__gte=since).order_by(
        "-created_at", "-pk"
    )


@dataclass
class EndingSoon:
    """Mutes and bans of the organization whose end falls in a window (soonest first),
    at most ``limit`` of each kind; one query per kind (4)."""

    channel_mutes: list[Channel] = field(default_factory=list)
    member_mutes: list[Membership] = field(default_factory=list)
    channel_bans: list[Membership] = field(default_factory=list)
    global_bans: list[Member] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.channel_mutes or self.member_mutes or self.channel_bans or self.global_bans
        )


def ending_soon(
    *, organization: Organization, now: datetime, until: datetime, limit: int = 10
) -> EndingSoon:
    """Active timed mutes and bans ending in ``(now, until]``: the partial expiry indexes
    (``*_mute_expiry``, ``*_ban_expiry``) serve each query."""
    window = {"gt": now, "lte": until}

    def within(prefix: str) -> dict[str, Any]:
        return {f"{prefix}__{op}": at for op, at in window.items()}

    channels = (
        Channel.objects.filter(
            channel_live_q(now=now),
            organization=organization,
            closed_at__isnull=True,
            muted_at__isnull=False,
            **within("mute_expires_at"),
        )
        .only("channel_id", "display_name", "mute_expires_at", "muted_at")
        .order_by("mute_expires_at", "pk")[:limit]
    )
    memberships = Membership.objects.filter(
        organization=organization, channel__closed_at__isnull=True
    ).select_related("channel", "member")
    mutes = memberships.filter(muted_at__isnull=False, **within("mute_expires_at")).order_by(
        "mute_expires_at", "pk"
    )[:limit]
    bans = memberships.filter(banned_at__isnull=False, **within("ban_expires_at")).order_by(
        "ban_expires_at", "pk"
    )[:limit]
    members = Member.objects.filter(
        organization=organization, banned_at__isnull=False, **within("ban_expires_at")
    ).order_by("ban_expires_at", "pk")[:limit]
    return EndingSoon(
        channel_mutes=list(channels),
        member_mutes=list(mutes),
        channel_bans=list(bans),
        global_bans=list(members),
    )


def last_days(*, days: int, today: date | None = None) -> list[date]:
    """The ``days`` calendar days (UTC) ending today, oldest first."""
    today = today or timezone.now().date()
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def _per_day(
    queryset: QuerySet[Any], *, days: list[date], layers: dict[str, Q]
) -> dict[str, list[int]]:
    """One GROUP BY query: for each layer, the rows per day of ``days`` (zeros filled)."""
    start = timezone.make_aware(datetime.combine(days[0], datetime.min.time()))
    rows = (
        queryset.filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(**{name: Count("pk", filter=q) for name, q in layers.items()})
        .order_by("day")
    )
    index = {day: i for i, day in enumerate(days)}
    out = {name: [0] * len(days) for name in layers}
    for row in rows:
        i = index.get(row["day"])
        if i is not None:
            for name in layers:
                out[name][i] = row[name]
    return out


def moderation_actions_per_day(
    *, organization: Organization, days: list[date]
) -> dict[str, list[int]]:
    """Audit entries per day: ``human`` (a console user or a token) and ``system``
    (sweeps, the content filter's reports, automatic hiding). One query."""
    return _per_day(
        AuditEntry.objects.filter(organization=organization),
        days=days,
        layers={"human": ~Q(actor_label=SYSTEM_LABEL), "system": Q(actor_label=SYSTEM_LABEL)},
    )


def reports_per_day(*, organization: Organization, days: list[date]) -> dict[str, list[int]]:
    """Reports opened per day: ``users`` (an end user reported) and ``system`` (the
    content filter's ``flag`` policy). One query."""
    return _per_day(
        Report.objects.filter(organization=organization),
        days=days,
        layers={"users": Q(reporter__isnull=False), "system": Q(reporter__isnull=True)},
    )


def refusals_per_day(*, organization: Organization, days: list[date]) -> dict[str, list[int]]:
    """Messages refused by the content filter per day: ``blacklisted`` and
    ``not_whitelisted`` (the posting paths count them; one row per day). One query."""
    out = {"blacklisted": [0] * len(days), "not_whitelisted": [0] * len(days)}
    index = {day: i for i, day in enumerate(days)}
    rows = FilterRefusalDay.objects.filter(
        organization=organization, day__gte=days[0], day__lte=days[-1]
    ).values_list("day", "blacklisted", "not_whitelisted")
    for day, blacklisted, not_whitelisted in rows:
        out["blacklisted"][index[day]] = blacklisted
        out["not_whitelisted"][index[day]] = not_whitelisted
    return out


# ------------------------------------------------------------------------ review queue


def _same_target(*, open_only: bool = True) -> QuerySet[Report]:
    """Reports with the same target as the outer report: the same message, or (for a
    report on a user) the same user and no message. Served by the partial index
    ``report_open_member`` on the target user."""
    qs = Report.objects.filter(target_member=OuterRef("target_member"))
    if open_only:
        qs = qs.filter(report_open_q())
    return qs.alias(key=Coalesce("target_message_id", Value(0))).filter(
        key=Coalesce(OuterRef("target_message_id"), Value(0))
    )


def review_groups(
    *,
    organization: Organization,
    kind: str = "",
    source: str = "",
    user_id: str = "",
    channel_id: str = "",
) -> QuerySet[Report]:
    """The review queue: one row per reported target (a message, or a user), namely the
    target's oldest open report, annotated with ``report_count`` (its open reports) and
    ``system_count`` (those by the content filter). One query for a page.

    Filters: ``kind`` ``message``/``user``; ``source`` ``system`` (the target has a
    report by the content filter) or ``users`` (by an end user); ``user_id`` (the
    reported user, exact); ``channel_id`` (the message's channel, exact).
    """
    siblings = _same_target()
    queryset = (
        report_list(organization=organization)
        .select_related("target_message__channel")
        .filter(~Exists(siblings.filter(pk__lt=OuterRef("pk"))))
        .annotate(
            report_count=Subquery(
                siblings.order_by().values("target_member").annotate(n=Count("pk")).values("n"),
                output_field=IntegerField(),
            ),
            system_count=Subquery(
                siblings.filter(reporter__isnull=True)
                .order_by()
                .values("target_member")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
        )
    )
    if kind == "message":
        queryset = queryset.filter(target_message__isnull=False)
    elif kind == "user":
        queryset = queryset.filter(target_message__isnull=True)
    if source == "system":
        queryset = queryset.filter(Exists(siblings.filter(reporter__isnull=True)))
    elif source == "users":
        queryset = queryset.filter(Exists(siblings.filter(reporter__isnull=False)))
    if user_id:
        queryset = queryset.filter(target_member__user_id=user_id)
    if channel_id:
        queryset = queryset.filter(target_message__channel__channel_id=channel_id)
    return queryset


def review_report_get(*, organization: Organization, report_id: Any) -> Report:
    """Any report of the organization (open or resolved) with its target, the target
    message's channel and the reporter; DomainError(not_found) otherwise (another
    organization's id looks the same). One query."""
    try:
        pk = int(report_id)
    except (TypeError, ValueError):
        pk = 0
    report = (
        report_list(organization=organization, state=None)
        .select_related("target_message__channel")
        .filter(pk=pk)
        .first()
        if 0 < pk < 2**63
        else None
    )
    if report is None:
        raise DomainError("not_found", f"No report with reportId {str(report_id)[:64]!r}.")
    return report


def group_reports(report: Report) -> QuerySet[Report]:
    """The open reports with the same target as ``report``, oldest first."""
    return report_group(report).select_related("reporter")


def review_next(
    *,
    organization: Organization,
    after: Report,
    exclude: Iterable[int] = (),
    filters: dict[str, str] | None = None,
    newest_first: bool = False,
    viewer: Any = None,
) -> Report | None:
    """The queue's next target after ``after`` in the queue's order (oldest first, or
    ``newest_first``) under the queue's ``filters`` (``review_groups``' keywords),
    skipping the report ids of ``exclude`` and, with ``viewer`` (an Account), the items
    someone else has claimed (``Report.claimed_until`` ahead). One query."""
    queryset = review_groups(organization=organization, **(filters or {}))
    if newest_first:
        queryset = queryset.filter(
            Q(created_at__lt=after.created_at) | Q(created_at=after.created_at, pk__lt=after.pk)
        ).order_by("-created_at", "-pk")
    else:
        queryset = queryset.filter(
            Q(created_at__gt=after.created_at) | Q(created_at=after.created_at, pk__gt=after.pk)
        ).order_by("created_at", "pk")
    if viewer is not None:
        queryset = queryset.filter(
            Q(claimed_by__isnull=True)
            | Q(claimed_by=viewer)
            | Q(claimed_until__isnull=True)
            | Q(claimed_until__lte=timezone.now())
        )
    return queryset.exclude(pk__in=list(exclude)).first()


def message_context(
    *, organization: Organization, message: Message, around: int = 3
) -> tuple[list[Message], list[Message]]:
    """Up to ``around`` visible messages before and after ``message`` in its channel
    (deleted ones included, marked by the template), oldest first. Two queries on the
    ``message_channel_id`` index."""
    visible = message_visible(organization=organization).filter(channel_id=message.channel_id)
    visible = visible.select_related("author")
    before = list(visible.filter(pk__lt=message.pk).order_by("-pk")[:around])
    after = list(visible.filter(pk__gt=message.pk).order_by("pk")[:around])
    before.reverse()
    return before, after


def author_recent_messages(
    *, organization: Organization, member: Member, limit: int = 10
) -> list[Message]:
    """The user's latest visible messages across channels (deleted included). One query
    on the ``message_author`` index."""
    return list(
        message_visible(organization=organization)
        .filter(author=member)
        .select_related("channel")
        .order_by("-pk")[:limit]
    )


def audit_on_user(
    *, organization: Organization, member: Member, limit: int = 10
) -> list[AuditEntry]:
    """Earlier moderation actions targeting the user (bans, flags cleared, reports on
    them, edits), newest first. One query on the ``audit_target`` index. Channel-level
    actions (a mute in a channel) target the channel and are not listed here."""
    return list(
        AuditEntry.objects.filter(
            organization=organization, target_type="user", target_id=member.user_id
        ).order_by("-created_at", "-pk")[:limit]
    )


def report_history(*, organization: Organization, member: Member) -> dict[str, int]:
    """How many reports on the user (and their messages) are open, dismissed and
    actioned. One grouped query."""
    rows = (
        Report.objects.filter(organization=organization, target_member=member)
        .order_by()
        .values("state")
        .annotate(n=Count("pk"))
    )
    counts = {state: 0 for state in Report.State.values}
    counts.update({row["state"]: row["n"] for row in rows})
    return counts


def member_standing(*, member: Member, channel: Channel | None) -> Membership | None:
    """The user's membership row in the channel (mute, ban), if any. One query."""
    if channel is None:
        return None
    return Membership.objects.filter(channel=channel, member=member).first()


def member_channels(*, member: Member, limit: int = 50) -> list[Channel]:
    """Open channels the user is a current member of (for muting or banning a reported
    user), by channelId. One query."""
    return list(
        Channel.objects.filter(
            channel_live_q(),
            membership_current_q(prefix="memberships__"),
            organization_id=member.organization_id,
            closed_at__isnull=True,
            memberships__member=member,
        )
        .only("channel_id", "display_name")
        .order_by("channel_id")[:limit]
    )
