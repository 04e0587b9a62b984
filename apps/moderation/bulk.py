"""Bulk moderation: one action, with one reason, over many targets (issue 16).

Every target goes through the same service as the single action (``message_delete``,
``channel_users_mute``, ``channel_users_ban``, ``member_ban``, ``report_resolve``), so it
is checked and audited exactly as today, one audit entry per target; hiding and
unhiding a message are apps.messages.services.hiding.

- :func:`bulk_units` turns a selection (rows of a console list) into the *units* an action
  works on, deduplicated: a report group, a message, a member, or a member in a channel
  (muting the authors of 50 messages by two people is two mutes, not 50).
- :func:`bulk_apply` runs units at once (a small selection, in the request); each unit in
  its own savepoint, so one refused target is a failure of its own and the others go on.
- :func:`bulk_job_create` freezes a large selection in a :class:`BulkJob` and queues
  ``moderation.bulk_job_run`` on commit; :func:`bulk_job_run` does it in chunks of
  ``BULK_CHUNK_SIZE``: a chunk's actions and the job's progress commit together, so a
  killed worker redoes at most its unfinished chunk and never a finished one; the job row
  is claimed with ``SKIP LOCKED`` so two workers never run the same chunk;
  :func:`bulk_jobs_resume` (beat) re-queues a job whose worker went away.
- Undo of a job: as it goes, a job records in ``BulkJob.undo`` each target's state before
  and after its action (and the audit entry it wrote); for ``CONSOLE_UNDO_SECONDS`` after
  it finished, its actor may :func:`bulk_job_undo` it: a job of its own (action
  ``undo``, same chunks, resumable) puts each target back through the domain's
  ``*_restore`` functions (audited ``<action>.undo`` per target); a target changed since
  is a failure of its own, the others are put back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.audit.services import check_reason
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_users_ban, channel_users_mute
from apps.core.errors import DomainError
from apps.core.publishing import publish_on_commit
from apps.members.models import Member
from apps.members.services import member_ban
from apps.messages.models import Message
from apps.messages.services.hiding import message_hide, message_unhide
from apps.messages.services.messages import message_delete
from apps.messages.services.restore import MESSAGES_RESTORES
from apps.moderation.models import BulkJob
from apps.moderation.services import (
    BAN_FIELDS,
    CHANNEL_BAN_FIELDS,
    CHANNEL_USERS_RESTORES,
    MUTE_FIELDS,
    member_ban_restore,
    stamps_load,
    state_dump,
    state_load,
)
from apps.organizations.models import Organization
from apps.reports.models import Report
from apps.reports.selectors import report_group
from apps.reports.services import REOPEN_FIELDS, report_resolve, reports_reopen

DISMISS, DELETE, HIDE, UNHIDE, MUTE, CHANNEL_BAN, GLOBAL_BAN = (
    "dismiss",
    "delete",
    "hide",
    "unhide",
    "mute",
    "channel_ban",
    "global_ban",
)
ACTIONS = (DISMISS, DELETE, HIDE, UNHIDE, MUTE, CHANNEL_BAN, GLOBAL_BAN)
#: What a unit of work is (``BulkJob.unit``).
REPORT, MESSAGE, MEMBER, MEMBER_CHANNEL = "report", "message", "member", "member_channel"
#: The failures a job keeps (the count goes on).
MAX_FAILURES_KEPT = 100
#: A running job whose row was not touched for this long lost its worker (resumed).
STALE_AFTER = timedelta(minutes=2)
TASK = "moderation.bulk_job_run"
#: The action (and unit) of a job that undoes another.
UNDO = "undo"


def bulk_setting(name: str) -> int:
    """``BULK_SYNC_LIMIT``, ``BULK_MAX_TARGETS`` or ``BULK_CHUNK_SIZE`` of
    settings.CHATADMIN."""
    defaults = {"BULK_SYNC_LIMIT": 200, "BULK_MAX_TARGETS": 50_000, "BULK_CHUNK_SIZE": 100}
    return int(settings.CHATADMIN.get(name, defaults[name]))


@dataclass(frozen=True)
class BulkSpec:
    """What to do to each unit: the action, its reason, and for a mute or a ban its
    period (ms) and, where the list does not give one per row, the channel."""

    action: str
    reason: str
    mute_period: int | None = None
    ban_period: int | None = None
    channel_pk: int | None = None

    def params(self) -> dict[str, Any]:
        return {
            "mutePeriod": self.mute_period,
            "banPeriod": self.ban_period,
            "channel": self.channel_pk,
        }

    @classmethod
    def from_job(cls, job: BulkJob) -> BulkSpec:
        params = job.params or {}
        return cls(
            action=job.action,
            reason=job.reason,
            mute_period=params.get("mutePeriod"),
            ban_period=params.get("banPeriod"),
            channel_pk=params.get("channel"),
        )


@dataclass
class BulkOutcome:
    done: int = 0
    failed: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)

    def fail(self, target: Any, message: str) -> None:
        self.failed += 1
        if len(self.failures) < MAX_FAILURES_KEPT:
            self.failures.append({"target": _label(target), "error": message})


def _label(target: Any) -> str:
    return "/".join(str(t) for t in target) if isinstance(target, list | tuple) else str(target)


# --- selection -> units ------------------------------------------------------------------------


def bulk_units(*, source: str, action: str, rows: Iterable[Any]) -> tuple[str, list[Any]]:
    """The unit kind and the deduplicated units of ``action`` over ``rows``, in order.

    ``source`` is what a row is: ``report`` (rows: report pks of the queue), ``message``
    (rows: ``(message pk, author pk, channel pk)``), ``member`` (rows: member pks).
    Messages act on their author for a mute or a ban (in the message's channel for a
    mute or a channel ban).
    """
    if source == REPORT:
        return REPORT, list(dict.fromkeys(rows))
    if source == MEMBER:
        return MEMBER, list(dict.fromkeys(rows))
    if source != MESSAGE:
        raise ValueError(f"unknown source {source!r}")
    rows = list(rows)
    if action in (DELETE, HIDE, UNHIDE):
        return MESSAGE, list(dict.fromkeys(pk for pk, _, _ in rows))
    if action == GLOBAL_BAN:
        return MEMBER, list(dict.fromkeys(author for _, author, _ in rows if author))
    pairs = dict.fromkeys((author, channel) for _, author, channel in rows if author)
    return MEMBER_CHANNEL, [list(pair) for pair in pairs]


def bulk_check(*, unit: str, spec: BulkSpec) -> None:
    """DomainError if ``spec.action`` cannot apply to units of this kind (nothing done)."""
    allowed = {
        REPORT: ACTIONS,
        MESSAGE: (DELETE, HIDE, UNHIDE),
        MEMBER: (MUTE, CHANNEL_BAN, GLOBAL_BAN),
        MEMBER_CHANNEL: (MUTE, CHANNEL_BAN),
    }[unit]
    if spec.action not in allowed:
        raise DomainError("invalid_parameter", f"{spec.action} does not apply here.")
    if unit == MEMBER and spec.action in (MUTE, CHANNEL_BAN) and spec.channel_pk is None:
        raise DomainError("missing_parameter", "Choose the channel to act in.", field="channel")
    if spec.action == MUTE and not spec.mute_period:
        raise DomainError("missing_parameter", "Choose how long to mute for.", field="duration")
    check_reason(spec.reason)


# --- applying units ----------------------------------------------------------------------------


class _Applier:
    """Applies one spec to units of one organization; caches what units share."""

    def __init__(self, *, organization: Organization, actor: Actor, spec: BulkSpec) -> None:
        self.organization, self.actor, self.spec = organization, actor, spec
        self._channels: dict[int, Channel] = {}

    def channel(self, pk: int) -> Channel:
        if pk not in self._channels:
            channel = Channel.objects.filter(organization=self.organization, pk=pk).first()
            if channel is None:
                raise DomainError("channel_not_found", "The channel no longer exists.")
            self._channels[pk] = channel
        return self._channels[pk]

    def member(self, pk: int) -> Member:
        member = (
            Member.objects.select_related("organization")
            .filter(organization=self.organization, pk=pk)
            .first()
        )
        if member is None:
            raise DomainError("user_not_found", "The user no longer exists.")
        return member

    def message(self, pk: int) -> Message:
        message = (
            Message.objects.select_related("channel", "author")
            .filter(organization=self.organization, pk=pk)
            .first()
        )
        if message is None:
            raise DomainError("message_not_found", "The message no longer exists.")
        return message

    def apply(self, unit: str, target: Any) -> None:
        spec = self.spec
        if unit == REPORT:
            self.report(int(target))
        elif unit == MESSAGE:
            self.on_message(self.message(int(target)))
        elif unit == MEMBER_CHANNEL:
            member_pk, channel_pk = target
            self.on_member(self.member(int(member_pk)), self.channel(int(channel_pk)))
        elif unit == MEMBER:
            channel = self.channel(spec.channel_pk) if spec.channel_pk is not None else None
            self.on_member(self.member(int(target)), channel)
        else:  # pragma: no cover
            raise ValueError(unit)

    def on_message(self, message: Message) -> None:
        action, kwargs = self.spec.action, self._common()
        if action == DELETE:
            message_delete(message=message, **kwargs)
        elif action == HIDE:
            message_hide(message=message, **kwargs)
        elif action == UNHIDE:
            message_unhide(message=message, **kwargs)
        else:
            raise DomainError("invalid_parameter", f"{action} does not apply to a message.")

    def on_member(self, member: Member, channel: Channel | None) -> None:
        spec = self.spec
        if spec.action == GLOBAL_BAN:
            member_ban(
                actor=self.actor, member=member, reason=spec.reason, ban_period=spec.ban_period
            )
            return
        if channel is None:
            raise DomainError("missing_parameter", "A reported user has no channel to act in.")
        if spec.action == MUTE:
            channel_users_mute(
                channel=channel,
                actor=self.actor,
                user_ids=[member.user_id],
                mute_period=int(spec.mute_period or 0),
                reason=spec.reason,
            )
        elif spec.action == CHANNEL_BAN:
            channel_users_ban(
                channel=channel,
                actor=self.actor,
                user_ids=[member.user_id],
                reason=spec.reason,
                ban_period=spec.ban_period,
            )
        else:
            raise DomainError("invalid_parameter", f"{spec.action} does not apply to a user.")

    def report(self, pk: int) -> None:
        """A queue row: act on its target as the review item does, then resolve its open
        reports (dismissed for dismiss, actioned otherwise). A group resolved meanwhile
        is skipped (nothing to do)."""
        report = (
            Report.objects.select_related("target_member", "target_message__channel")
            .filter(organization=self.organization, pk=pk)
            .first()
        )
        if report is None:
            raise DomainError("not_found", "The report no longer exists.")
        open_reports = list(report_group(report))
        if not open_reports:
            return
        action = self.spec.action
        message = report.target_message
        if action in (DELETE, HIDE, UNHIDE):
            if message is None:
                raise DomainError("invalid_parameter", "A reported user has no message.")
            self.on_message(message)
        elif action != DISMISS:
            self.on_member(report.target_member, message.channel if message else None)
        state = Report.State.DISMISSED if action == DISMISS else Report.State.ACTIONED
        for row in open_reports:
            try:
                report_resolve(actor=self.actor, report=row, state=state, reason=self.spec.reason)
            except DomainError:  # resolved meanwhile by someone else: theirs stands
                continue

    def _common(self) -> dict[str, Any]:
        return {"organization": self.organization, "actor": self.actor, "reason": self.spec.reason}


def bulk_apply(
    *,
    organization: Organization,
    actor: Actor,
    spec: BulkSpec,
    unit: str,
    targets: Sequence[Any],
    outcome: BulkOutcome | None = None,
    records: list[dict[str, Any]] | None = None,
) -> BulkOutcome:
    """Apply ``spec`` to each of ``targets`` (units of kind ``unit``), each in its own
    savepoint: a target a service refuses is counted as a failure with its message,
    rolled back alone, and the others go on. With ``records`` (a job's), each target
    that changed appends its state before and after (what :func:`bulk_job_undo` needs)."""
    bulk_check(unit=unit, spec=spec)
    outcome = outcome or BulkOutcome()
    applier = _Applier(organization=organization, actor=actor, spec=spec)
    for target in targets:
        try:
            with transaction.atomic():
                before = _unit_state(applier, unit, target) if records is not None else {}
                applier.apply(unit, target)
                if records is not None:
                    after = _unit_state(applier, unit, target, before)
                    if after != before:
                        records.append({"b": before, "x": after, "e": _entry_of(actor)})
        except DomainError as error:
            outcome.fail(target, error.message)
        else:
            outcome.done += 1
    return outcome


# --- jobs --------------------------------------------------------------------------------------


@transaction.atomic
def bulk_job_create(
    *,
    organization: Organization,
    account: Account,
    spec: BulkSpec,
    unit: str,
    targets: Sequence[Any],
) -> BulkJob:
    """Freeze a large selection as a job and queue its task once this commits."""
    bulk_check(unit=unit, spec=spec)
    limit = bulk_setting("BULK_MAX_TARGETS")
    if len(targets) > limit:
        raise DomainError("invalid_parameter", f"At most {limit:,} targets at a time.")
    job = BulkJob.objects.create(
        organization=organization,
        actor_account=account,
        actor_label=Actor(account=account).label[:255],
        action=spec.action,
        unit=unit,
        reason=spec.reason,
        params=spec.params(),
        targets=list(targets),
        total=len(targets),
    )
    publish_on_commit(TASK, job.pk, recovered_by="moderation.bulk_jobs_resume")
    return job


def bulk_job_get(*, organization: Organization, job_id: Any) -> BulkJob:
    """The organization's job (targets, undo records deferred), or DomainError(not_found)."""
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        pk = 0
    job = (
        BulkJob.objects.defer("targets", "undo").filter(organization=organization, pk=pk).first()
        if 0 < pk < 2**63
        else None
    )
    if job is None:
        raise DomainError("not_found", f"No bulk job {str(job_id)[:32]!r}.")
    return job


def bulk_jobs_recent(*, organization: Organization, limit: int = 20) -> list[BulkJob]:
    """The organization's latest jobs, newest first (without their targets)."""
    return list(
        BulkJob.objects.defer("targets", "failures", "undo")
        .filter(organization=organization)
        .order_by("-pk")[:limit]
    )


def bulk_job_run(*, job_pk: int, chunk_size: int | None = None) -> BulkJob | None:
    """Run the job's remaining chunks. Each chunk: claim the job row (``SKIP LOCKED``:
    another worker on it means this run stops), apply the next ``chunk_size`` targets,
    advance ``position`` and the counts, commit. Returns the job (None if it is gone or
    another worker holds it); a finished job is left as it is."""
    chunk_size = chunk_size or bulk_setting("BULK_CHUNK_SIZE")
    job = BulkJob.objects.filter(pk=job_pk).select_related("organization").first()
    if job is None or job.state == BulkJob.State.FINISHED:
        return job
    targets = list(job.targets or [])  # read once per run, not once per chunk
    organization = job.organization
    actor = Actor(account=job.actor_account) if job.actor_account_id else Actor.system()
    spec = BulkSpec.from_job(job) if job.unit != UNDO else BulkSpec(action=UNDO, reason="")
    while True:
        with transaction.atomic():
            locked = (
                BulkJob.objects.select_for_update(skip_locked=True)
                .defer("targets")
                .filter(pk=job_pk)
                .first()
            )
            if locked is None or locked.state == BulkJob.State.FINISHED:
                return locked
            start = locked.position
            chunk = targets[start : start + chunk_size]
            outcome = BulkOutcome()
            records: list[dict[str, Any]] = []
            if chunk and locked.unit == UNDO:
                _undo_records(
                    organization=organization,
                    actor=actor,
                    action=str((job.params or {}).get("action")),
                    records=chunk,
                    outcome=outcome,
                )
            elif chunk:
                bulk_apply(
                    organization=organization,
                    actor=actor,
                    spec=spec,
                    unit=locked.unit,
                    targets=chunk,
                    outcome=outcome,
                    records=records,
                )
            if records:
                undo = locked.undo or {}
                locked.undo = {**undo, "records": [*(undo.get("records") or []), *records]}
            kept = max(0, MAX_FAILURES_KEPT - len(locked.failures or []))
            locked.failures = [*(locked.failures or []), *outcome.failures[:kept]]
            locked.position = start + len(chunk)
            locked.done += outcome.done
            locked.failed += outcome.failed
            finished = locked.position >= locked.total
            locked.state = BulkJob.State.FINISHED if finished else BulkJob.State.RUNNING
            locked.finished_at = timezone.now() if finished else None
            locked.save(
                update_fields=[
                    "undo",
                    "failures",
                    "position",
                    "done",
                    "failed",
                    "state",
                    "finished_at",
                    "updated_at",
                ]
            )
        if finished:
            return locked


def bulk_jobs_resume(*, stale_after: timedelta = STALE_AFTER) -> int:
    """Re-queue unfinished jobs not touched for ``stale_after`` (their task was lost, or
    their worker died): a running job resumes at its first unfinished chunk. Returns how
    many were queued (beat)."""
    cutoff = timezone.now() - stale_after
    pks = list(
        BulkJob.objects.exclude(state=BulkJob.State.FINISHED)
        .filter(updated_at__lt=cutoff)
        .values_list("pk", flat=True)[:100]
    )
    if pks:
        # Touch them so that the next beat run does not queue them again meanwhile.
        BulkJob.objects.filter(pk__in=pks).update(updated_at=timezone.now())
    for pk in pks:
        publish_on_commit(TASK, pk, recovered_by="moderation.bulk_jobs_resume")
    return len(pks)


# --- undo of a job -----------------------------------------------------------------------------


def _entry_of(actor: Actor) -> int | None:
    """The newest audit entry of ``actor`` (the one the unit just wrote)."""
    entries = AuditEntry.objects.order_by("-pk")
    if actor.account is not None:
        entries = entries.filter(actor_account=actor.account)
    return entries.values_list("pk", flat=True).first()


def _unit_state(
    applier: _Applier, unit: str, target: Any, before: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What ``spec.action`` changes on this unit, as JSON: ``m`` {messageId: deleted_at or
    hidden_at}, ``g`` [userId, global ban], ``u`` [channel pk, userId, mute or channel
    ban], ``r`` {report pk: state} (the group's open reports ``before``)."""
    organization, action = applier.organization, applier.spec.action
    state: dict[str, Any] = {}
    message: Message | None = None
    member: Member | None = None
    channel: Channel | None = None
    if unit == REPORT:
        report = (
            Report.objects.select_related("target_member", "target_message__channel")
            .filter(organization=organization, pk=int(target))
            .first()
        )
        if report is None:
            return state
        pks = list((before or {}).get("r") or [r.pk for r in report_group(report)])
        state["r"] = {
            str(r.pk): state_dump(r, REOPEN_FIELDS)
            for r in Report.objects.filter(organization=organization, pk__in=pks)
        }
        message, member = report.target_message, report.target_member
        channel = message.channel if message is not None else None
    elif unit == MESSAGE:
        message = Message.objects.filter(organization=organization, pk=int(target)).first()
    else:
        member_pk = target[0] if unit == MEMBER_CHANNEL else target
        member = Member.objects.filter(organization=organization, pk=int(member_pk)).first()
        channel_pk = target[1] if unit == MEMBER_CHANNEL else applier.spec.channel_pk
        if channel_pk is not None:
            channel = Channel.objects.filter(organization=organization, pk=int(channel_pk)).first()
    if action in (DELETE, HIDE, UNHIDE) and message is not None:
        field = "deleted_at" if action == DELETE else "hidden_at"
        value = Message.objects.filter(pk=message.pk).values_list(field, flat=True).first()
        state["m"] = {str(message.public_id): value.isoformat() if value else None}
    elif action == GLOBAL_BAN and member is not None:
        fresh = Member.objects.get(pk=member.pk)
        state["g"] = [member.user_id, state_dump(fresh, BAN_FIELDS)]
    elif action in (MUTE, CHANNEL_BAN) and member is not None and channel is not None:
        fields = MUTE_FIELDS if action == MUTE else CHANNEL_BAN_FIELDS
        row = Membership.objects.filter(channel=channel, member=member).first()
        empty = {f: "" if f == "ban_reason" else None for f in fields}
        state["u"] = [channel.pk, member.user_id, state_dump(row, fields) if row else empty]
    return state


def _record_label(record: dict[str, Any]) -> str:
    before = record.get("b") or {}
    part = next((before[k] for k in ("m", "g", "u", "r") if k in before), {"?": None})
    return ", ".join(part) if isinstance(part, dict) else str(part[-2])


def _undo_record(
    *, organization: Organization, actor: Actor, action: str, record: dict[str, Any]
) -> None:
    """Put one target back as it was before the job (DomainError: it changed since)."""
    before, after, undoes = record["b"], record["x"], record.get("e")
    if before.get("m") is not None and before["m"] != after.get("m"):
        MESSAGES_RESTORES[action](
            organization=organization,
            actor=actor,
            expected=stamps_load(after["m"]),
            restore=stamps_load(before["m"]),
            undoes=undoes,
        )
    if before.get("g") is not None and before["g"] != after.get("g"):
        user_id = before["g"][0]
        member = Member.objects.filter(organization=organization, user_id=user_id).first()
        if member is None:
            raise DomainError("conflict", f"No user {user_id!r} any more.")
        member_ban_restore(
            member=member,
            actor=actor,
            expected=state_load(after["g"][1]),
            restore=state_load(before["g"][1]),
            undoes=undoes,
        )
    if before.get("u") is not None and before["u"] != after.get("u"):
        channel_pk, user_id, state = before["u"]
        channel = Channel.objects.filter(organization=organization, pk=channel_pk).first()
        if channel is None:
            raise DomainError("conflict", "The channel no longer exists.")
        CHANNEL_USERS_RESTORES[action](
            channel=channel,
            actor=actor,
            expected={user_id: state_load(after["u"][2])},
            restore={user_id: state_load(state)},
            undoes=undoes,
        )
    reopen = {
        int(pk): state_load(after["r"][pk])
        for pk, was in (before.get("r") or {}).items()
        if was["state"] == Report.State.OPEN and (after.get("r") or {}).get(pk, was) != was
    }
    if reopen:
        reports_reopen(actor=actor, organization=organization, expected=reopen, undoes=undoes)


def _undo_records(
    *,
    organization: Organization,
    actor: Actor,
    action: str,
    records: Sequence[dict[str, Any]],
    outcome: BulkOutcome,
) -> None:
    """Undo a chunk of records, each in its own savepoint (as :func:`bulk_apply`)."""
    for record in records:
        try:
            with transaction.atomic():
                _undo_record(organization=organization, actor=actor, action=action, record=record)
        except DomainError as error:
            outcome.fail(_record_label(record), error.message)
        else:
            outcome.done += 1


def bulk_undo_until(job: BulkJob) -> datetime | None:
    """Until when the job may be undone (None: never: unfinished, an undo, nothing done)."""
    if job.finished_at is None or job.unit == UNDO or not (job.undo or {}).get("records"):
        return None
    return job.finished_at + timedelta(seconds=int(settings.CHATADMIN["CONSOLE_UNDO_SECONDS"]))


def bulk_job_undoable(job: BulkJob, account_pk: int | None) -> bool:
    """Whether ``account_pk`` may undo ``job`` now (its actor, in time, not undone yet)."""
    until = bulk_undo_until(job)
    return (
        until is not None
        and timezone.now() <= until
        and account_pk is not None
        and job.actor_account_id == account_pk
        and not (job.undo or {}).get("by")
    )


@transaction.atomic
def bulk_job_undo(*, organization: Organization, job_id: Any, account: Account) -> BulkJob:
    """Queue the undo of the organization's finished job ``job_id`` as a job of its own
    (returned); DomainError: not found, not its actor's, too late, already undone."""
    job = bulk_job_get(organization=organization, job_id=job_id)
    job = BulkJob.objects.select_for_update().get(pk=job.pk)
    until = bulk_undo_until(job)
    if job.actor_account_id != account.pk:
        raise DomainError("forbidden", "Only the moderator who did it may undo a bulk action.")
    if (job.undo or {}).get("by"):
        raise DomainError("conflict", "This bulk action was already undone.")
    if until is None:
        raise DomainError("conflict", "This bulk action has nothing to undo (yet).")
    if timezone.now() > until:
        seconds = int(settings.CHATADMIN["CONSOLE_UNDO_SECONDS"])
        raise DomainError(
            "conflict", f"Too late to undo: undo is possible for {seconds} s after the job."
        )
    records = list(reversed(job.undo["records"]))  # the latest first (a target done twice)
    undo = BulkJob.objects.create(
        organization=organization,
        actor_account=account,
        actor_label=Actor(account=account).label[:255],
        action=UNDO,
        unit=UNDO,
        reason=f"undo of bulk action {job.pk}",
        params={"undoes": job.pk, "action": job.action},
        targets=records,
        total=len(records),
    )
    job.undo = {**job.undo, "by": undo.pk}
    job.save(update_fields=["undo", "updated_at"])
    publish_on_commit(TASK, undo.pk, recovered_by="moderation.bulk_jobs_resume")
    return undo
