"""A channel's archived and deleted states, changed by an actor that acts for the
organization (the console's staff), not by a member for itself.

The messaging API changes the same states as a member (:func:`apps.channels.services.
conversations.conversation_state_set`, with its permission check); these functions are
for a door that has already decided who may act (the console checks the staff role),
and write the same audit actions (``channel.undelete``, ``channel.unarchive``; archiving
is :func:`apps.channels.services.conversations.channel_archive`) and the same events.

Undeleting is possible while the deletion's grace period lasts: a deleted channel is
purged by the scheduled-deletion sweep at ``scheduled_deletion_at`` (the deletion time +
the organization's ``chatroom_deletion_grace_seconds``); once that time has passed the
channel is gone and cannot be restored (409 ``conflict``, saying so and when the grace
ended), even when the sweep has not run yet.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.services.channels import channel_not_found_error
from apps.channels.services.conversations import channel_state_write
from apps.core.errors import DomainError


def channel_grace_ends_at(channel: Channel) -> datetime | None:
    """When a deleted channel can no longer be undeleted (its purge time), or None when it
    is not deleted."""
    if channel.deleted_at is None:
        return None
    return channel.scheduled_deletion_at


def channel_can_undelete(channel: Channel, now: datetime | None = None) -> bool:
    """True for a deleted channel whose grace period has not ended (and not closed)."""
    if channel.deleted_at is None or channel.closed_at is not None:
        return False
    ends = channel.scheduled_deletion_at
    return ends is None or ends > (now or timezone.now())


def _lock(channel: Channel) -> Channel:
    """The channel re-read under a lock: 404 when it was purged meanwhile, 403 when it
    is closed."""
    locked = (
        Channel.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(pk=channel.pk)
        .first()
    )
    if locked is None:
        raise channel_not_found_error(channel)
    if locked.is_closed:
        raise DomainError("channel_closed", f"Channel {locked.channel_id!r} is closed.")
    return locked


@transaction.atomic
def channel_undelete(*, channel: Channel, actor: Actor, reason: str = "") -> Channel:
    """Restore a deleted channel while its grace period lasts: clears ``deleted_at`` and
    the scheduled deletion (memberships were kept, so it is back as it was). Audited
    ``channel.undelete``, event ``channel.undeleted`` (as the messaging API's undelete).

    A channel that is not deleted is 409 ``conflict`` (the caller is told); one whose
    grace period has ended is 409 ``conflict`` too, with when it ended: the purge
    removes it and it cannot be restored."""
    locked = _lock(channel)
    if locked.deleted_at is None:
        raise DomainError("conflict", f"Channel {locked.channel_id!r} is not deleted.")
    now = timezone.now()
    ends = locked.scheduled_deletion_at
    if ends is not None and ends <= now:
        raise DomainError(
            "conflict",
            f"Channel {locked.channel_id!r} can no longer be restored: its grace period "
            f"ended at {ends:%Y-%m-%d %H:%M} UTC and it is being purged.",
        )
    return channel_state_write(locked, actor, "undelete", reason=reason)


@transaction.atomic
def channel_unarchive(*, channel: Channel, actor: Actor, reason: str = "") -> Channel:
    """Make an archived channel writable again. Audited ``channel.unarchive``, event
    ``channel.unarchived``; a channel that is not archived is 409 ``conflict``; a deleted
    one 404 (restore it first)."""
    locked = _lock(channel)
    if locked.deleted_at is not None:
        raise channel_not_found_error(locked)
    if locked.archived_at is None:
        raise DomainError("conflict", f"Channel {locked.channel_id!r} is not archived.")
    return channel_state_write(locked, actor, "unarchive", reason=reason)
