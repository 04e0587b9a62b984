"""Writes on chatrooms (the chatroom service, /api/messenger/). A chatroom is a Channel
of type custom, default or event; its assigned users are its current members.

Every function is keyword-only and atomic, and records an audit entry (``chatroom.*``,
or ``channel.create`` through :func:`apps.channels.services.channel_create`) and outbox
events in the same transaction. Only custom chatrooms can be changed, deleted or get an
avatar (403 ``chatroom_not_custom``); an organization has at most one live default
chatroom (409 ``default_chatroom_exists``). Removing a chatroom hides it at once
(``deleted_at``) and schedules its purge at now + the organization's grace period; the
scheduled-deletion sweep (``channels.channel_scheduled_deletion_sweep``) then deletes it
with its messages, reactions and files.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.selectors.channels import channel_is_gone
from apps.channels.selectors.chatrooms import chatroom_default
from apps.channels.services.channels import MAX_USER_IDS, channel_create, memberships_join
from apps.core.errors import DomainError
from apps.core.sweeps import iso, timed_active_q
from apps.events.models import EventType
from apps.events.services import event_record
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.retention.services import channel_avatar_purge, channel_scheduled_deletion_write

logger = logging.getLogger(__name__)

_TARGET = "chatroom"
#: Longest chatroom name (Channel.display_name).
MAX_NAME_LENGTH = 255
#: Most users assigned in one request: the one bound on the users a request names.
MAX_ASSIGNED_USERS = MAX_USER_IDS
#: Name of a new default chatroom.
DEFAULT_CHATROOM_NAME = "General"
#: Longest edge of a stored avatar, in pixels (the "medium" rendition).
AVATAR_RENDITION = "medium"


def new_chatroom_channel_id(kind: str = "chatroom") -> str:
    """A fresh channelId for a chatroom (the Admin API's name for it)."""
    return f"{kind}-{secrets.token_hex(6)}"


def chatroom_event_record(channel: Channel, type: str, actor: Actor, **extra: Any) -> None:
    event_record(
        organization=channel.organization,
        type=type,
        payload={
            "organization": channel.organization.slug,
            "channelId": channel.channel_id,
            "chatroomId": channel.pk,
            "type": channel.type,
            "actor": actor.label,
            **extra,
        },
    )


def _clean_name(name: str | None, *, required: bool) -> str | None:
    if name is None:
        if required:
            raise DomainError("missing_parameter", "name: give the chatroom a name.", field="name")
        return None
    name = name.strip()
    if not name:
        raise DomainError("missing_parameter", "name: give the chatroom a name.", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise DomainError(
            "invalid_parameter", f"name: at most {MAX_NAME_LENGTH} characters.", field="name"
        )
    return name


def _clean_members(
    organization: Organization, members: Sequence[Member], *, field: str = "assignedUsers"
) -> list[Member]:
    """Distinct members, all of this organization (a caller bug otherwise)."""
    unique = list({m.pk: m for m in members}.values())
    if len(unique) > MAX_ASSIGNED_USERS:
        raise DomainError(
            "invalid_parameter", f"{field}: at most {MAX_ASSIGNED_USERS} users.", field=field
        )
    if any(m.organization_id != organization.pk for m in unique):
        raise DomainError(
            "invalid_parameter", f"{field}: users of another organization.", field=field
        )
    return unique


def _lock(channel: Channel, *, custom_only: bool = True) -> Channel:
    """The chatroom row under a lock; 404 if it is gone meanwhile, 403 if not custom."""
    locked = (
        Channel.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(pk=channel.pk)
        .first()
    )
    if locked is None or channel_is_gone(locked) or locked.is_closed:
        raise DomainError("chatroom_not_found", "Chatroom not found.", field="roomID")
    if custom_only and locked.type != Channel.Type.CUSTOM:
        raise DomainError(
            "chatroom_not_custom",
            f"This chatroom is of type {locked.type}; only custom chatrooms can be changed.",
        )
    return locked


def _assigned_pks(channel: Channel) -> list[int]:
    return sorted(
        Membership.objects.filter(membership_current_q(), channel=channel).values_list(
            "member_id", flat=True
        )
    )


def chatroom_assign(
    *, channel: Channel, actor: Actor, members: Sequence[Member], skip_banned: bool = False
) -> tuple[list[Member], list[Member]]:
    """Make ``members`` exactly the chatroom's assigned users (call inside a transaction
    with the channel locked). A member banned from the chatroom is refused (403
    ``user_banned``), or left out with ``skip_banned`` (event participants). Returns
    (joined, left); records ``member.joined`` / ``member.left`` events."""
    now = timezone.now()
    wanted = {m.pk: m for m in members}
    banned = set(
        Membership.objects.filter(
            timed_active_q("banned_at", "ban_expires_at", now=now),
            channel=channel,
            member__in=list(wanted),
        ).values_list("member_id", flat=True)
    )
    if banned and not skip_banned:
        names = sorted(wanted[pk].user_id for pk in banned)
        raise DomainError(
            "user_banned",
            f"Banned from this chatroom: {', '.join(names[:20])}.",
            field="assignedUsers",
        )
    for pk in banned:
        wanted.pop(pk)
    current = Membership.objects.filter(membership_current_q(), channel=channel)
    leaving = list(current.exclude(member__in=list(wanted)).select_related("member"))
    if leaving:
        Membership.objects.filter(pk__in=[row.pk for row in leaving]).update(joined_at=None)
    joined = memberships_join(channel=channel, members=list(wanted.values()), now=now)
    left = [row.member for row in leaving]
    channel.member_count = len(wanted)
    channel.last_activity_at = now
    channel.save(update_fields=["member_count", "last_activity_at", "updated_at"])
    if joined:
        chatroom_event_record(
            channel,
            EventType.MEMBER_JOINED,
            actor,
            userIds=[m.user_id for m in joined],
            joinedAt=iso(now),
        )
    if left:
        chatroom_event_record(
            channel, EventType.MEMBER_LEFT, actor, userIds=sorted(m.user_id for m in left)
        )
    return joined, left


@transaction.atomic
def chatroom_create_custom(
    *,
    organization: Organization,
    actor: Actor,
    name: str,
    members: Sequence[Member],
    creator: Member | None = None,
) -> Channel:
    """A custom chatroom named ``name`` with ``members`` (and ``creator``, the org admin
    acting with a personal token) assigned; channelId ``chatroom-<12 hex>``. Audited as
    ``channel.create`` (type custom) and ``chatroom.create``."""
    name = _clean_name(name, required=True)
    everyone = list(members) + ([creator] if creator is not None else [])
    everyone = _clean_members(organization, everyone)
    channel = channel_create(
        organization=organization,
        actor=actor,
        channel_id=new_chatroom_channel_id(),
        type=Channel.Type.CUSTOM,
        display_name=name,
        user_ids=[m.user_id for m in everyone],
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="chatroom.create",
        target_type=_TARGET,
        target_id=str(channel.pk),
        after={
            "type": channel.type,
            "name": name,
            "assignedUsers": sorted(m.pk for m in everyone),
            "creator": creator.pk if creator is not None else None,
        },
    )
    return channel


@transaction.atomic
def chatroom_update(
    *,
    channel: Channel,
    actor: Actor,
    name: str | None = None,
    members: Sequence[Member] | None = None,
) -> Channel:
    """Rename a custom chatroom and/or REPLACE its assigned users (None: unchanged).
    Default and event chatrooms: 403 ``chatroom_not_custom``. Audited as
    ``chatroom.update`` with before/after."""
    name = _clean_name(name, required=False)
    channel = _lock(channel)
    if members is not None:
        members = _clean_members(channel.organization, members)
    before = {"name": channel.display_name, "assignedUsers": _assigned_pks(channel)}
    if name is not None and name != channel.display_name:
        channel.display_name = name
        channel.save(update_fields=["display_name", "updated_at"])
    if members is not None:
        chatroom_assign(channel=channel, actor=actor, members=members)
    after = {"name": channel.display_name, "assignedUsers": _assigned_pks(channel)}
    audit_record(
        organization=channel.organization,
        actor=actor,
        action="chatroom.update",
        target_type=_TARGET,
        target_id=str(channel.pk),
        before=before,
        after=after,
    )
    if before["name"] != after["name"]:
        chatroom_event_record(
            channel, EventType.CHANNEL_UPDATED, actor, displayName=channel.display_name
        )
    return channel


def chatroom_remove_locked(channel: Channel, actor: Actor, action: str) -> Channel:
    """Hide the (locked) chatroom now and schedule its purge at now + grace; detach
    its members; delete its avatar file once committed (:func:`channel_avatar_purge`;
    should that fail or the process die first, the purge deletes it)."""
    now = timezone.now()
    grace = timedelta(seconds=channel.organization.chatroom_deletion_grace_seconds)
    before = {
        "name": channel.display_name,
        "assignedUsers": _assigned_pks(channel),
        "scheduledDeletion": iso(channel.scheduled_deletion_at),
    }
    Membership.objects.filter(membership_current_q(), channel=channel).update(joined_at=None)
    channel.deleted_at = now
    channel.member_count = 0
    channel_scheduled_deletion_write(
        channel, at=now + grace, update_fields=["deleted_at", "member_count"]
    )
    audit_record(
        organization=channel.organization,
        actor=actor,
        action=action,
        target_type=_TARGET,
        target_id=str(channel.pk),
        before=before,
        after={
            "deletedAt": iso(now),
            "scheduledDeletion": iso(channel.scheduled_deletion_at),
        },
    )
    chatroom_event_record(
        channel,
        EventType.CHANNEL_DELETED,
        actor,
        deletedAt=iso(now),
        scheduledDeletion=iso(channel.scheduled_deletion_at),
    )
    if channel.avatar:
        # Once committed the chatroom is no longer live, so its file can go; the row keeps
        # naming it until then, so a failure here (logged: robust) is left to the purge.
        transaction.on_commit(partial(channel_avatar_purge, channel_pk=channel.pk), robust=True)
    return channel


@transaction.atomic
def chatroom_delete(*, channel: Channel, actor: Actor) -> Channel:
    """Delete a custom chatroom: hidden at once (404 for every reader and writer),
    purged by the sweep at now + the organization's grace period. Default and event
    chatrooms: 403 ``chatroom_not_custom``. Audited as ``chatroom.delete``."""
    channel = _lock(channel)
    return chatroom_remove_locked(channel, actor, "chatroom.delete")


@transaction.atomic
def chatroom_default_create(*, organization: Organization, actor: Actor) -> Channel:
    """The organization's default chatroom ("General"), with every Member whose org role
    is admin or member assigned. 409 ``default_chatroom_exists`` if it has one (also when
    a concurrent request wins: the partial unique constraint, caught in a savepoint)."""
    if chatroom_default(organization=organization) is not None:
        raise DomainError("default_chatroom_exists")
    members = list(
        Member.objects.filter(
            organization=organization,
            org_role__in=[Member.OrgRole.ADMIN, Member.OrgRole.MEMBER],
        ).order_by("pk")
    )
    try:
        with transaction.atomic():
            channel = channel_create(
                organization=organization,
                actor=actor,
                channel_id=new_chatroom_channel_id("default"),
                type=Channel.Type.DEFAULT,
                display_name=DEFAULT_CHATROOM_NAME,
                user_ids=[m.user_id for m in members],
            )
    except IntegrityError as exc:
        raise DomainError("default_chatroom_exists") from exc
    except DomainError as exc:  # channel_create reports its own IntegrityError this way
        if exc.code == "channel_exists":
            raise DomainError("default_chatroom_exists") from exc
        raise
    audit_record(
        organization=organization,
        actor=actor,
        action="chatroom.default.create",
        target_type=_TARGET,
        target_id=str(channel.pk),
        after={"type": channel.type, "name": channel.display_name, "assignedUsers": len(members)},
    )
    return channel


@transaction.atomic
def chatroom_default_remove(*, organization: Organization, actor: Actor) -> None:
    """Remove the organization's default chatroom like a deleted custom one (hidden now,
    purged at now + grace). 404 ``chatroom_not_found`` if it has none."""
    channel = chatroom_default(organization=organization)
    if channel is None:
        raise DomainError(
            "chatroom_not_found",
            "The organization has no default chatroom.",
            field="organizationID",
        )
    channel = _lock(channel, custom_only=False)
    chatroom_remove_locked(channel, actor, "chatroom.default.remove")


# --- avatar ----------------------------------------------------------------------------------


def _delete_file(name: str) -> None:
    try:
        default_storage.delete(name)
    except Exception:  # storage trouble must not fail a committed change
        logger.exception("could not delete the avatar file %s", name)


def _avatar_image(content: bytes) -> tuple[bytes, str]:
    """Validated, re-encoded avatar bytes (metadata stripped) and their extension."""
    from apps.core.images import process_image

    try:
        processed = process_image(content, keep_original=False)
    except DomainError as exc:
        raise DomainError("invalid_avatar", exc.message, field="avatar") from exc
    rendition = next(r for r in processed.renditions if r.variant == AVATAR_RENDITION)
    return rendition.content, rendition.extension


def chatroom_avatar_set(
    *, channel: Channel, actor: Actor, content: bytes | None, content_type: str = ""
) -> Channel:
    """Set (or with None / empty bytes remove) a custom chatroom's avatar.

    The bytes must be an image Pillow accepts (JPEG, PNG, GIF, WebP, BMP: open + verify,
    reopened, pixel limit ``MAX_IMAGE_PIXELS``), at most ``MAX_AVATAR_BYTES`` (413
    ``payload_too_large``); anything else is 400 ``invalid_avatar``. It is stored
    re-encoded (PNG with transparency, else JPEG; at most 480 px a side; no metadata)
    on the default storage; the previous file is deleted once the change committed.
    ``content_type`` is informative only: the bytes decide. Audited as ``chatroom.avatar``.
    """
    if content:
        max_bytes = int(settings.CHATADMIN.get("MAX_AVATAR_BYTES", 2 * 1024 * 1024))
        if len(content) > max_bytes:
            raise DomainError(
                "payload_too_large",
                f"The avatar must be at most {max_bytes} bytes.",
                field="avatar",
            )
    # check the chatroom before any image work, then decode outside the transaction
    _check_avatar_target(channel)
    stored_name = ""
    if content:
        data, extension = _avatar_image(content)
        stored_name = default_storage.save(
            f"orgs/{channel.organization_id}/avatars/{channel.pk}-{secrets.token_hex(8)}.{extension}",
            ContentFile(data),
        )
    try:
        with transaction.atomic():
            locked = _lock(channel)
            old_name = locked.avatar.name if locked.avatar else ""
            locked.avatar = stored_name
            locked.save(update_fields=["avatar", "updated_at"])
            audit_record(
                organization=locked.organization,
                actor=actor,
                action="chatroom.avatar" if stored_name else "chatroom.avatar.remove",
                target_type=_TARGET,
                target_id=str(locked.pk),
                before={"avatar": old_name or None},
                after={"avatar": stored_name or None, "contentType": content_type[:100] or None},
            )
            chatroom_event_record(
                locked, EventType.CHANNEL_UPDATED, actor, avatar=bool(stored_name)
            )
            if old_name and old_name != stored_name:
                transaction.on_commit(lambda: _delete_file(old_name))
    except BaseException:
        if stored_name:
            _delete_file(stored_name)
        raise
    return locked


def _check_avatar_target(channel: Channel) -> None:
    with transaction.atomic():
        _lock(channel)
