"""What Stackfield's webhook URLs (``/apiwh/<uuid>``, apps.stackfield) do, in this
product's terms. docs/api/integrations-stackfield.md is the reader's version.

A Stackfield URL is an incoming :class:`~apps.integrations.models.Integration` of flavor
``stackfield``; its ``kind`` says what a call does. The kinds bound to a channel post
into it as the URL's bot through ``message_create`` (the content filter, mutes, bans,
closed and archived channels apply as on every surface):

- ``chat-message``: a text message, ``Title``;
- ``discussion``: a text message ``Title`` that opens a thread (``data.kind``
  ``discussion``); ``Content``, if any, is its first reply;
- ``task`` and ``page``: custom messages (``data.kind``) whose ``data.text`` is the
  ``Title`` and whose ``data.attachments[0].text`` is the ``Content``, where the content
  filter reads (and masks) them as it reads every incoming webhook's text; a task adds
  ``data.task`` (``dateStart``, ``dateEnd``, ``assignees`` as userIds);
- ``file``: a file message (``message_create_file``: its size limit, its storage);
- ``event``: a calendar event (apps.calendar_events, with its own chatroom) with the
  ``Users`` as participants, announced in the channel by a custom message
  (``data.kind`` ``event``, ``data.event``).

``room-settings`` and ``organization`` URLs carry out a ``Command``: ``ArchiveRoom``,
``GrantRoomAccess``, ``RevokeRoomAccess`` on the URL's channel or the channel whose
channelId is ``RoomId``; an organization URL also ``CreateUser``, ``RemoveUser``,
``DeactivateUser`` and ``CreateRoom``. They act as the URL's bot (the audit log names
it); a URL carries the authority of the staff or admin who made it.

People are named by email: the member whose linked account has that email, else the
member whose userId is that email in lower case (what ``create_event`` and
``member_get_or_create_for_account`` make); a removed member is found by no email.

Everything a call does happens in one transaction with ``incoming_once`` (a refused call
writes nothing; the same body again within the window is a double request); the
caller has admitted it first (``incoming_admit``: enabled, one call per interval).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from apps.accounts.services import account_get_or_create
from apps.audit.actor import Actor
from apps.calendar_events.services import calendar_event_create
from apps.channels.models import Channel
from apps.channels.rules import channel_refusal
from apps.channels.selectors.channels import channel_live_q
from apps.channels.services.channels import (
    MAX_USER_IDS,
    channel_users_add,
    channel_users_remove,
)
from apps.channels.services.conversations import (
    channel_archive,
    conversation_create_by_actor,
    conversation_owners_add,
)
from apps.core.errors import DomainError
from apps.core.sweeps import iso
from apps.core.text import is_invisible, parse_integer
from apps.integrations.models import Integration
from apps.integrations.services.incoming import (
    check_enabled,
    history_record,
    incoming_once,
)
from apps.integrations.services.integrations import IssuedIntegration, integration_create
from apps.members.models import Member
from apps.members.services import (
    member_deactivate,
    member_get_or_create_for_account,
    member_remove,
    member_restore,
    member_update,
)
from apps.messages.models import Message
from apps.messages.services.messages import MAX_TEXT_LENGTH, message_create, message_create_file
from apps.moderation.services import filter_refusal_count
from apps.organizations.models import Organization

Kind = Integration.Kind

#: The kinds bound to one channel (a URL of a channel's Integrations tab).
CHANNEL_KINDS = (
    Kind.CHAT_MESSAGE,
    Kind.DISCUSSION,
    Kind.TASK,
    Kind.PAGE,
    Kind.FILE,
    Kind.EVENT,
)
#: Every kind a Stackfield URL may have.
KINDS = (*CHANNEL_KINDS, Kind.ROOM_SETTINGS, Kind.ORGANIZATION)
#: The member every Stackfield URL of an organization posts and acts as.
BOT_USERNAME = "stackfield"

#: ``OrgRoleId`` -> the member's organization role.
ORG_ROLES = {
    1: Member.OrgRole.ADMIN,
    2: Member.OrgRole.MEMBER,
    3: Member.OrgRole.GUEST,
    4: Member.OrgRole.EXTERNAL,
}
ROOM_COMMANDS = ("ArchiveRoom", "GrantRoomAccess", "RevokeRoomAccess")
ORGANIZATION_COMMANDS = ("CreateUser", "RemoveUser", "DeactivateUser", "CreateRoom", *ROOM_COMMANDS)
#: An email is a userId too (the CLI's convention): at most a userId's length.
MAX_EMAIL_LENGTH = Member._meta.get_field("user_id").max_length
MAX_DISPLAY_NAME_LENGTH = Member._meta.get_field("display_name").max_length
MAX_DATE_LENGTH = 40
#: A room's name and description: the channel's limits.
MAX_NAME_LENGTH = Channel._meta.get_field("display_name").max_length
MAX_DESCRIPTION_LENGTH = Channel._meta.get_field("topic").max_length


@dataclass(frozen=True)
class StackfieldOutcome:
    """What a call made: the messages it posted, or the room ``CreateRoom`` made."""

    message_ids: list[str] = field(default_factory=list)
    room_id: str | None = None


# --- making a URL ----------------------------------------------------------------------


def stackfield_url_create(
    *,
    organization: Organization,
    actor: Actor,
    kind: str,
    channel: Channel | None = None,
    name: str = "",
) -> IssuedIntegration:
    """A new Stackfield URL of ``kind`` (its uuid is ``token``, shown once). The kinds
    that post need their ``channel``; ``room-settings`` takes one or works with
    ``RoomId``; ``organization`` takes none. Every URL posts and acts as the
    organization's ``stackfield`` bot (provisioned on first use)."""
    if kind not in KINDS:
        raise DomainError(
            "invalid_parameter",
            f"kind must be one of {', '.join(KINDS)}.",
            field="kind",
        )
    if kind in CHANNEL_KINDS and channel is None:
        raise DomainError(
            "missing_parameter",
            f"A {kind} URL posts into a channel: give its channel.",
            field="channel",
        )
    if kind == Kind.ORGANIZATION and channel is not None:
        raise DomainError(
            "invalid_parameter",
            "An organization URL has no channel (its room commands take a RoomId).",
            field="channel",
        )
    fields: dict[str, Any] = {"username": BOT_USERNAME, "name": name or f"Stackfield {kind}"}
    if channel is not None:
        fields["channel"] = channel
    return integration_create(
        organization=organization,
        actor=actor,
        flavor=Integration.Flavor.STACKFIELD,
        direction=Integration.Direction.INCOMING,
        kind=kind,
        **fields,
    )


# --- a call ----------------------------------------------------------------------------


@dataclass
class _Call:
    integration: Integration
    payload: Mapping[str, Any]
    upload: UploadedFile | None

    @property
    def organization(self) -> Organization:
        return self.integration.organization

    @property
    def bot(self) -> Member:
        bot = self.integration.bot
        if bot is None:
            raise DomainError("invalid_username", "This URL has no user to act as.")
        if bot.is_inactive:
            raise DomainError("user_deactivated", f"User {bot.user_id!r} is deactivated.")
        return bot

    @property
    def actor(self) -> Actor:
        return Actor.for_member(self.bot)

    @property
    def channel(self) -> Channel:
        channel = self.integration.channel
        if channel is None:
            raise DomainError("invalid_channel", "This URL is bound to no channel.")
        return channel


def upload_key(upload: UploadedFile) -> bytes:
    """What makes two file calls "the same request": the file's name and bytes (a
    multipart body's boundary differs on every send)."""
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return f"File:{upload.name}:{digest.hexdigest()}".encode()


def stackfield_call(
    *,
    integration: Integration,
    payload: Mapping[str, Any] | None = None,
    body: bytes = b"",
    upload: UploadedFile | None = None,
) -> StackfieldOutcome:
    """Carry out one admitted call: ``payload`` (the JSON object, ``body`` its bytes) or,
    for a file URL, ``upload``. All of it in one transaction with ``incoming_once``
    (409 ``double_request``: nothing done); a refusal writes nothing but its history
    entry (and, for the content filter's, the dashboard's count), after the rollback."""
    call = _Call(integration, payload or {}, upload)
    key = upload_key(upload) if upload is not None else body
    seen = _history_data(call)
    try:
        with transaction.atomic():
            check_enabled(integration)
            incoming_once(integration, key)
            action = _ACTIONS.get(integration.kind)
            if action is None:  # not one of Stackfield's kinds: nothing to do
                raise DomainError("invalid_parameter", f"A {integration.kind} URL does nothing.")
            outcome = action(call)
            history_record(
                integration,
                step="incoming-posted" if outcome.message_ids else "incoming-command",
                data=seen,
                message_ids=outcome.message_ids,
            )
    except DomainError as exc:
        filter_refusal_count(organization=integration.organization, code=exc.code)
        history_record(integration, step="incoming-refused", data=seen, error=exc.message)
        raise
    return outcome


def _history_data(call: _Call) -> dict[str, Any]:
    if call.upload is not None:
        return {"File": {"name": call.upload.name, "size": call.upload.size}}
    return dict(call.payload)


# --- fields ----------------------------------------------------------------------------


def _text(payload: Mapping[str, Any], name: str, max_length: int, *, required: bool = False) -> str:
    """A string property, trimmed; "" when absent (or 400 ``missing_parameter`` when
    ``required``); 400 ``invalid_parameter`` when not a string or too long."""
    value = payload.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise DomainError("invalid_parameter", f"{name} must be a string.", field=name)
    value = value.strip()
    if required and is_invisible(value):
        raise DomainError("missing_parameter", f"{name} is null or empty.", field=name)
    if len(value) > max_length:
        raise DomainError(
            "invalid_parameter", f"{name} must be at most {max_length} characters.", field=name
        )
    return value


def _organization_zone(organization: Organization) -> tzinfo:
    """The organization's time zone for ``DateStart``/``DateEnd`` without an offset:
    UTC, until organizations have a time zone of their own (then that one)."""
    name = getattr(organization, "time_zone", "") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _when(
    payload: Mapping[str, Any], name: str, *, zone: tzinfo, required: bool
) -> datetime | None:
    """``YYYY-MM-DD HH:MM`` in ``zone`` (seconds, a ``T``, or an offset such as ``Z`` or
    ``+02:00`` are read too); None when absent and not required."""
    value = payload.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise DomainError("missing_parameter", f"{name} is null or empty.", field=name)
        return None
    if not isinstance(value, str) or len(value) > MAX_DATE_LENGTH:
        raise DomainError(
            "invalid_parameter", f"{name} must be a date: YYYY-MM-DD HH:MM.", field=name
        )
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise DomainError(
            "invalid_parameter",
            f"{name} could not be parsed: {value[:MAX_DATE_LENGTH]!r} (YYYY-MM-DD HH:MM).",
            field=name,
        ) from None


def _window(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end < start:
        raise DomainError("end_before_start", "DateEnd is before DateStart.", field="DateEnd")


def _email(value: Any, name: str) -> str:
    """An email address, in lower case (accounts keep them so); else 400
    ``invalid_parameter`` on ``name``."""
    if not isinstance(value, str) or len(value.strip()) > MAX_EMAIL_LENGTH:
        raise DomainError("invalid_parameter", f"{name}: not an email address.", field=name)
    email = value.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise DomainError(
            "invalid_parameter", f"{name}: {email[:64]!r} is not an email address.", field=name
        ) from None
    return email


def _bool(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise DomainError("invalid_parameter", f"{name} must be true or false.", field="Users")


def _users(payload: Mapping[str, Any], *, required: bool) -> dict[str, bool]:
    """``Users``: emails as plain strings or objects ``{"Email", "IsAdmin"}`` (``GroupId``
    and other keys are ignored) -> {email: is admin}, in the given order."""
    value = payload.get("Users")
    if value is None or value == []:
        if required:
            raise DomainError("missing_parameter", "Users is null or empty.", field="Users")
        return {}
    if not isinstance(value, list):
        raise DomainError("invalid_parameter", "Users must be a list.", field="Users")
    if len(value) > MAX_USER_IDS:
        raise DomainError("invalid_parameter", f"At most {MAX_USER_IDS} Users.", field="Users")
    users: dict[str, bool] = {}
    for item in value:
        if isinstance(item, str):
            email, admin = _email(item, "Users"), False
        elif isinstance(item, dict):
            email = _email(item.get("Email"), "Users")
            admin = _bool(item.get("IsAdmin"), "Users.IsAdmin")
        else:
            raise DomainError(
                "invalid_parameter",
                'Each of Users is an email or an object {"Email": ..., "IsAdmin": ...}.',
                field="Users",
            )
        users[email] = users.get(email, False) or admin
    return users


def members_by_email(
    *, organization: Organization, emails: Sequence[str], include_removed: bool = False
) -> dict[str, Member]:
    """email (lower case) -> the member it names: the one whose account has that email,
    else the one whose userId is that email. Removed members only with
    ``include_removed``. One query."""
    wanted = set(emails)
    if not wanted:
        return {}
    rows = Member.objects.filter(organization=organization).filter(
        Q(account__email__in=wanted) | Q(user_id__in=wanted)
    )
    if not include_removed:
        rows = rows.filter(removed_at__isnull=True)
    by_account: dict[str, Member] = {}
    by_user_id: dict[str, Member] = {}
    for member in rows.select_related("account").order_by("pk"):
        account_email = member.account.email.lower() if member.account_id else None
        if account_email in wanted:
            by_account.setdefault(account_email, member)
        if member.user_id in wanted:
            by_user_id.setdefault(member.user_id, member)
    return {**by_user_id, **by_account}


def _members(
    organization: Organization, emails: Sequence[str], *, active: bool = True
) -> list[Member]:
    """The members these emails name, in order: 404 ``user_not_found`` on ``Users`` for
    an email that names none; with ``active``, 403 ``user_deactivated`` for one that
    names a deactivated member."""
    found = members_by_email(organization=organization, emails=emails)
    unknown = [e for e in emails if e not in found]
    if unknown:
        raise DomainError(
            "user_not_found",
            f"No member with the email {', '.join(unknown[:5])}.",
            field="Users",
        )
    inactive = [e for e in emails if found[e].deactivated_at is not None]
    if active and inactive:
        raise DomainError(
            "user_deactivated",
            f"Deactivated: {', '.join(inactive[:5])}.",
            field="Users",
        )
    return [found[e] for e in emails]


def _command(call: _Call, allowed: Sequence[str]) -> str:
    value = call.payload.get("Command")
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DomainError("missing_parameter", "Command is null or empty.", field="Command")
    names = {name.lower(): name for name in allowed}
    command = names.get(value.strip().lower()) if isinstance(value, str) else None
    if command is None:
        shown = value[:64] if isinstance(value, str) else type(value).__name__
        raise DomainError(
            "invalid_parameter",
            f"Command {shown!r} is unknown here; this URL takes {', '.join(allowed)}.",
            field="Command",
        )
    return command


# --- posting ---------------------------------------------------------------------------


def _post(
    call: _Call, type: str, data: dict[str, Any], *, parent: Message | None = None
) -> Message:
    """One message into the URL's channel as its bot (``data.bot`` names the URL)."""
    return message_create(
        organization=call.organization,
        actor=call.actor,
        channel=call.channel,
        type=type,
        data={**data, "bot": {"i": str(call.integration.pk)}},
        author=call.bot,
        parent_id=str(parent.public_id) if parent is not None else None,
    )


def _title(call: _Call) -> str:
    return _text(call.payload, "Title", MAX_TEXT_LENGTH, required=True)


def _content(call: _Call) -> dict[str, Any]:
    """``Content`` as the message's first attachment (where the filter reads it)."""
    content = _text(call.payload, "Content", MAX_TEXT_LENGTH)
    return {"attachments": [{"text": content}]} if content else {}


def _done(*messages: Message, room_id: str | None = None) -> StackfieldOutcome:
    return StackfieldOutcome([str(m.public_id) for m in messages], room_id)


def _chat_message(call: _Call) -> StackfieldOutcome:
    return _done(_post(call, Message.Type.TEXT, {"text": _title(call)}))


def _discussion(call: _Call) -> StackfieldOutcome:
    title = _title(call)
    content = _text(call.payload, "Content", MAX_TEXT_LENGTH)
    root = _post(call, Message.Type.TEXT, {"kind": "discussion", "text": title})
    if not content:
        return _done(root)
    return _done(root, _post(call, Message.Type.TEXT, {"text": content}, parent=root))


def _task(call: _Call) -> StackfieldOutcome:
    title, content = _title(call), _content(call)
    zone = _organization_zone(call.organization)
    start = _when(call.payload, "DateStart", zone=zone, required=False)
    end = _when(call.payload, "DateEnd", zone=zone, required=False)
    _window(start, end)
    assignees = _members(call.organization, list(_users(call.payload, required=False)))
    task = {
        "dateStart": iso(start),
        "dateEnd": iso(end),
        "assignees": [m.user_id for m in assignees],
    }
    data = {"kind": "task", "text": title, **content, "task": task}
    return _done(_post(call, Message.Type.CUSTOM, data))


def _page(call: _Call) -> StackfieldOutcome:
    data = {"kind": "page", "text": _title(call), **_content(call)}
    return _done(_post(call, Message.Type.CUSTOM, data))


def _event(call: _Call) -> StackfieldOutcome:
    title, content = _title(call), _content(call)
    zone = _organization_zone(call.organization)
    start = _when(call.payload, "DateStart", zone=zone, required=True)
    end = _when(call.payload, "DateEnd", zone=zone, required=True)
    assert start is not None and end is not None
    _window(start, end)
    invitees = _members(call.organization, list(_users(call.payload, required=False)))
    event = calendar_event_create(
        organization=call.organization,
        actor=call.actor,
        title=title,
        starts_at=start,
        ends_at=end,
        participants=invitees,
    )
    about = {
        "id": str(event.pk),
        "dateStart": iso(start),
        "dateEnd": iso(end),
        "chatroomId": event.chatroom.channel_id,
        "invitees": [m.user_id for m in invitees],
    }
    data = {"kind": "event", "text": title, **content, "event": about}
    return _done(_post(call, Message.Type.CUSTOM, data))


def _file(call: _Call) -> StackfieldOutcome:
    if call.upload is None:
        raise DomainError(
            "invalid_file", "No file: send it as the multipart field File.", field="File"
        )
    message = message_create_file(
        organization=call.organization,
        actor=call.actor,
        channel=call.channel,
        upload=call.upload,
        author=call.bot,
    )
    return _done(message)


# --- commands --------------------------------------------------------------------------


def _room(call: _Call) -> Channel:
    """The channel a room command acts on: the URL's own, or the live channel of the
    organization whose channelId is ``RoomId`` (a URL bound to a channel acts on no
    other: 404 ``channel_not_found`` on ``RoomId``, as for an unknown one)."""
    room_id = call.payload.get("RoomId")
    bound = call.integration.channel
    if room_id is None or room_id == "":
        if bound is None:
            raise DomainError("missing_parameter", "RoomId is null or empty.", field="RoomId")
        return bound
    if not isinstance(room_id, str) or len(room_id) > 128:
        raise DomainError("invalid_parameter", "RoomId must be a room's id.", field="RoomId")
    found = Channel.objects.filter(
        channel_live_q(), organization=call.organization, channel_id=room_id.strip()
    ).first()
    if found is None or (bound is not None and found.pk != bound.pk):
        raise DomainError("channel_not_found", f"No room {room_id[:64]!r}.", field="RoomId")
    return found


def _open_room(call: _Call) -> Channel:
    """The room, refused when it is closed or archived (403) or gone (404)."""
    room = _room(call)
    refusal = channel_refusal(room)
    if refusal is not None:
        raise refusal
    return room


def _archive_room(call: _Call) -> StackfieldOutcome:
    channel_archive(channel=_room(call), actor=call.actor)
    return StackfieldOutcome()


def _grant_room_access(call: _Call) -> StackfieldOutcome:
    room = _open_room(call)
    users = _users(call.payload, required=True)
    members = _members(call.organization, list(users))
    channel_users_add(channel=room, actor=call.actor, user_ids=[m.user_id for m in members])
    owners = [m for m, email in zip(members, users, strict=True) if users[email]]
    if owners:
        conversation_owners_add(channel=room, actor=call.actor, members=owners)
    return StackfieldOutcome()


def _revoke_room_access(call: _Call) -> StackfieldOutcome:
    room = _open_room(call)
    emails = list(_users(call.payload, required=True))
    members = _members(call.organization, emails, active=False)
    channel_users_remove(channel=room, actor=call.actor, user_ids=[m.user_id for m in members])
    return StackfieldOutcome()


def _org_role(payload: Mapping[str, Any]) -> str:
    value = payload.get("OrgRoleId")
    if value is None or value == "":
        raise DomainError("missing_parameter", "OrgRoleId is null or empty.", field="OrgRoleId")
    number = parse_integer(value)  # " 2 " is no integer here, as on every surface
    if number not in ORG_ROLES:
        raise DomainError(
            "invalid_parameter",
            "OrgRoleId must be 1 (admin), 2 (member), 3 (guest) or 4 (external).",
            field="OrgRoleId",
        )
    return ORG_ROLES[number]


def _create_user(call: _Call) -> StackfieldOutcome:
    """A member for the email: its account (made without a password if new) linked to a
    new member with the role and display name; a removed member of that email is
    brought back. 409 ``user_exists`` when the email names a member already."""
    if call.payload.get("Email") in (None, ""):
        raise DomainError("missing_parameter", "Email is null or empty.", field="Email")
    email = _email(call.payload.get("Email"), "Email")
    display_name = _text(call.payload, "DisplayName", MAX_DISPLAY_NAME_LENGTH, required=True)
    role = _org_role(call.payload)
    existing = members_by_email(
        organization=call.organization, emails=[email], include_removed=True
    ).get(email)
    if existing is not None and existing.removed_at is None:
        raise DomainError("user_exists", f"{email} is already a member.", field="Email")
    if existing is not None:
        member_restore(actor=call.actor, member=existing)
    account, _ = account_get_or_create(email=email)
    member = member_get_or_create_for_account(
        organization=call.organization,
        account=account,
        actor=call.actor,
        role=role,
        set_role=True,
        claim_user_id=True,
    ).member
    if member.display_name != display_name:
        member_update(actor=call.actor, member=member, display_name=display_name)
    return StackfieldOutcome()


def _named_member(call: _Call) -> Member:
    if call.payload.get("Email") in (None, ""):
        raise DomainError("missing_parameter", "Email is null or empty.", field="Email")
    email = _email(call.payload.get("Email"), "Email")
    member = members_by_email(organization=call.organization, emails=[email]).get(email)
    if member is None:
        raise DomainError(
            "user_not_found", f"{email} is not a member of this organization.", field="Email"
        )
    return member


def _remove_user(call: _Call) -> StackfieldOutcome:
    member_remove(actor=call.actor, member=_named_member(call))
    return StackfieldOutcome()


def _deactivate_user(call: _Call) -> StackfieldOutcome:
    member_deactivate(actor=call.actor, member=_named_member(call))
    return StackfieldOutcome()


def _create_room(call: _Call) -> StackfieldOutcome:
    name = _text(call.payload, "Name", MAX_NAME_LENGTH, required=True)
    description = _text(call.payload, "Description", MAX_DESCRIPTION_LENGTH)
    users = _users(call.payload, required=False)
    members = _members(call.organization, list(users))
    room = conversation_create_by_actor(
        organization=call.organization,
        actor=call.actor,
        name=name,
        topic=description,
        members=members,
        owners=[m for m, email in zip(members, users, strict=True) if users[email]],
    )
    return StackfieldOutcome(room_id=room.channel_id)


_COMMANDS: dict[str, Callable[[_Call], StackfieldOutcome]] = {
    "ArchiveRoom": _archive_room,
    "GrantRoomAccess": _grant_room_access,
    "RevokeRoomAccess": _revoke_room_access,
    "CreateUser": _create_user,
    "RemoveUser": _remove_user,
    "DeactivateUser": _deactivate_user,
    "CreateRoom": _create_room,
}


def _room_settings(call: _Call) -> StackfieldOutcome:
    return _COMMANDS[_command(call, ROOM_COMMANDS)](call)


def _organization(call: _Call) -> StackfieldOutcome:
    return _COMMANDS[_command(call, ORGANIZATION_COMMANDS)](call)


_ACTIONS: dict[str, Callable[[_Call], StackfieldOutcome]] = {
    Kind.CHAT_MESSAGE: _chat_message,
    Kind.DISCUSSION: _discussion,
    Kind.TASK: _task,
    Kind.PAGE: _page,
    Kind.FILE: _file,
    Kind.EVENT: _event,
    Kind.ROOM_SETTINGS: _room_settings,
    Kind.ORGANIZATION: _organization,
}
