"""Writes on reports (flags): create, resolve, and the automatic hide at N open reports.

A report is opened by an end user (relayed by the customer's back end) or by the system
(the content filter's ``flag`` policy). There is at most one OPEN report per reporter and
target: the database enforces it for end users (partial unique constraints); system
reports (no reporter) are deduplicated here, one open system report per message (or per
user for a report on a user). See docs/api/reports.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.services import MAX_REASON_LENGTH, audit_record, check_reason
from apps.core.errors import DomainError
from apps.events.models import EventType
from apps.events.services import event_record
from apps.members.models import Member
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.reports.models import Report, report_open_q


def report_snapshot(report: Report) -> dict[str, Any]:
    """What the audit log and the events keep of a report (API field names)."""
    return {
        "reportId": str(report.pk),
        "state": report.state,
        "reason": report.reason,
        "reporterId": report.reporter.user_id if report.reporter_id else None,
        "targetUserId": report.target_member.user_id,
        "targetMessageId": (
            str(report.target_message.public_id) if report.target_message_id else None
        ),
        "resolvedBy": report.resolved_by_label or None,
        "resolvedAt": report.resolved_at.isoformat() if report.resolved_at else None,
    }


def _check_same_organization(organization: Organization, *rows: Any) -> None:
    for row in rows:
        if row is not None and row.organization_id != organization.pk:
            raise ValueError(f"{row!r} belongs to another organization")


@transaction.atomic
def report_create(
    *,
    organization: Organization,
    actor: Actor,
    reporter: Member | None,
    target_member: Member,
    target_message: Message | None = None,
    reason: str = "",
) -> Report:
    """Open a report on a user, or on one of their messages (``target_member`` must be
    the message's author).

    - An end user (``reporter``) has at most one open report per target: a second one is
      409 ``already_reported`` (a report after the first was resolved is fine).
    - A system report (``reporter=None``) is idempotent: while the target already has an
      open system report, that report is returned and nothing is written.
    - Reporting oneself is 400 ``invalid_parameter`` (field ``reporterId``); a deleted
      message, or one of a closed channel, is 404 ``message_not_found``.
    - Once a message reaches the organization's ``auto_hide_threshold`` of open reports
      it is hidden (``hidden_at``), by the system, in this same transaction.
    """
    _check_same_organization(organization, reporter, target_member, target_message)
    if target_message is not None and target_message.author_id != target_member.pk:
        raise ValueError("target_member must be the author of target_message")
    if reporter is not None and reporter.pk == target_member.pk:
        raise DomainError(
            "invalid_parameter", "reporterId: a user cannot report themself.", field="reporterId"
        )
    # cut, not refused: a system report's reason is made by the content filter
    reason = (reason or "")[:MAX_REASON_LENGTH]

    # Lock the target: concurrent reports on one message count and hide it in turn, and
    # two system reports on one target cannot both pass the duplicate check below.
    if target_message is not None:
        message_id = target_message.public_id
        target_message = (
            Message.objects.select_for_update(of=("self",))
            .filter(pk=target_message.pk, deleted_at__isnull=True, channel__closed_at__isnull=True)
            .first()
        )
        if target_message is None:  # deleted, or its channel closed, meanwhile
            raise DomainError(
                "message_not_found",
                f"No message with messageId {str(message_id)!r}.",
                field="messageId",
            )
    else:
        Member.objects.select_for_update().filter(pk=target_member.pk).first()

    if reporter is None:
        existing = (
            Report.objects.filter(
                report_open_q(),
                organization=organization,
                reporter__isnull=True,
                target_member=target_member,
                target_message=target_message,
            )
            .select_related("target_member", "target_message")
            .first()
        )
        if existing is not None:
            return existing

    try:
        with transaction.atomic():  # a savepoint: the outer transaction stays usable
            report = Report.objects.create(
                organization=organization,
                reporter=reporter,
                target_member=target_member,
                target_message=target_message,
                reason=reason,
            )
    except IntegrityError:
        what = "message" if target_message is not None else "user"
        raise DomainError(
            "already_reported",
            f"{reporter.user_id if reporter else 'The system'} already has an open report "
            f"on this {what}.",
        ) from None

    after = report_snapshot(report)
    target_type, target_id = (
        ("message", str(target_message.public_id))
        if target_message is not None
        else ("user", target_member.user_id)
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="report.create",
        target_type=target_type,
        target_id=target_id,
        reason=reason,
        after=after,
    )
    event_record(organization=organization, type=EventType.REPORT_CREATED, payload=after)
    if target_message is not None:
        _hide_at_threshold(organization=organization, message=target_message)
    return report


def _hide_at_threshold(*, organization: Organization, message: Message) -> None:
    """Hide the (locked) message once its open reports reach the organization's
    ``auto_hide_threshold`` (null or 0: never)."""
    threshold = organization.auto_hide_threshold
    if not threshold or message.hidden_at is not None:
        return
    open_count = Report.objects.filter(report_open_q(), target_message=message).count()
    if open_count < threshold:
        return
    message.hidden_at = timezone.now()
    message.save(update_fields=["hidden_at"])
    payload = {
        "messageId": str(message.public_id),
        "openReports": open_count,
        "threshold": threshold,
        "hiddenAt": message.hidden_at.isoformat(),
    }
    audit_record(
        organization=organization,
        actor=Actor.system(),
        action="message.hide",
        target_type="message",
        target_id=str(message.public_id),
        reason=f"{open_count} open reports reached the threshold of {threshold}",
        before={"hiddenAt": None},
        after=payload,
    )
    event_record(organization=organization, type=EventType.MESSAGE_HIDDEN, payload=payload)


@transaction.atomic
def reports_resolve_for_member(
    *,
    actor: Actor,
    member: Member,
    state: str = Report.State.DISMISSED,
    reason: str = "",
) -> int:
    """Resolve every open report on the user (on them and on their messages) with
    ``state`` (dismissed or actioned), recording who and when; returns how many.

    Audited as ``user.flags.clear`` even when there was nothing to resolve (the caller
    asked for it). Repeating it is harmless.
    """
    if state not in (Report.State.DISMISSED, Report.State.ACTIONED):
        raise ValueError(f"cannot resolve a report as {state!r}")
    reason = check_reason(reason)
    resolved = Report.objects.filter(
        report_open_q(), organization_id=member.organization_id, target_member=member
    ).update(
        state=state,
        resolved_at=timezone.now(),
        resolved_by_label=actor.label[:255],
        claimed_by=None,  # resolving releases any claim (report_claim)
        claimed_until=None,
    )
    audit_record(
        organization=member.organization,
        actor=actor,
        action="user.flags.clear",
        target_type="user",
        target_id=member.user_id,
        reason=reason,
        before={"flagCount": resolved},
        after={"flagCount": 0, "cleared": resolved, "state": str(state)},
    )
    return resolved


@transaction.atomic
def report_resolve(
    *,
    actor: Actor,
    report: Report,
    state: str = Report.State.DISMISSED,
    reason: str = "",
) -> Report:
    """Resolve one report (the review queue). Resolving a report that is no longer open
    is 409 ``conflict`` (someone else got there first); nothing is written."""
    if state not in (Report.State.DISMISSED, Report.State.ACTIONED):
        raise ValueError(f"cannot resolve a report as {state!r}")
    reason = check_reason(reason)
    report = (
        Report.objects.select_for_update(of=("self",))
        .select_related("organization", "reporter", "target_member", "target_message")
        .get(pk=report.pk)
    )
    if not report.is_open:
        raise DomainError(
            "conflict",
            f"Report {report.pk} is already {report.state} by {report.resolved_by_label}.",
        )
    before = report_snapshot(report)
    report.state = state
    report.resolved_at = timezone.now()
    report.resolved_by_label = actor.label[:255]
    report.claimed_by, report.claimed_until = None, None  # resolving releases the claim
    report.save(
        update_fields=["state", "resolved_at", "resolved_by_label", "claimed_by", "claimed_until"]
    )
    audit_record(
        organization=report.organization,
        actor=actor,
        action="report.resolve",
        target_type="report",
        target_id=str(report.pk),
        reason=reason,
        before=before,
        after=report_snapshot(report),
    )
    return report


@transaction.atomic
def reports_reopen(
    *,
    actor: Actor,
    organization: Organization,
    expected: dict[int, dict[str, Any]],
    undoes: int | None = None,
) -> list[Report]:
    """Undo resolving reports (apps/console/undo.py): each report of ``expected`` (pk ->
    ``{"state", "resolved_at", "resolved_by_label"}`` as the resolve left them) is open
    again, each audited as ``report.resolve.undo`` (``undoes``: the undone entry). If any
    of them changed since (resolved again, or its reporter reported the same target again
    meanwhile), 409 ``conflict`` and nothing is written."""
    reports = {
        report.pk: report
        for report in Report.objects.select_for_update(of=("self",))
        .select_related("organization", "reporter", "target_member", "target_message")
        .filter(organization=organization, pk__in=list(expected))
    }
    for pk, state in expected.items():
        report = reports.get(pk)
        if report is None or any(getattr(report, k) != state.get(k) for k in REOPEN_FIELDS):
            raise DomainError("conflict", f"Report {pk} changed since: nothing was undone.")
    reopened = []
    for pk in sorted(expected):
        report = reports[pk]
        before = report_snapshot(report)
        report.state, report.resolved_at, report.resolved_by_label = Report.State.OPEN, None, ""
        try:
            with transaction.atomic():
                report.save(update_fields=list(REOPEN_FIELDS))
        except IntegrityError:  # the same reporter opened a new report on it meanwhile
            raise DomainError(
                "conflict", f"Report {pk} was reported again since: nothing was undone."
            ) from None
        audit_record(
            organization=report.organization,
            actor=actor,
            action="report.resolve.undo",
            target_type="report",
            target_id=str(report.pk),
            before=before,
            after={**report_snapshot(report), "undoes": undoes},
        )
        reopened.append(report)
    return reopened


#: What resolving a report sets, and reopening it puts back.
REOPEN_FIELDS = ("state", "resolved_at", "resolved_by_label")


# --- claims (the console's review items) ----------------------------------------------


def claim_seconds() -> int:
    """How long opening a review item claims it (``CHATADMIN_CONSOLE_CLAIM_SECONDS``)."""
    return int(settings.CHATADMIN.get("CONSOLE_CLAIM_SECONDS", 300))


def report_claim(*, report: Report, account: Account, seconds: int | None = None) -> bool:
    """Claim the open report for ``account`` for ``seconds`` (default
    :func:`claim_seconds`), or renew the account's own claim. Returns False, writing
    nothing, when another account's claim still holds or the report is resolved.

    One conditional UPDATE, so two moderators opening the same item at once cannot both
    get it: the database re-checks the condition on the row it locks. Not audited (a
    claim changes nothing; the action that follows is audited). ``report`` is updated in
    place on success."""
    now = timezone.now()
    until = now + timedelta(seconds=claim_seconds() if seconds is None else seconds)
    claimed = Report.objects.filter(
        Q(claimed_by__isnull=True)
        | Q(claimed_by=account)
        | Q(claimed_until__isnull=True)
        | Q(claimed_until__lte=now),
        report_open_q(),
        pk=report.pk,
    ).update(claimed_by=account, claimed_until=until)
    if claimed:
        report.claimed_by, report.claimed_until = account, until
    return bool(claimed)


def report_release(*, report: Report, account: Account) -> bool:
    """Give up ``account``'s claim on the report (another account's claim is left as it
    is). One UPDATE; returns whether there was such a claim. Resolving a report releases
    its claim too (``report_resolve``, ``reports_resolve_for_member``)."""
    released = Report.objects.filter(pk=report.pk, claimed_by=account).update(
        claimed_by=None, claimed_until=None
    )
    if released:
        report.claimed_by, report.claimed_until = None, None
    return bool(released)
