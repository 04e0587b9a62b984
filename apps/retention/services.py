"""Closing channels, purging what they held, and scheduled deletion (DESIGN.md invariant
3: irreversible actions are two-phase).

Closing hides a channel and its messages and detaches its members in one transaction, at
once; the ``channels.channel_purge`` task then deletes the rows and files in batches. A
scheduled deletion is a timestamp: once due, the channel is gone for every read and
write, and the sweep claims and purges it. Every step is idempotent, audited, and emits
its event in the same transaction. Tasks are queued by name (apps.core.publishing).

``Channel.scheduled_deletion_at`` is written here only
(:func:`channel_scheduled_deletion_write`): by an admin's schedule
(:func:`channel_scheduled_deletion_set`), by the chatroom service's delete (now + the
organization's grace) and by a calendar event (its end + the retention).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record, check_reason
from apps.channels.models import Channel, ChannelTag, Membership, membership_current_q
from apps.channels.selectors.channels import channel_is_gone
from apps.channels.services.channels import (
    AUDIT_TARGET,
    channel_event_record,
    channel_lock_for_write,
    channel_not_found_error,
)
from apps.core.errors import DomainError
from apps.core.publishing import publish_on_commit
from apps.core.sweeps import iso as _iso
from apps.core.sweeps import sweep_batch_size
from apps.events.models import EventType
from apps.messages.models import Message, MessageFile, Reaction
from apps.retention.purge import PurgeResult, purge_channel_messages

logger = logging.getLogger(__name__)


@transaction.atomic
def channel_close(*, channel: Channel, actor: Actor, reason: str = "") -> Channel:
    """Close the channel for good, in one transaction: hide it, detach every member, make
    its messages invisible (message_count 0) and audit the counts. The messages' rows and
    files, and the chatroom's avatar file, are purged afterwards by the ``channel_purge``
    task (queued on commit): a closed channel is gone for good.

    Closing a closed channel is refused with 409 ``conflict`` (nothing is written).
    """
    reason = check_reason(reason)
    locked = Channel.objects.select_for_update().filter(pk=channel.pk).first()
    if locked is None or channel_is_gone(locked):
        raise channel_not_found_error(channel)
    if locked.is_closed:
        raise DomainError("conflict", f"Channel {locked.channel_id!r} is already closed.")
    channel = locked
    now = timezone.now()
    members = Membership.objects.filter(membership_current_q(), channel=channel)
    members_removed = members.update(joined_at=None)
    # The services keep message_count exact; counting rows would grow with the channel.
    messages_removed = channel.message_count
    before = {"memberCount": channel.member_count, "messageCount": channel.message_count}
    channel.closed_at = now
    channel.member_count = 0
    channel.message_count = 0
    channel.save(update_fields=["closed_at", "member_count", "message_count", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.close",
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        reason=reason,
        before=before,
        after={
            "closedAt": _iso(now),
            "membersRemoved": members_removed,
            "messagesRemoved": messages_removed,
        },
    )
    channel_event_record(
        channel,
        EventType.CHANNEL_CLOSED,
        actor,
        reason=reason,
        closedAt=_iso(now),
        membersRemoved=members_removed,
        messagesRemoved=messages_removed,
    )
    # Never fails the close: a purge the broker could not take is re-queued by the sweep.
    publish_on_commit(
        "channels.channel_purge", channel.pk, recovered_by="channels.channel_purge_sweep"
    )
    return channel


def channel_avatar_purge(*, channel_pk: int) -> str:
    """Delete the stored avatar file of a channel that is no longer live, then forget it
    (``avatar = ""``). Returns the name of the file deleted, or "" when there was none.

    The one way an avatar goes with its channel: after the chatroom service's delete
    commits (:func:`apps.channels.services.chatrooms.chatroom_remove_locked`), in the purge of a
    closed channel (:func:`channel_purge_messages`) and in the purge of a scheduled
    deletion (:func:`channel_scheduled_deletion_finish`). Like the message files in
    ``apps.retention.purge``, the file is deleted BEFORE the row stops naming it, and
    deleting a missing file is not an error: a worker killed in between leaves a row that
    names a missing file, which the next run (or the purge) clears harmlessly; a file is
    never left in storage without a row that names it. Storage errors propagate (the
    purge tasks retry them). Never call it on a live chatroom: its avatar would vanish.
    """
    name = Channel.objects.filter(pk=channel_pk).values_list("avatar", flat=True).first()
    if not name:
        return ""
    Channel._meta.get_field("avatar").storage.delete(name)
    # conditional: only the name whose file was just deleted is forgotten
    Channel.objects.filter(pk=channel_pk, avatar=name).update(avatar="")
    logger.info("deleted the avatar file %s of channel %s", name, channel_pk)
    return name


def channel_purge_messages(*, channel: Channel, batch_size: int | None = None) -> int:
    """Delete a closed channel's messages (rows, everything under them, stored files) in
    batches (``settings.CHATADMIN["PURGE_BATCH_SIZE"]`` unless given) and its avatar file
    (:func:`channel_avatar_purge`), then record ONE ``channel.purge`` audit entry by the
    system actor with the exact counts.

    Idempotent and safe to interrupt (see ``apps.retention.purge``): each batch adds its
    counts to ``Channel.purge_counts`` in its own transaction, so when a rerun finishes
    what a killed run left, the one audit entry holds the exact totals of all runs. A
    finished purge (``purged_at`` set) records nothing more. Returns the number of
    messages this call deleted. Does nothing on an open channel.
    """
    if not channel.is_closed:
        return 0
    result = purge_channel_messages(channel=channel, batch_size=batch_size)
    channel_avatar_purge(channel_pk=channel.pk)
    with transaction.atomic():
        locked = Channel.objects.select_for_update().filter(pk=channel.pk).first()
        if locked is None or locked.purged_at is not None:
            return result.messages
        if locked.messages.exists():  # a concurrent purge is still at work; it finishes
            return result.messages
        locked.purged_at = timezone.now()
        locked.save(update_fields=["purged_at"])
        totals = PurgeResult(**locked.purge_counts)
        if totals.deleted_anything:
            audit_record(
                organization=locked.organization,
                actor=Actor.system(),
                action="channel.purge",
                target_type=AUDIT_TARGET,
                target_id=locked.channel_id,
                after=totals.as_dict(),
            )
    return result.messages


# --- scheduled deletion ---------------------------------------------------------------------

#: The furthest ahead a scheduled deletion may be set (ten years, like the longest mute).
MAX_SCHEDULED_DELETION = timedelta(days=10 * 365)
#: A claimed deletion whose purge has not finished after this long is taken over by the
#: next sweep (its worker died); a slower purge is at worst joined by a second one, which
#: is harmless (every step is idempotent).
DELETION_LEASE = timedelta(minutes=10)


def channel_scheduled_deletion_write(
    channel: Channel, *, at: datetime | None, update_fields: Sequence[str] = ()
) -> None:
    """The one writer of ``Channel.scheduled_deletion_at``: set it to ``at`` (None
    clears it) on ``channel``, a row the caller has locked in its transaction, and save
    it in one UPDATE with the other ``update_fields`` the caller changed on the row.
    The caller validates ``at`` and records its own audit entry and event."""
    channel.scheduled_deletion_at = at
    channel.save(update_fields=[*update_fields, "scheduled_deletion_at", "updated_at"])


@transaction.atomic
def channel_scheduled_deletion_set(
    *, channel: Channel, actor: Actor, at: datetime | None
) -> Channel:
    """Schedule the channel's deletion at ``at`` (timezone-aware; a time in the past means
    now, at most ten years ahead), or clear it with None. Once the time has passed the
    channel is gone for every read and write (404 ``channel_not_found``) and the sweep
    purges it. Refused on a closed channel (403) like every other write.
    """
    channel = channel_lock_for_write(channel)
    now = timezone.now()
    if at is not None:
        if at.tzinfo is None:
            raise DomainError(
                "invalid_parameter",
                "scheduledDeletion must include a timezone (e.g. Z).",
                field="scheduledDeletion",
            )
        if at > now + MAX_SCHEDULED_DELETION:
            raise DomainError(
                "invalid_parameter",
                "scheduledDeletion must be at most ten years ahead.",
                field="scheduledDeletion",
            )
        at = max(at, now)
    before = _iso(channel.scheduled_deletion_at)
    channel_scheduled_deletion_write(channel, at=at)
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.scheduledDeletion.clear" if at is None else "channel.scheduledDeletion",
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        before={"scheduledDeletion": before},
        after={"scheduledDeletion": _iso(at)},
    )
    channel_event_record(channel, EventType.CHANNEL_UPDATED, actor, scheduledDeletion=_iso(at))
    return channel


def _deletion_due(now: datetime) -> Q:
    return Q(scheduled_deletion_at__isnull=False, scheduled_deletion_at__lte=now)


#: Claimed for deletion: the sweep closed it at or after its deletion time (an admin can
#: only close a channel before that time: afterwards it is gone).
_DELETION_CLAIMED = Q(closed_at__isnull=False, closed_at__gte=F("scheduled_deletion_at"))


def _deletion_counts(channel: Channel) -> dict[str, int]:
    """What deleting the channel removes (exact: the channel is locked and gone for every
    writer; rows under a message go with it by the database cascade)."""
    from apps.reports.models import Report

    return {
        "messages": Message.objects.filter(channel=channel).count(),
        "reactions": Reaction.objects.filter(message__channel=channel).count(),
        "files": MessageFile.objects.filter(message__channel=channel).count(),
        "reports": Report.objects.filter(target_message__channel=channel).count(),
        "members": Membership.objects.filter(membership_current_q(), channel=channel).count(),
    }


def channel_scheduled_deletions_claim(*, batch_size: int | None = None) -> list[int]:
    """Phase 1 of the scheduled deletions: for each due channel not yet claimed (at most
    ``batch_size``, oldest deadline first; one short transaction each, the row claimed
    with ``select_for_update(skip_locked=True)`` so concurrent sweeps take different
    channels), count what will go, record the ``channel.delete.scheduled`` audit entry
    by the system actor with those counts and a ``channel.deleted`` event, and close
    the channel (its claim marker; members detached, counters zeroed). Returns the pks
    claimed; :func:`channel_scheduled_deletion_finish` removes the rows.
    """
    size = sweep_batch_size(batch_size)
    system = Actor.system()
    claimed: list[int] = []
    for _ in range(size):
        with transaction.atomic():
            now = timezone.now()
            unclaimed = Q(closed_at__isnull=True) | Q(closed_at__lt=F("scheduled_deletion_at"))
            channel = (
                Channel.objects.filter(_deletion_due(now) & unclaimed)
                .select_related("organization")
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("scheduled_deletion_at", "pk")
                .first()
            )
            if channel is None:
                break
            counts = _deletion_counts(channel)
            Channel.objects.filter(pk=channel.pk).update(
                closed_at=now, member_count=0, message_count=0, updated_at=now
            )
            Membership.objects.filter(membership_current_q(), channel=channel).update(
                joined_at=None
            )
            audit_record(
                organization=channel.organization,
                actor=system,
                action="channel.delete.scheduled",
                target_type=AUDIT_TARGET,
                target_id=channel.channel_id,
                before={
                    "scheduledDeletion": _iso(channel.scheduled_deletion_at),
                    "memberCount": channel.member_count,
                    "messageCount": channel.message_count,
                },
                after={"deletedAt": _iso(now), **counts},
            )
            channel_event_record(
                channel,
                EventType.CHANNEL_DELETED,
                system,
                scheduledDeletion=_iso(channel.scheduled_deletion_at),
                deletedAt=_iso(now),
                counts=counts,
            )
            claimed.append(channel.pk)
    return claimed


def channel_purges_pending(*, limit: int = 100) -> list[int]:
    """Closed channels whose purge is unfinished: message rows left, or an avatar file
    (a lost task, a worker killed before the avatar went). A claimed scheduled deletion
    (:data:`_DELETION_CLAIMED`) is its own sweep's unless it still has messages. For the
    beat task that re-queues their purge."""

    has_messages = Exists(Message.objects.filter(channel=OuterRef("pk")))
    # not _DELETION_CLAIMED, spelt out: a NULL scheduled_deletion_at is not claimed
    not_claimed = Q(scheduled_deletion_at__isnull=True) | Q(
        closed_at__lt=F("scheduled_deletion_at")
    )
    return list(
        Channel.objects.filter(closed_at__isnull=False)
        .filter(has_messages | (~Q(avatar="") & not_claimed))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def channel_scheduled_deletions_stalled(*, limit: int = 100) -> list[int]:
    """Claimed deletions whose rows are still there after :data:`DELETION_LEASE` (their
    worker died): each is taken over (lease renewed by a conditional UPDATE, so only
    one sweep takes it) and returned for :func:`channel_scheduled_deletion_finish`."""
    now = timezone.now()
    stalled = Channel.objects.filter(
        _deletion_due(now) & _DELETION_CLAIMED, updated_at__lte=now - DELETION_LEASE
    )
    taken: list[int] = []
    for pk in stalled.order_by("scheduled_deletion_at", "pk").values_list("pk", flat=True)[:limit]:
        if Channel.objects.filter(pk=pk, updated_at__lte=now - DELETION_LEASE).update(
            updated_at=now
        ):
            taken.append(pk)
    return taken


def channel_scheduled_deletion_finish(*, channel_pk: int, batch_size: int | None = None) -> bool:
    """Phase 2: delete a claimed channel's messages (stored files from storage first,
    then the rows in batches; reactions, files, tags, reports go by the database
    cascade) and its avatar file (:func:`channel_avatar_purge`), then its memberships,
    tags and the channel row. Idempotent and safe to interrupt: a rerun finishes what is
    left. Returns True when the row was deleted.
    """

    now = timezone.now()
    channel = Channel.objects.filter(_deletion_due(now) & _DELETION_CLAIMED, pk=channel_pk).first()
    if channel is None:
        return False
    purge_channel_messages(channel=channel, batch_size=batch_size)
    channel_avatar_purge(channel_pk=channel_pk)
    with transaction.atomic():
        locked = (
            Channel.objects.filter(_DELETION_CLAIMED, pk=channel_pk)
            .select_for_update(skip_locked=True)
            .first()
        )
        if locked is None or Message.objects.filter(channel=locked).exists():
            return False  # taken by a concurrent run, or a message slipped in: next run
        Membership.objects.filter(channel=locked).delete()
        ChannelTag.objects.filter(channel=locked).delete()
        Channel.objects.filter(pk=locked.pk).delete()
    logger.info("deleted channel %s (%s) as scheduled", channel.channel_id, channel_pk)
    return True
