"""Reads on reports (flags), always scoped to an organization."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.reports.models import Report, report_open_q


def open_report_count(target: str) -> Coalesce:
    """An annotation: the open reports naming the outer row, as one correlated subquery
    (0 when none). ``target`` is ``"target_member"`` on members (a user's ``flagCount``:
    the reports on them and on their messages) or ``"target_message"`` on messages."""
    reports = (
        Report.objects.filter(report_open_q(), **{target: OuterRef("pk")})
        .order_by()
        .values(target)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(
        Subquery(reports, output_field=IntegerField()), Value(0), output_field=IntegerField()
    )


def report_list(
    *,
    organization: Organization,
    state: str | None = Report.State.OPEN,
    target_member: Member | None = None,
    target_message: Message | None = None,
) -> QuerySet[Report]:
    """The organization's reports, oldest first (the review queue: ``state="open"``;
    ``state=None``: every state), with what rendering one needs joined in."""
    queryset = Report.objects.filter(organization=organization)
    if state is not None:
        queryset = queryset.filter(state=state)
    if target_member is not None:
        queryset = queryset.filter(target_member=target_member)
    if target_message is not None:
        queryset = queryset.filter(target_message=target_message)
    return queryset.select_related("reporter", "target_member", "target_message").order_by(
        "created_at", "pk"
    )


def report_get(*, organization: Organization, report_id: int | str) -> Report:
    """The report, or DomainError(not_found); another organization's id looks the same."""
    try:
        pk = int(report_id)
    except (TypeError, ValueError):
        pk = None
    report = (
        report_list(organization=organization, state=None).filter(pk=pk).first()
        if pk is not None and 0 < pk < 2**63
        else None
    )
    if report is None:
        raise DomainError("not_found", f"No report with reportId {str(report_id)[:64]!r}.")
    return report


def report_open_count(*, organization: Organization, target_message: Message) -> int:
    """How many open reports name the message (its ``flagCount``)."""
    return Report.objects.filter(
        report_open_q(), organization=organization, target_message=target_message
    ).count()


def report_claim_holder(*, report: Report, now: datetime | None = None) -> ClaimHolder | None:
    """Who holds a live claim on the report (the console's review item) and until when,
    read afresh; None when nobody does (never claimed, released, or expired). One query."""
    row = (
        Report.objects.filter(pk=report.pk, claimed_by__isnull=False)
        .values("claimed_by_id", "claimed_by__email", "claimed_until")
        .first()
    )
    if row is None or row["claimed_until"] is None:
        return None
    if row["claimed_until"] <= (now or timezone.now()):
        return None
    return ClaimHolder(
        account_id=row["claimed_by_id"], email=row["claimed_by__email"], until=row["claimed_until"]
    )


@dataclass(frozen=True)
class ClaimHolder:
    account_id: int
    email: str
    until: datetime


def report_group(report: Report) -> QuerySet[Report]:
    """The open reports with the same target as ``report`` (the review queue's group of
    it: the same member, and the same message or none), oldest first."""
    qs = Report.objects.filter(
        report_open_q(),
        organization_id=report.organization_id,
        target_member_id=report.target_member_id,
    )
    if report.target_message_id is not None:
        qs = qs.filter(target_message_id=report.target_message_id)
    else:
        qs = qs.filter(target_message__isnull=True)
    return qs.order_by("pk")
