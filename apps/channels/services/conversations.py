"""Writes of the messaging API's channels ("conversations"): create, update, state
(delete / undelete / archive / unarchive), the member's own flag, and membership (join,
leave or remove, invite).

Every function acts as ``member`` (the caller, a member of the channel's organization),
checks what it may do through :func:`apps.permissions.services.check` (403
``forbidden``), is atomic, and records an audit entry (actor ``member <userId>``) and
its domain events in the same transaction. The channel is the one loaded by
:mod:`apps.channels.selectors.conversations` (so a channel the member may not see was
already a 404); each write re-reads it under a lock.

Deleting is soft: the channel is hidden at once (``deleted_at``) and its purge scheduled
at now + the organization's ``chatroom_deletion_grace_seconds``; memberships are kept,
so an undelete within the grace restores the channel as it was. Once the time has
passed the scheduled-deletion sweep (apps.retention) purges it. Archiving makes the
channel read-only for everyone (:func:`apps.channels.rules.check_can_post`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.rules import check_not_archived
from apps.channels.selectors.channels import channel_current_member_count
from apps.channels.selectors.conversations import channel_not_found
from apps.channels.services.channels import (
    AUDIT_TARGET,
    MAX_USER_IDS,
    channel_create,
    channel_event_record,
    membership_rows_ensure,
    memberships_join,
)
from apps.core.errors import DomainError
from apps.core.sweeps import iso, timed_active_q
from apps.events.models import EventType
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.permissions.registry import MESSAGING
from apps.permissions.services import check
from apps.retention.services import channel_scheduled_deletion_write

#: A channel's name and topic: the model's limits (Channel.display_name, Channel.topic).
MAX_NAME_LENGTH = Channel._meta.get_field("display_name").max_length
MAX_TOPIC_LENGTH = Channel._meta.get_field("topic").max_length
#: The states of PUT /channels/{channelID}/state.
STATES = ("delete", "undelete", "archive", "unarchive")
#: Kinds whose lifetime is another's (the organization's default chatroom, an event's
#: chatroom): never deleted or undeleted through the messaging API.
_OWN_LIFECYCLE = (Channel.Type.DEFAULT, Channel.Type.EVENT)
#: What a new channel is when the caller names no type.
DEFAULT_VISIBILITY = Channel.Visibility.PRIVATE


# --- helpers ---------------------------------------------------------------------------------


def _lock(channel: Channel, *, deleted: bool = False) -> Channel:
    """The channel re-read under a lock: 404 if it is gone meanwhile (closed, purged, its
    scheduled deletion due, or deleted unless ``deleted``)."""
    locked = (
        Channel.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(pk=channel.pk)
        .first()
    )
    if locked is None or locked.is_closed:
        raise channel_not_found(channel.pk)
    due = (
        locked.scheduled_deletion_at is not None and locked.scheduled_deletion_at <= timezone.now()
    )
    if due or (locked.deleted_at is not None and not deleted):
        raise channel_not_found(channel.pk)
    return locked


def _event(channel: Channel, type: str, actor: Actor, **extra: Any) -> None:
    """A channel event; the messaging API's numeric ``channelID`` next to the v2 handle."""
    channel_event_record(channel, type, actor, channelID=str(channel.pk), **extra)


def _audit(channel: Channel, actor: Actor, action: str, **kwargs: Any) -> None:
    audit_record(
        organization=channel.organization,
        actor=actor,
        action=action,
        target_type=AUDIT_TARGET,
        target_id=channel.channel_id,
        **kwargs,
    )


def _clean_name(name: str | None, *, visibility: str) -> str | None:
    """The trimmed name (None: not given). Public and private channels need one; a group
    conversation may have none."""
    if name is None:
        return None
    name = name.strip()
    if not name and visibility != Channel.Visibility.GROUP:
        raise DomainError("missing_parameter", "name: give the channel a name.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(
            "invalid_parameter", f"name: at most {MAX_NAME_LENGTH} characters.", field="name"
        )
    return name


def _clean_topic(topic: str | None) -> str | None:
    if topic is None:
        return None
    topic = topic.strip()
    if len(topic) > MAX_TOPIC_LENGTH:
        raise DomainError(
            "invalid_parameter", f"topic: at most {MAX_TOPIC_LENGTH} characters.", field="topic"
        )
    return topic


def _clean_visibility(visibility: str | None) -> str | None:
    if visibility is None:
        return None
    if visibility not in Channel.Visibility.values:
        raise DomainError(
            "invalid_parameter", "type must be public, private or group.", field="type"
        )
    return visibility


def _check_count(members: Sequence[Member], field: str) -> None:
    if len(members) > MAX_USER_IDS:
        raise DomainError(
            "invalid_parameter", f"{field}: at most {MAX_USER_IDS} users.", field=field
        )


def _check_same_organization(channel: Channel, members: Sequence[Member], field: str) -> None:
    if any(m.organization_id != channel.organization_id for m in members):
        raise DomainError("user_not_found", f"{field}: no such users.", field=field)


def _refuse_banned(channel: Channel, members: Sequence[Member], field: str) -> None:
    """403 ``user_banned`` if any of ``members`` is banned from the channel right now."""
    banned = sorted(
        Membership.objects.filter(
            timed_active_q("banned_at", "ban_expires_at", now=timezone.now()),
            channel=channel,
            member__in=[m.pk for m in members],
        ).values_list("member_id", flat=True)
    )
    if banned:
        shown = ", ".join(str(pk) for pk in banned[:20])
        raise DomainError("user_banned", f"Banned from this channel: {shown}.", field=field)


def _recount(channel: Channel, now: Any = None) -> int:
    """Store the channel's current member count; returns the one before."""
    before = channel.member_count
    channel.member_count = channel_current_member_count(channel=channel)
    fields = ["member_count", "updated_at"]
    if now is not None:
        channel.last_activity_at = now
        fields.append("last_activity_at")
    channel.save(update_fields=fields)
    return before


def _ids(members: Sequence[Member]) -> dict[str, list[str]]:
    """Both names of the members, for audit entries and events: the v2 ``userIds``
    handles and the messaging API's numeric ``userIDs``."""
    return {"userIds": [m.user_id for m in members], "userIDs": [str(m.pk) for m in members]}


# --- create and update -----------------------------------------------------------------------


@transaction.atomic
def conversation_create(
    *,
    member: Member,
    name: str | None = None,
    topic: str | None = None,
    visibility: str | None = None,
    members: Sequence[Member] = (),
) -> Channel:
    """A new channel made by ``member``, who becomes its owner, with ``members`` joined
    (they start with nothing unread). Needs ``channel.<type>.create`` on ``messaging``.
    Audited ``channel.create`` (by :func:`apps.channels.services.channels.channel_create`)
    and ``conversation.create`` (type, topic, owners); events ``channel.created`` and
    ``member.joined``."""
    visibility = _clean_visibility(visibility) or DEFAULT_VISIBILITY
    check(member, f"channel.{visibility}.create", MESSAGING)
    return conversation_create_by_actor(
        organization=member.organization,
        actor=Actor.for_member(member),
        name=name if name is not None else "",
        topic=topic or "",
        members=[member, *members],
        owners=[member],
        visibility=visibility,
    )


@transaction.atomic
def conversation_update(
    *,
    channel: Channel,
    member: Member,
    name: str | None = None,
    topic: str | None = None,
    visibility: str | None = None,
) -> Channel:
    """Change the channel's name, topic and/or type (None: unchanged). Needs ``update``
    on the channel, and for a new type the right to create channels of that type. An
    archived channel is read-only (403 ``channel_archived``). Audited ``channel.update``
    with before/after and event ``channel.updated``, when anything changed."""
    visibility = _clean_visibility(visibility)
    check(member, "update", channel)
    if visibility is not None and visibility != channel.visibility:
        check(member, f"channel.{visibility}.create", MESSAGING)
    locked = _lock(channel)
    check_not_archived(channel=locked)
    name = _clean_name(name, visibility=visibility or locked.visibility)
    topic = _clean_topic(topic)
    before = {"name": locked.display_name, "topic": locked.topic, "type": locked.visibility}
    wanted = {
        "display_name": name,
        "topic": topic,
        "visibility": visibility,
    }
    changed = [f for f, v in wanted.items() if v is not None and getattr(locked, f) != v]
    if not changed:
        return locked
    for field in changed:
        setattr(locked, field, wanted[field])
    locked.save(update_fields=[*changed, "updated_at"])
    after = {"name": locked.display_name, "topic": locked.topic, "type": locked.visibility}
    actor = Actor.for_member(member)
    _audit(locked, actor, "channel.update", before=before, after=after)
    _event(locked, EventType.CHANNEL_UPDATED, actor, before=before, after=after)
    return locked


# --- state -----------------------------------------------------------------------------------


@transaction.atomic
def conversation_state_set(*, channel: Channel, member: Member, state: str) -> Channel:
    """``delete``, ``undelete``, ``archive`` or ``unarchive`` the channel (400 for any other
    state). Each needs the operation of the same name on the channel; setting a state the
    channel is already in changes nothing (no audit entry, no event).

    - delete: hidden at once for everyone, purge scheduled at now + the organization's
      grace (an earlier scheduled deletion is kept); memberships stay. Audited
      ``channel.delete``, event ``channel.deleted``.
    - undelete: while the purge time has not come (else 404, the channel is gone): clears
      ``deleted_at`` and the scheduled deletion. ``channel.undelete``, ``channel.undeleted``.
      The default and event chatrooms are never deleted or undeleted here (403
      ``chatroom_not_custom``: their lifetime is the organization's, or the event's).
    - archive / unarchive: read-only for everyone, or writable again.
      ``channel.archive`` / ``channel.unarchive``, ``channel.archived`` /
      ``channel.unarchived``.
    """
    if state not in STATES:
        raise DomainError(
            "invalid_parameter",
            f"state must be one of {', '.join(STATES)}.",
            field="state",
        )
    check(member, state, channel)
    locked = _lock(channel, deleted=state in ("delete", "undelete"))
    if state in ("delete", "undelete") and locked.type in _OWN_LIFECYCLE:
        raise DomainError(
            "chatroom_not_custom",
            f"This channel is the organization's {locked.type} chatroom; it is removed "
            "with what owns it, not deleted here.",
        )
    already = {
        "delete": locked.deleted_at is not None,
        "undelete": locked.deleted_at is None,
        "archive": locked.archived_at is not None,
        "unarchive": locked.archived_at is None,
    }[state]
    if already:
        return locked
    return channel_state_write(locked, Actor.for_member(member), state)


def channel_state_write(locked: Channel, actor: Actor, state: str, *, reason: str = "") -> Channel:
    """Move ``locked`` (read under a lock, not in ``state`` yet: the caller checked, and
    decided who may act) into ``state``: its columns, the audit entry
    (``channel.<state>``) and the event, as :func:`conversation_state_set` describes. The
    one write of every door that changes these states (the console's:
    apps.channels.services.states)."""
    now = timezone.now()
    if state == "delete":
        grace = timedelta(seconds=locked.organization.chatroom_deletion_grace_seconds)
        at = now + grace
        if locked.scheduled_deletion_at is not None:
            at = min(at, locked.scheduled_deletion_at)
        before = {"deletedAt": None, "scheduledDeletion": iso(locked.scheduled_deletion_at)}
        locked.deleted_at = now
        channel_scheduled_deletion_write(locked, at=at, update_fields=["deleted_at"])
        after = {"deletedAt": iso(now), "scheduledDeletion": iso(at)}
        _audit(locked, actor, "channel.delete", reason=reason, before=before, after=after)
        _event(locked, EventType.CHANNEL_DELETED, actor, **after)
    elif state == "undelete":
        before = {
            "deletedAt": iso(locked.deleted_at),
            "scheduledDeletion": iso(locked.scheduled_deletion_at),
        }
        locked.deleted_at = None
        channel_scheduled_deletion_write(locked, at=None, update_fields=["deleted_at"])
        after = {"deletedAt": None}
        _audit(locked, actor, "channel.undelete", reason=reason, before=before, after=after)
        _event(locked, EventType.CHANNEL_UNDELETED, actor, undeletedAt=iso(now))
    elif state == "archive":
        locked.archived_at = now
        locked.save(update_fields=["archived_at", "updated_at"])
        after = {"archivedAt": iso(now)}
        _audit(locked, actor, "channel.archive", reason=reason, after=after)
        _event(locked, EventType.CHANNEL_ARCHIVED, actor, archivedAt=iso(now))
    else:
        before = {"archivedAt": iso(locked.archived_at)}
        locked.archived_at = None
        locked.save(update_fields=["archived_at", "updated_at"])
        after = {"archivedAt": None}
        _audit(locked, actor, "channel.unarchive", reason=reason, before=before, after=after)
        _event(locked, EventType.CHANNEL_UNARCHIVED, actor, unarchivedAt=iso(now))
    return locked


# --- the member's own flag -------------------------------------------------------------------


def _own_row(channel: Channel, member: Member) -> Membership:
    row = Membership.objects.filter(membership_current_q(), channel=channel, member=member).first()
    if row is None:
        raise DomainError("not_a_member", "You are not a member of this channel.")
    return row


@transaction.atomic
def conversation_flag_set(*, channel: Channel, member: Member, flag: str) -> Membership:
    """Set the member's own flag on the channel (``pinned``, ``hidden`` or ``ignored``);
    403 ``not_a_member`` unless it is a current member. Private to the member: no audit
    entry, no event."""
    if flag not in Membership.Flag.values or not flag:
        raise DomainError(
            "invalid_parameter", "flag must be pinned, hidden or ignored.", field="flag"
        )
    row = _own_row(_lock(channel), member)
    if row.flag != flag:
        row.flag = flag
        row.save(update_fields=["flag"])
    return row


@transaction.atomic
def conversation_flag_clear(*, channel: Channel, member: Member) -> Membership:
    """Clear the member's own flag (idempotent); 403 ``not_a_member`` for a non-member."""
    row = _own_row(_lock(channel), member)
    if row.flag:
        row.flag = Membership.Flag.NONE
        row.save(update_fields=["flag"])
    return row


# --- membership ------------------------------------------------------------------------------


@transaction.atomic
def conversation_member_join(*, channel: Channel, member: Member, target: Member) -> Membership:
    """Make ``target`` a current member of the channel (idempotent).

    Oneself: into a public channel with ``join``, into one the member is invited to, or
    (``members.manage``, e.g. an admin) into any other. Someone else: ``members.manage``.
    A banned target is refused (403 ``user_banned``). The new member starts with nothing
    unread. Audited ``channel.join`` (oneself) or ``channel.members.add``; event
    ``member.joined``."""
    _check_same_organization(channel, [target], "userID")
    row = Membership.objects.filter(channel_id=channel.pk, member=target).first()
    if target.pk == member.pk:
        invited = row is not None and row.invited_at is not None
        if not invited:
            public = channel.visibility == Channel.Visibility.PUBLIC
            check(member, "join" if public else "members.manage", channel)
    else:
        check(member, "members.manage", channel)
    locked = _lock(channel)
    if row is not None and row.is_member:
        return row
    _refuse_banned(locked, [target], "userID")
    now = timezone.now()
    memberships_join(channel=locked, members=[target], now=now)
    before = _recount(locked, now)
    actor = Actor.for_member(member)
    self_join = target.pk == member.pk
    _audit(
        locked,
        actor,
        "channel.join" if self_join else "channel.members.add",
        before={"memberCount": before},
        after={"memberCount": locked.member_count, **_ids([target])},
    )
    _event(locked, EventType.MEMBER_JOINED, actor, joinedAt=iso(now), **_ids([target]))
    return Membership.objects.select_related("member").get(channel=locked, member=target)


@transaction.atomic
def conversation_member_remove(*, channel: Channel, member: Member, target: Member) -> None:
    """``target`` leaves the channel: oneself with ``leave``, someone else with
    ``members.manage``; an invitation is withdrawn (or declined) the same way. Its mute,
    ban and flag stay; ownership does not. Nothing to do for a non-member. Audited
    ``channel.leave`` or ``channel.members.remove``; event ``member.left`` (for a member)."""
    _check_same_organization(channel, [target], "userID")
    self_leave = target.pk == member.pk
    check(member, "leave" if self_leave else "members.manage", channel)
    locked = _lock(channel)
    row = (
        Membership.objects.filter(channel=locked, member=target)
        .filter(membership_current_q() | Q(invited_at__isnull=False))
        .first()
    )
    if row is None:
        return
    was_member = row.is_member
    before = {"type": row.member_type, "memberCount": locked.member_count}
    Membership.objects.filter(pk=row.pk).update(joined_at=None, invited_at=None, is_owner=False)
    if was_member:
        _recount(locked)
    actor = Actor.for_member(member)
    _audit(
        locked,
        actor,
        "channel.leave" if self_leave else "channel.members.remove",
        before=before,
        after={"memberCount": locked.member_count, **_ids([target])},
    )
    if was_member:
        _event(
            locked,
            EventType.MEMBER_LEFT,
            actor,
            reason="left" if self_leave else "removed",
            **_ids([target]),
        )


@transaction.atomic
def conversation_members_invite(
    *, channel: Channel, member: Member, targets: Sequence[Member]
) -> list[Membership]:
    """Invite ``targets`` (``members.manage``): each that is not a current member gets an
    invitation (member type ``invitee``) and may then join even a private channel.
    Banned targets refuse the whole request (403 ``user_banned``), nothing written.
    Returns the targets' rows in order. Audited ``channel.members.invite``; event
    ``member.invited`` with those newly invited."""
    targets = list({m.pk: m for m in targets}.values())
    _check_count(targets, "userID")
    _check_same_organization(channel, targets, "userID")
    check(member, "members.manage", channel)
    locked = _lock(channel)
    _refuse_banned(locked, targets, "userID")
    rows = membership_rows_ensure(channel=locked, members=targets)
    fresh = [m for m in targets if rows[m.pk].joined_at is None and rows[m.pk].invited_at is None]
    now = timezone.now()
    if fresh:
        Membership.objects.filter(pk__in=[rows[m.pk].pk for m in fresh]).update(invited_at=now)
        actor = Actor.for_member(member)
        _audit(locked, actor, "channel.members.invite", after=_ids(fresh))
        _event(locked, EventType.MEMBER_INVITED, actor, invitedAt=iso(now), **_ids(fresh))
    by_member = {
        row.member_id: row
        for row in Membership.objects.filter(
            channel=locked, member__in=[m.pk for m in targets]
        ).select_related("member")
    }
    return [by_member[m.pk] for m in targets]


@transaction.atomic
def conversation_create_by_actor(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    topic: str = "",
    members: Sequence[Member] = (),
    owners: Sequence[Member] = (),
    visibility: str = DEFAULT_VISIBILITY,
) -> Channel:
    """A new channel made for the organization by an actor that is not one of its
    members (Stackfield's ``CreateRoom``): as :func:`conversation_create`, but no creator
    joins it; ``members`` join, and those of them in ``owners`` own it. No permission
    check: the caller's door decided. Audited ``channel.create`` and
    ``conversation.create``; events ``channel.created`` and ``member.joined``."""
    visibility = _clean_visibility(visibility) or DEFAULT_VISIBILITY
    name = _clean_name(name, visibility=visibility) or ""
    topic = _clean_topic(topic) or ""
    everyone = list({m.pk: m for m in members}.values())
    _check_count(everyone, "members")
    if any(m.organization_id != organization.pk for m in [*everyone, *owners]):
        raise DomainError("user_not_found", "members: no such users.", field="members")
    channel = channel_create(
        organization=organization,
        actor=actor,
        channel_id=f"{visibility}-{secrets.token_hex(8)}",
        display_name=name,
        user_ids=[m.user_id for m in everyone],
    )
    channel.display_name = name
    channel.topic = topic
    channel.visibility = visibility
    channel.save(update_fields=["display_name", "topic", "visibility", "updated_at"])
    owner_pks = {m.pk for m in owners} & {m.pk for m in everyone}
    if owner_pks:
        Membership.objects.filter(channel=channel, member__in=owner_pks).update(is_owner=True)
    _audit(
        channel,
        actor,
        "conversation.create",
        after={
            "channelID": str(channel.pk),
            "name": name,
            "topic": topic,
            "type": visibility,
            "owners": sorted(str(pk) for pk in owner_pks),
            **_ids(everyone),
        },
    )
    return channel


@transaction.atomic
def conversation_owners_add(*, channel: Channel, actor: Actor, members: Sequence[Member]) -> int:
    """Make these current members owners of the channel (Stackfield's ``IsAdmin`` in
    ``GrantRoomAccess``); non-members are left out. Returns how many became owners.
    Audited ``channel.owners.add`` when any did."""
    locked = _lock(channel)
    rows = Membership.objects.filter(
        membership_current_q(),
        channel=locked,
        member__in=[m.pk for m in members],
        is_owner=False,
    )
    promoted = list(rows.values_list("member__user_id", "member_id"))
    if promoted:
        rows.update(is_owner=True)
        _audit(
            locked,
            actor,
            "channel.owners.add",
            after={
                "userIds": sorted(uid for uid, _ in promoted),
                "userIDs": sorted(str(pk) for _, pk in promoted),
            },
        )
    return len(promoted)


@transaction.atomic
def channel_archive(*, channel: Channel, actor: Actor) -> Channel:
    """Archive the channel (read-only for everyone; the messaging API's archive state)
    for an actor that acts for the organization, not as a member for itself
    (Stackfield's ``ArchiveRoom``): no permission check (the caller's door decided).
    Unlike the idempotent :func:`conversation_state_set`, an archived channel is 409
    ``channel_already_archived`` (the caller is told); a closed or removed one 404.
    Audited ``channel.archive``, event ``channel.archived``."""
    locked = _lock(channel)
    if locked.archived_at is not None:
        raise DomainError(
            "channel_already_archived", f"Channel {locked.channel_id!r} is already archived."
        )
    return channel_state_write(locked, actor, "archive")
