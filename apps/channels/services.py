"""Writes on channels: create, rename, membership, mutes, bans, close, scheduled
deletion, purge, and the sweeps that make expiries final.

Every function is keyword-only, atomic, and records an audit entry and a domain event
(the outbox) in the same transaction (DESIGN.md invariants 3 and 4). Mutes and bans are
timestamps: a null expiry means "until lifted". Closed channels refuse every write (403
``channel_closed``); a channel whose scheduled deletion time has passed is gone (404
``channel_not_found``) before any sweep ran.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel, ChannelTag, Membership
from apps.channels.selectors import channel_current_member_count, channel_is_gone, membership_map
from apps.core.errors import DomainError
from apps.core.publishing import publish_on_commit
from apps.core.sweeps import iso as _iso
from apps.core.sweeps import sweep_batch_size, sweep_expired
from apps.events.models import EventType
from apps.events.services import event_record
from apps.members.models import Member
from apps.members.services import ban_window, members_resolve
from apps.organizations.models import Organization

logger = logging.getLogger(__name__)

#: mutePeriod: 0 lifts the mute, -1 mutes until lifted, > 0 mutes for that many ms.
MUTE_FOREVER = -1
#: The longest timed mute accepted (ten years, in milliseconds).
MAX_MUTE_PERIOD_MS = 10 * 365 * 24 * 3600 * 1000

_TARGET = "channel"


def _not_found(channel: Channel) -> DomainError:
    return DomainError(
        "channel_not_found", f"No channel with channelId {channel.channel_id!r}.", field="channelId"
    )


def _lock(channel: Channel) -> Channel:
    """Re-read the channel row under a lock (a no-op lock on SQLite); refuse if its
    scheduled deletion came due meanwhile (404) or if it is closed (403)."""
    locked = Channel.objects.select_for_update().filter(pk=channel.pk).first()
    if locked is None or channel_is_gone(locked):
        raise _not_found(channel)
    if locked.is_closed:
        raise DomainError("channel_closed", f"Channel {locked.channel_id!r} is closed.")
    return locked


def _event(channel: Channel, type: str, actor: Actor, **extra: Any) -> None:
    """An outbox event about the channel, in the caller's transaction."""
    event_record(
        organization=channel.organization,
        type=type,
        payload={
            "organization": channel.organization.slug,
            "channelId": channel.channel_id,
            "actor": actor.label,
            **extra,
        },
    )


def _mute_window(*, mute_period: int, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(muted_at, mute_expires_at) for a mutePeriod in milliseconds."""
    if mute_period == 0:
        return None, None
    if mute_period == MUTE_FOREVER:
        return now, None
    if mute_period < 0 or mute_period > MAX_MUTE_PERIOD_MS:
        raise DomainError(
            "invalid_parameter",
            f"mutePeriod must be 0, -1 or between 1 and {MAX_MUTE_PERIOD_MS} milliseconds.",
            field="mutePeriod",
        )
    return now, now + timedelta(milliseconds=mute_period)


def _mute_state(muted_at: datetime | None, expires_at: datetime | None, now: datetime) -> dict:
    active = muted_at is not None and (expires_at is None or expires_at > now)
    return {"isMuted": active, "muteTimeout": _iso(expires_at) if active else None}


def _recount_members(channel: Channel) -> None:
    channel.member_count = channel_current_member_count(channel=channel)


def _refuse_banned(*, channel: Channel, user_ids: Sequence[str], now: datetime) -> None:
    """403 user_banned if any of these userIds has an active ban in the channel."""
    rows = (
        Membership.objects.filter(
            channel=channel, member__user_id__in=list(user_ids), banned_at__isnull=False
        )
        .filter(Q(ban_expires_at__isnull=True) | Q(ban_expires_at__gt=now))
        .values_list("member__user_id", flat=True)
    )
    banned = sorted(rows)
    if banned:
        raise DomainError(
            "user_banned",
            f"Banned from {channel.channel_id!r}: {', '.join(banned[:20])}.",
            field="userIds",
        )


def _join(*, channel: Channel, members: Sequence[Member], now: datetime) -> list[Member]:
    """Make ``members`` current members; returns those who were not members before."""
    existing = membership_map(channel=channel, members=members)
    joined: list[Member] = []
    new_rows: list[Membership] = []
    rejoin: list[int] = []
    for member in members:
        row = existing.get(member.pk)
        if row is None:
            new_rows.append(
                Membership(
                    organization_id=channel.organization_id,
                    channel=channel,
                    member=member,
                    joined_at=now,
                )
            )
            joined.append(member)
        elif row.joined_at is None:
            rejoin.append(row.pk)
            joined.append(member)
    if new_rows:
        Membership.objects.bulk_create(new_rows)
    if rejoin:
        Membership.objects.filter(pk__in=rejoin).update(joined_at=now)
    return joined


def _ensure_rows(*, channel: Channel, members: Sequence[Member]) -> dict[int, Membership]:
    """Membership rows for every member (created without joined_at if missing)."""
    rows = membership_map(channel=channel, members=members)
    missing = [
        Membership(organization_id=channel.organization_id, channel=channel, member=m)
        for m in members
        if m.pk not in rows
    ]
    if missing:
        Membership.objects.bulk_create(missing)
        rows = membership_map(channel=channel, members=members)
    return rows


@transaction.atomic
def channel_create(
    *,
    organization: Organization,
    actor: Actor,
    channel_id: str,
    type: str = Channel.Type.STANDARD,
    display_name: str = "",
    metadata: dict[str, Any] | None = None,
    tags: Sequence[str] = (),
    user_ids: Sequence[str] = (),
) -> Channel:
    """A new channel with its tags and initial members (unknown userIds are provisioned).

    ``display_name`` defaults to the channelId. 409 ``channel_exists`` if taken.
    """
    if Channel.objects.filter(organization=organization, channel_id=channel_id).exists():
        raise DomainError(
            "channel_exists", f"A channel {channel_id!r} already exists.", field="channelId"
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            channel = Channel.objects.create(
                organization=organization,
                channel_id=channel_id,
                type=type,
                display_name=display_name or channel_id,
                metadata=metadata or {},
                last_activity_at=now,
            )
    except IntegrityError as exc:  # a concurrent create won the race
        raise DomainError(
            "channel_exists", f"A channel {channel_id!r} already exists.", field="channelId"
        ) from exc
    tag_names = list(dict.fromkeys(tags))
    ChannelTag.objects.bulk_create([ChannelTag(channel=channel, name=t) for t in tag_names])
    members = members_resolve(organization=organization, user_ids=list(user_ids), actor=actor)
    _join(channel=channel, members=members, now=now)
    channel.member_count = len(members)
    channel.save(update_fields=["member_count"])
    audit_record(
        organization=organization,
        actor=actor,
        action="channel.create",
        target_type=_TARGET,
        target_id=channel_id,
        after={
            "type": channel.type,
            "displayName": channel.display_name,
            "metadata": channel.metadata,
            "tags": tag_names,
            "userIds": [m.user_id for m in members],
        },
    )
    user_id_list = [m.user_id for m in members]
    _event(channel, EventType.CHANNEL_CREATED, actor, userIds=user_id_list, createdAt=_iso(now))
    if user_id_list:
        _event(channel, EventType.MEMBER_JOINED, actor, userIds=user_id_list, joinedAt=_iso(now))
    return channel


@transaction.atomic
def channel_display_name_set(*, channel: Channel, actor: Actor, display_name: str) -> Channel:
    channel = _lock(channel)
    before = channel.display_name
    channel.display_name = display_name
    channel.save(update_fields=["display_name", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.displayName",
        target_type=_TARGET,
        target_id=channel.channel_id,
        before={"displayName": before},
        after={"displayName": display_name},
    )
    _event(channel, EventType.CHANNEL_UPDATED, actor, displayName=display_name)
    return channel


@transaction.atomic
def channel_users_add(*, channel: Channel, actor: Actor, user_ids: Sequence[str]) -> Channel:
    """Join these users (provisioned if unknown). Refused, with nothing written, if the
    channel is closed (403 channel_closed) or any user is banned from it (403 user_banned)."""
    channel = _lock(channel)
    now = timezone.now()
    _refuse_banned(channel=channel, user_ids=user_ids, now=now)
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    joined = _join(channel=channel, members=members, now=now)
    before = channel.member_count
    _recount_members(channel)
    channel.last_activity_at = now
    channel.save(update_fields=["member_count", "last_activity_at", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.add",
        target_type=_TARGET,
        target_id=channel.channel_id,
        before={"memberCount": before},
        after={"memberCount": channel.member_count, "userIds": [m.user_id for m in joined]},
    )
    if joined:
        _event(
            channel,
            EventType.MEMBER_JOINED,
            actor,
            userIds=[m.user_id for m in joined],
            joinedAt=_iso(now),
        )
    return channel


@transaction.atomic
def channel_users_remove(*, channel: Channel, actor: Actor, user_ids: Sequence[str]) -> Channel:
    """Detach these users (their mute/ban state stays). Non-members are ignored."""
    channel = _lock(channel)
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    rows = Membership.objects.filter(
        channel=channel, member__in=[m.pk for m in members], joined_at__isnull=False
    )
    removed = list(rows.values_list("member__user_id", flat=True))
    rows.update(joined_at=None)
    before = channel.member_count
    _recount_members(channel)
    channel.save(update_fields=["member_count", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.remove",
        target_type=_TARGET,
        target_id=channel.channel_id,
        before={"memberCount": before},
        after={"memberCount": channel.member_count, "userIds": sorted(removed)},
    )
    if removed:
        _event(channel, EventType.MEMBER_LEFT, actor, userIds=sorted(removed))
    return channel


@transaction.atomic
def channel_mute(*, channel: Channel, actor: Actor, mute_period: int, reason: str = "") -> Channel:
    """Mute the channel (only admins may post) for ``mute_period`` ms; -1 until unmuted,
    0 unmutes."""
    channel = _lock(channel)
    now = timezone.now()
    muted_at, expires_at = _mute_window(mute_period=mute_period, now=now)
    before = _mute_state(channel.muted_at, channel.mute_expires_at, now)
    channel.muted_at, channel.mute_expires_at = muted_at, expires_at
    channel.save(update_fields=["muted_at", "mute_expires_at", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.unmute" if mute_period == 0 else "channel.mute",
        target_type=_TARGET,
        target_id=channel.channel_id,
        reason=reason,
        before=before,
        after={**_mute_state(muted_at, expires_at, now), "mutePeriod": mute_period},
    )
    if mute_period == 0:
        _event(channel, EventType.CHANNEL_UNMUTED, actor, reason=reason)
    else:
        _event(
            channel,
            EventType.CHANNEL_MUTED,
            actor,
            reason=reason,
            mutedAt=_iso(muted_at),
            muteExpiresAt=_iso(expires_at),
        )
    return channel


@transaction.atomic
def channel_users_mute(
    *,
    channel: Channel,
    actor: Actor,
    user_ids: Sequence[str],
    mute_period: int,
    reason: str = "",
) -> Channel:
    """Mute (or with 0 unmute) these users in the channel; non-members get a Membership
    row without ``joined_at`` so the mute holds if they join later."""
    channel = _lock(channel)
    now = timezone.now()
    muted_at, expires_at = _mute_window(mute_period=mute_period, now=now)
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    rows = _ensure_rows(channel=channel, members=members)
    before = {
        m.user_id: _mute_state(rows[m.pk].muted_at, rows[m.pk].mute_expires_at, now)["isMuted"]
        for m in members
    }
    Membership.objects.filter(pk__in=[r.pk for r in rows.values()]).update(
        muted_at=muted_at, mute_expires_at=expires_at
    )
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.unmute" if mute_period == 0 else "channel.users.mute",
        target_type=_TARGET,
        target_id=channel.channel_id,
        reason=reason,
        before={"isMuted": before},
        after={
            "userIds": [m.user_id for m in members],
            "mutePeriod": mute_period,
            **_mute_state(muted_at, expires_at, now),
        },
    )
    user_id_list = [m.user_id for m in members]
    if mute_period == 0:
        _event(channel, EventType.USER_UNMUTED, actor, userIds=user_id_list, reason=reason)
    else:
        _event(
            channel,
            EventType.USER_MUTED,
            actor,
            userIds=user_id_list,
            reason=reason,
            mutedAt=_iso(muted_at),
            muteExpiresAt=_iso(expires_at),
        )
    return channel


@transaction.atomic
def channel_users_ban(
    *,
    channel: Channel,
    actor: Actor,
    user_ids: Sequence[str],
    reason: str = "",
    ban_period: int | None = None,
) -> Channel:
    """Ban these users until unbanned (``ban_period`` None or -1) or for ``ban_period``
    ms: they leave the channel at once and cannot be added again while the ban lasts;
    non-members are banned pre-emptively. An expired ban no longer counts at once; the
    sweep clears it (``channel_users_bans_expire``). The users are not re-added then."""
    banned_at, expires_at = ban_window(ban_period=ban_period, now=timezone.now())
    channel = _lock(channel)
    now = banned_at
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    rows = _ensure_rows(channel=channel, members=members)
    removed = sorted(m.user_id for m in members if rows[m.pk].joined_at is not None)
    Membership.objects.filter(pk__in=[r.pk for r in rows.values()]).update(
        banned_at=banned_at, ban_expires_at=expires_at, ban_reason=reason, joined_at=None
    )
    before = channel.member_count
    _recount_members(channel)
    channel.save(update_fields=["member_count", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.ban",
        target_type=_TARGET,
        target_id=channel.channel_id,
        reason=reason,
        before={"memberCount": before, "members": removed},
        after={
            "memberCount": channel.member_count,
            "userIds": [m.user_id for m in members],
            "banPeriod": ban_period or -1,
            "banExpiresAt": _iso(expires_at),
        },
    )
    _event(
        channel,
        EventType.MEMBER_BANNED,
        actor,
        userIds=[m.user_id for m in members],
        reason=reason,
        bannedAt=_iso(now),
        banExpiresAt=_iso(expires_at),
    )
    if removed:
        _event(channel, EventType.MEMBER_LEFT, actor, userIds=removed, reason="banned")
    return channel


@transaction.atomic
def channel_users_unban(*, channel: Channel, actor: Actor, user_ids: Sequence[str]) -> Channel:
    """Lift these users' bans; they are not re-added to the channel."""
    channel = _lock(channel)
    now = timezone.now()
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    rows = Membership.objects.filter(channel=channel, member__in=[m.pk for m in members])
    was_banned = sorted(
        row.member.user_id for row in rows.select_related("member") if row.is_banned(now)
    )
    rows.update(banned_at=None, ban_expires_at=None, ban_reason="")
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.unban",
        target_type=_TARGET,
        target_id=channel.channel_id,
        before={"banned": was_banned},
        after={"userIds": [m.user_id for m in members]},
    )
    _event(channel, EventType.MEMBER_UNBANNED, actor, userIds=[m.user_id for m in members])
    return channel


@transaction.atomic
def channel_close(*, channel: Channel, actor: Actor, reason: str = "") -> Channel:
    """Close the channel for good, in one transaction: hide it, detach every member, make
    its messages invisible (message_count 0) and audit the counts. The messages' rows and
    files, and the chatroom's avatar file, are purged afterwards by the ``channel_purge``
    task (queued on commit): a closed channel is gone for good.

    Closing a closed channel is refused with 409 ``conflict`` (nothing is written).
    """

    from apps.channels.tasks import channel_purge

    locked = Channel.objects.select_for_update().filter(pk=channel.pk).first()
    if locked is None or channel_is_gone(locked):
        raise _not_found(channel)
    if locked.is_closed:
        raise DomainError("conflict", f"Channel {locked.channel_id!r} is already closed.")
    channel = locked
    now = timezone.now()
    members = Membership.objects.filter(channel=channel, joined_at__isnull=False)
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
        target_type=_TARGET,
        target_id=channel.channel_id,
        reason=reason,
        before=before,
        after={
            "closedAt": _iso(now),
            "membersRemoved": members_removed,
            "messagesRemoved": messages_removed,
        },
    )
    _event(
        channel,
        EventType.CHANNEL_CLOSED,
        actor,
        reason=reason,
        closedAt=_iso(now),
        membersRemoved=members_removed,
        messagesRemoved=messages_removed,
    )
    # Never fails the close: a purge the broker could not take is re-queued by the sweep.
    publish_on_commit(channel_purge, channel.pk, recovered_by="channels.channel_purge_sweep")
    return channel


def channel_avatar_purge(*, channel_pk: int) -> str:
    """Delete the stored avatar file of a channel that is no longer live, then forget it
    (``avatar = ""``). Returns the name of the file deleted, or "" when there was none.

    The one way an avatar goes with its channel: after the chatroom service's delete
    commits (:func:`apps.channels.chatrooms.chatroom_remove_locked`), in the purge of a
    closed channel (:func:`channel_purge_messages`) and in the purge of a scheduled
    deletion (:func:`channel_scheduled_deletion_finish`). Like the message files in
    ``apps.messages.purge``, the file is deleted BEFORE the row stops naming it, and
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

    Idempotent and safe to interrupt (see ``apps.messages.purge``): each batch adds its
    counts to ``Channel.purge_counts`` in its own transaction, so when a rerun finishes
    what a killed run left, the one audit entry holds the exact totals of all runs. A
    finished purge (``purged_at`` set) records nothing more. Returns the number of
    messages this call deleted. Does nothing on an open channel.
    """
    from apps.messages.purge import PurgeResult, purge_channel_messages

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
                target_type=_TARGET,
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


@transaction.atomic
def channel_scheduled_deletion_set(
    *, channel: Channel, actor: Actor, at: datetime | None
) -> Channel:
    """Schedule the channel's deletion at ``at`` (timezone-aware; a time in the past means
    now, at most ten years ahead), or clear it with None. Once the time has passed the
    channel is gone for every read and write (404 ``channel_not_found``) and the sweep
    purges it. Refused on a closed channel (403) like every other write.
    """
    channel = _lock(channel)
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
    channel.scheduled_deletion_at = at
    channel.save(update_fields=["scheduled_deletion_at", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.scheduledDeletion.clear" if at is None else "channel.scheduledDeletion",
        target_type=_TARGET,
        target_id=channel.channel_id,
        before={"scheduledDeletion": before},
        after={"scheduledDeletion": _iso(at)},
    )
    _event(channel, EventType.CHANNEL_UPDATED, actor, scheduledDeletion=_iso(at))
    return channel


def _deletion_due(now: datetime) -> Q:
    return Q(scheduled_deletion_at__isnull=False, scheduled_deletion_at__lte=now)


#: Claimed for deletion: the sweep closed it at or after its deletion time (an admin can
#: only close a channel before that time: afterwards it is gone).
_DELETION_CLAIMED = Q(closed_at__isnull=False, closed_at__gte=F("scheduled_deletion_at"))


def _deletion_counts(channel: Channel) -> dict[str, int]:
    """What deleting the channel removes (exact: the channel is locked and gone for every
    writer; rows under a message go with it by the database cascade)."""
    from apps.messages.models import Message, MessageFile, Reaction
    from apps.moderation.models import Report

    return {
        "messages": Message.objects.filter(channel=channel).count(),
        "reactions": Reaction.objects.filter(message__channel=channel).count(),
        "files": MessageFile.objects.filter(message__channel=channel).count(),
        "reports": Report.objects.filter(target_message__channel=channel).count(),
        "members": Membership.objects.filter(channel=channel, joined_at__isnull=False).count(),
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
            Membership.objects.filter(channel=channel, joined_at__isnull=False).update(
                joined_at=None
            )
            audit_record(
                organization=channel.organization,
                actor=system,
                action="channel.delete.scheduled",
                target_type=_TARGET,
                target_id=channel.channel_id,
                before={
                    "scheduledDeletion": _iso(channel.scheduled_deletion_at),
                    "memberCount": channel.member_count,
                    "messageCount": channel.message_count,
                },
                after={"deletedAt": _iso(now), **counts},
            )
            _event(
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
    from apps.messages.models import Message

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
    from apps.messages.models import Message
    from apps.messages.purge import purge_channel_messages

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


# --- expiry sweeps ---------------------------------------------------------------------------
# Each claims a batch of expired rows with select_for_update(skip_locked=True) (the
# partial indexes on the expiry columns, so idle channels are reached as fast as busy
# ones), lifts each row with an UPDATE whose WHERE repeats the expiry condition (so a
# concurrent sweep, or an admin who renewed the mute meanwhile, is never overridden and
# each expiry is audited once), and records an audit entry by the system actor and an
# event per lifted row, in the same short transaction.


def channel_mutes_expire(*, batch_size: int | None = None) -> int:
    """Lift expired channel mutes (``channel.unmute.expired``, ``channel.unmuted``)."""
    system = Actor.system()

    def lift(channel: Channel) -> None:
        audit_record(
            organization=channel.organization,
            actor=system,
            action="channel.unmute.expired",
            target_type=_TARGET,
            target_id=channel.channel_id,
            before={
                "mutedAt": _iso(channel.muted_at),
                "muteTimeout": _iso(channel.mute_expires_at),
            },
            after={"isMuted": False, "muteTimeout": None},
        )
        _event(
            channel,
            EventType.CHANNEL_UNMUTED,
            system,
            reason="expired",
            mutedAt=_iso(channel.muted_at),
            expiredAt=_iso(channel.mute_expires_at),
        )

    lifted = sweep_expired(
        queryset=Channel.objects.select_related("organization"),
        since="muted_at",
        until="mute_expires_at",
        clear={"muted_at": None, "mute_expires_at": None},
        lift=lift,
        batch_size=batch_size,
    )
    if lifted:
        logger.info("lifted %s expired channel mutes", lifted)
    return lifted


def _membership_sweep(
    *,
    batch_size: int | None,
    flag: str,
    expiry: str,
    clear: dict[str, Any],
    action: str,
    event_type: str,
) -> int:
    """The member mute and channel ban sweeps: one Membership row per lifted thing."""
    system = Actor.system()

    def lift(row: Membership) -> None:
        since, until = _iso(getattr(row, flag)), _iso(getattr(row, expiry))
        audit_record(
            organization=row.channel.organization,
            actor=system,
            action=action,
            target_type=_TARGET,
            target_id=row.channel.channel_id,
            reason=row.ban_reason if flag == "banned_at" else "",
            before={"userIds": [row.member.user_id], "since": since, "until": until},
            after={"userIds": [row.member.user_id], "lifted": True},
        )
        _event(
            row.channel,
            event_type,
            system,
            userIds=[row.member.user_id],
            reason="expired",
            since=since,
            expiredAt=until,
        )

    lifted = sweep_expired(
        queryset=Membership.objects.select_related("channel", "channel__organization", "member"),
        since=flag,
        until=expiry,
        clear=clear,
        lift=lift,
        batch_size=batch_size,
    )
    if lifted:
        logger.info("%s: lifted %s", action, lifted)
    return lifted


def channel_users_mutes_expire(*, batch_size: int | None = None) -> int:
    """Lift expired member mutes (``channel.users.unmute.expired``, ``user.unmuted``)."""
    return _membership_sweep(
        batch_size=batch_size,
        flag="muted_at",
        expiry="mute_expires_at",
        clear={"muted_at": None, "mute_expires_at": None},
        action="channel.users.unmute.expired",
        event_type=EventType.USER_UNMUTED,
    )


def channel_users_bans_expire(*, batch_size: int | None = None) -> int:
    """Lift expired channel bans (``channel.users.unban.expired``, ``member.unbanned``);
    the users are not re-added."""
    return _membership_sweep(
        batch_size=batch_size,
        flag="banned_at",
        expiry="ban_expires_at",
        clear={"banned_at": None, "ban_expires_at": None, "ban_reason": ""},
        action="channel.users.unban.expired",
        event_type=EventType.MEMBER_UNBANNED,
    )
