"""Writes on channels: create, rename, membership, mutes and bans. Closing, purging and
scheduled deletion are apps.retention's; the sweeps that make expiries final are
apps.channels.services.sweeps'.

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
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record, audit_record_many, check_reason
from apps.channels.models import Channel, ChannelTag, Membership, membership_current_q
from apps.channels.selectors.channels import (
    channel_current_member_count,
    channel_is_gone,
    channel_newest_live_message_pk,
    membership_map,
)
from apps.core.errors import DomainError
from apps.core.sweeps import iso as _iso
from apps.core.sweeps import timed_active_q
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
#: Most userIds one request may name (add, remove, mute, ban, unban; a new channel's
#: members): the same for every surface, the Admin API and the console alike.
MAX_USER_IDS = 1000

#: The audit entries' target_type of every channel write.
AUDIT_TARGET = "channel"


def channel_not_found_error(channel: Channel) -> DomainError:
    return DomainError(
        "channel_not_found", f"No channel with channelId {channel.channel_id!r}.", field="channelId"
    )


def channel_lock_for_write(channel: Channel) -> Channel:
    """Re-read the channel row under a lock (a no-op lock on SQLite); refuse if its
    scheduled deletion came due meanwhile (404) or if it is closed (403)."""
    locked = Channel.objects.select_for_update().filter(pk=channel.pk).first()
    if locked is None or channel_is_gone(locked):
        raise channel_not_found_error(channel)
    if locked.is_closed:
        raise DomainError("channel_closed", f"Channel {locked.channel_id!r} is closed.")
    return locked


def channel_event_record(channel: Channel, type: str, actor: Actor, **extra: Any) -> None:
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


def _check_user_ids(user_ids: Sequence[str]) -> None:
    if len(user_ids) > MAX_USER_IDS:
        raise DomainError(
            "invalid_parameter",
            f"userIds: at most {MAX_USER_IDS} per request.",
            field="userIds",
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
    rows = Membership.objects.filter(
        timed_active_q("banned_at", "ban_expires_at", now=now),
        channel=channel,
        member__user_id__in=list(user_ids),
    ).values_list("member__user_id", flat=True)
    banned = sorted(rows)
    if banned:
        raise DomainError(
            "user_banned",
            f"Banned from {channel.channel_id!r}: {', '.join(banned[:20])}.",
            field="userIds",
        )


def memberships_join(*, channel: Channel, members: Sequence[Member], now: datetime) -> list[Member]:
    """Make ``members`` current members; returns those who were not members before.

    A new member starts with nothing unread: its read state is the channel's
    ``message_count`` and newest message (``channel`` as the caller locked it); an
    invitation it had is used up."""
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
    if not joined:
        return joined
    read_count, last_read = (
        channel.message_count,
        channel_newest_live_message_pk(channel=channel),
    )
    for row in new_rows:
        row.read_count, row.last_read_message_pk = read_count, last_read
    if new_rows:
        Membership.objects.bulk_create(new_rows)
    if rejoin:
        Membership.objects.filter(pk__in=rejoin).update(
            joined_at=now, invited_at=None, read_count=read_count, last_read_message_pk=last_read
        )
    return joined


def membership_rows_ensure(*, channel: Channel, members: Sequence[Member]) -> dict[int, Membership]:
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
    memberships_join(channel=channel, members=members, now=now)
    channel.member_count = len(members)
    channel.save(update_fields=["member_count"])
    audit_record(
        organization=organization,
        actor=actor,
        action="channel.create",
        target_type=AUDIT_TARGET,
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
    channel_event_record(
        channel, EventType.CHANNEL_CREATED, actor, userIds=user_id_list, createdAt=_iso(now)
    )
    if user_id_list:
        channel_event_record(
            channel, EventType.MEMBER_JOINED, actor, userIds=user_id_list, joinedAt=_iso(now)
        )
    return channel


@transaction.atomic
def channel_display_name_set(*, channel: Channel, actor: Actor, display_name: str) -> Channel:
    channel = channel_lock_for_write(channel)
    before = channel.display_name
    channel.display_name = display_name
    channel.save(update_fields=["display_name", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.displayName",
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        before={"displayName": before},
        after={"displayName": display_name},
    )
    channel_event_record(channel, EventType.CHANNEL_UPDATED, actor, displayName=display_name)
    return channel


@transaction.atomic
def channel_users_add(*, channel: Channel, actor: Actor, user_ids: Sequence[str]) -> Channel:
    """Join these users (provisioned if unknown). Refused, with nothing written, if the
    channel is closed (403 channel_closed) or any user is banned from it (403 user_banned)."""
    _check_user_ids(user_ids)
    channel = channel_lock_for_write(channel)
    now = timezone.now()
    _refuse_banned(channel=channel, user_ids=user_ids, now=now)
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    joined = memberships_join(channel=channel, members=members, now=now)
    before = channel.member_count
    _recount_members(channel)
    channel.last_activity_at = now
    channel.save(update_fields=["member_count", "last_activity_at", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.add",
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        before={"memberCount": before},
        after={"memberCount": channel.member_count, "userIds": [m.user_id for m in joined]},
    )
    if joined:
        channel_event_record(
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
    _check_user_ids(user_ids)
    channel = channel_lock_for_write(channel)
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    rows = Membership.objects.filter(
        membership_current_q(), channel=channel, member__in=[m.pk for m in members]
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
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        before={"memberCount": before},
        after={"memberCount": channel.member_count, "userIds": sorted(removed)},
    )
    if removed:
        channel_event_record(channel, EventType.MEMBER_LEFT, actor, userIds=sorted(removed))
    return channel


@transaction.atomic
def channel_mute(*, channel: Channel, actor: Actor, mute_period: int, reason: str = "") -> Channel:
    """Mute the channel (only admins may post) for ``mute_period`` ms; -1 until unmuted,
    0 unmutes."""
    reason = check_reason(reason)
    channel = channel_lock_for_write(channel)
    now = timezone.now()
    muted_at, expires_at = _mute_window(mute_period=mute_period, now=now)
    before = _mute_state(channel.muted_at, channel.mute_expires_at, now)
    channel.muted_at, channel.mute_expires_at = muted_at, expires_at
    channel.save(update_fields=["muted_at", "mute_expires_at", "updated_at"])
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.unmute" if mute_period == 0 else "channel.mute",
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        reason=reason,
        before=before,
        after={**_mute_state(muted_at, expires_at, now), "mutePeriod": mute_period},
    )
    if mute_period == 0:
        channel_event_record(channel, EventType.CHANNEL_UNMUTED, actor, reason=reason)
    else:
        channel_event_record(
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
    _check_user_ids(user_ids)
    reason = check_reason(reason)
    channel = channel_lock_for_write(channel)
    now = timezone.now()
    muted_at, expires_at = _mute_window(mute_period=mute_period, now=now)
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    rows = membership_rows_ensure(channel=channel, members=members)
    before = {
        m.user_id: _mute_state(rows[m.pk].muted_at, rows[m.pk].mute_expires_at, now)["isMuted"]
        for m in members
    }
    Membership.objects.filter(pk__in=[r.pk for r in rows.values()]).update(
        muted_at=muted_at, mute_expires_at=expires_at
    )
    # Each user's history too (the console's user page and review item list the entries
    # on a user): one entry per user, written before the channel's entry (which stays
    # the last one of the change).
    user_state = {"channelId": channel.channel_id, **_mute_state(muted_at, expires_at, now)}
    audit_record_many(
        organization=channel.organization,
        actor=actor,
        action="user.unmute" if mute_period == 0 else "user.mute",
        target_type="user",
        target_ids=[m.user_id for m in members],
        reason=reason,
        before={m.user_id: {"isMuted": before[m.user_id]} for m in members},
        after={m.user_id: {**user_state, "mutePeriod": mute_period} for m in members},
    )
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="channel.users.unmute" if mute_period == 0 else "channel.users.mute",
        target_type=AUDIT_TARGET,
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
        channel_event_record(
            channel, EventType.USER_UNMUTED, actor, userIds=user_id_list, reason=reason
        )
    else:
        channel_event_record(
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
    _check_user_ids(user_ids)
    reason = check_reason(reason)
    banned_at, expires_at = ban_window(ban_period=ban_period, now=timezone.now())
    channel = channel_lock_for_write(channel)
    now = banned_at
    members = members_resolve(
        organization=channel.organization, user_ids=list(user_ids), actor=actor
    )
    rows = membership_rows_ensure(channel=channel, members=members)
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
        target_type=AUDIT_TARGET,
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
    channel_event_record(
        channel,
        EventType.MEMBER_BANNED,
        actor,
        userIds=[m.user_id for m in members],
        reason=reason,
        bannedAt=_iso(now),
        banExpiresAt=_iso(expires_at),
    )
    if removed:
        channel_event_record(
            channel, EventType.MEMBER_LEFT, actor, userIds=removed, reason="banned"
        )
    return channel


@transaction.atomic
def channel_users_unban(*, channel: Channel, actor: Actor, user_ids: Sequence[str]) -> Channel:
    """Lift these users' bans; they are not re-added to the channel."""
    _check_user_ids(user_ids)
    channel = channel_lock_for_write(channel)
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
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        before={"banned": was_banned},
        after={"userIds": [m.user_id for m in members]},
    )
    channel_event_record(
        channel, EventType.MEMBER_UNBANNED, actor, userIds=[m.user_id for m in members]
    )
    return channel
