"""The fan-out of outgoing webhooks: domain events become deliveries.

:func:`on_event` is an outbox subscriber (registered in ``IntegrationsConfig.ready()``).
For each domain event it maps to a Rocket.Chat outgoing event, it finds the matching
integrations (enabled, outgoing, flavor ``rocketchat``, of the event's organization,
``event`` equal to the mapped one: one query), applies Rocket.Chat's rules and writes one
delivery per integration and URL through
:func:`~apps.integrations.services.delivery.deliveries_create`. Nothing is sent here:
the deliveries have their own schedule (apps.integrations.services.delivery).

- ``message.created``: ``sendMessage`` (text, custom) or ``fileUploaded`` (file, image);
- ``message.updated`` (its text): ``sendMessage`` with ``isEdited`` (``runOnEdits``
  integrations only) and ``messageEdited``;
- ``message.deleted``: ``messageDeleted``;
- ``channel.archived``, ``channel.created``: ``roomArchived``, ``roomCreated``;
- ``member.joined``, ``member.left``: ``roomJoined``, ``roomLeft``, one per user;
- ``user.created``: ``userCreated``, one per user.

Rocket.Chat's rules (channel targets, trigger words, ``runOnEdits``), a loop guard (a
message an integration posted, ``data.bot.i``, never triggers it) and the payloads are
described in docs/events.md ("Outgoing events"). Events of a channel that is gone by
dispatch time (closed, removed, due for deletion) are skipped.

At least once and idempotent: every delivery's ``event_id`` is the outbox event's
(per user events: ``uuid5(event_id, userId)``), and a delivery is unique on
(integration, event_id, url), so an event delivered twice writes nothing new.
Payloads never carry secrets: Rocket.Chat's ``token`` is added at send time.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel, Membership, membership_current_q
from apps.channels.selectors.channels import channel_is_gone
from apps.core.errors import DomainError
from apps.events.models import Event, EventType
from apps.integrations.models import Delivery, Integration
from apps.integrations.services.delivery import NewDelivery, deliveries_create
from apps.integrations.services.integrations import channel_by_reference, check_manage
from apps.members.models import Member
from apps.messages.models import Message

#: The domain events the fan-out subscribes to.
SUBSCRIBED_TYPES = (
    EventType.MESSAGE_CREATED,
    EventType.MESSAGE_UPDATED,
    EventType.MESSAGE_DELETED,
    EventType.CHANNEL_ARCHIVED,
    EventType.CHANNEL_CREATED,
    EventType.MEMBER_JOINED,
    EventType.MEMBER_LEFT,
    EventType.USER_CREATED,
)
#: The text of a test event.
TEST_TEXT = "This is a test event from chatadmin"
#: ``siteUrl`` when neither ``CHATADMIN["SITE_URL"]`` nor ``CSRF_TRUSTED_ORIGINS`` says
#: where the server is (what ``manage.py seed_demo`` and ``create_webhook`` print).
DEFAULT_SITE_URL = "http://127.0.0.1:8000"

_FILE_TYPES = (Message.Type.FILE, Message.Type.IMAGE)
_ROOM_TYPES = {
    Channel.Visibility.PUBLIC: "c",
    Channel.Visibility.PRIVATE: "p",
    Channel.Visibility.GROUP: "d",
}
_ALL_TARGETS = {
    "all_public_channels": Channel.Visibility.PUBLIC,
    "all_private_groups": Channel.Visibility.PRIVATE,
    "all_direct_messages": Channel.Visibility.GROUP,
}


# --- small helpers ---------------------------------------------------------------------


def site_url() -> str:
    """Rocket.Chat's ``siteUrl``: ``CHATADMIN["SITE_URL"]`` when set, else the first
    (non-wildcard) ``CSRF_TRUSTED_ORIGINS`` entry (the console's public origin behind a
    proxy), else ``http://127.0.0.1:8000`` (the embedded default)."""
    configured = settings.CHATADMIN["SITE_URL"]
    if configured:
        return str(configured).rstrip("/")
    for origin in getattr(settings, "CSRF_TRUSTED_ORIGINS", []) or []:
        if origin and "*" not in origin:
            return str(origin).rstrip("/")
    return DEFAULT_SITE_URL


def timestamp(value: datetime | str | None) -> str | None:
    """ISO 8601 in UTC as Rocket.Chat's JSON writes a date: ``2024-05-01T12:00:00.123Z``."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _user_ids(payload: Mapping[str, Any]) -> list[str]:
    ids = payload.get("userIds")
    if not isinstance(ids, list):
        return []
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


def _bot_marker(data: Any) -> str | None:
    """The pk (a string) of the integration that posted a message (``data.bot.i``)."""
    bot = data.get("bot") if isinstance(data, dict) else None
    marker = bot.get("i") if isinstance(bot, dict) else None
    return str(marker) if marker is not None else None


def message_text(data: Any) -> str:
    """A message's text as stored: ``data.text``, an image's caption, else ``""``."""
    if not isinstance(data, dict):
        return ""
    for key in ("text", "caption"):
        if isinstance(data.get(key), str):
            return data[key]
    return ""


def user_object(member: Member | None, user_id: str | None = None) -> dict[str, Any] | None:
    """Rocket.Chat's user, as a safe subset: ids and names only (never tokens, emails or
    password material)."""
    if member is None:
        if not user_id:
            return None
        return {"_id": user_id, "username": user_id}
    return {
        "_id": member.user_id,
        "username": member.user_id,
        "name": member.display_name or member.user_id,
        "type": "bot" if member.is_bot else "user",
    }


def room_name(channel: Channel) -> str:
    return channel.display_name or channel.channel_id


def room_object(channel: Channel) -> dict[str, Any]:
    """Rocket.Chat's room: ``t`` is ``c`` (public), ``p`` (private) or ``d`` (group)."""
    return {
        "_id": channel.channel_id,
        "name": room_name(channel),
        "t": _ROOM_TYPES.get(channel.visibility, "p"),
    }


def _context(
    channel: Channel | None, author: Member | None, trigger_word: str | None = None
) -> dict[str, Any]:
    return {
        "channel": channel.pk if channel is not None else None,
        "author": author.pk if author is not None else None,
        "triggerWord": trigger_word,
    }


# --- what the fan-out reads ------------------------------------------------------------


def _candidates(organization_id: int, events: Sequence[str]) -> list[Integration]:
    """The enabled outgoing Rocket.Chat integrations of the organization listening to
    one of ``events`` (one query)."""
    return list(
        Integration.objects.filter(
            organization_id=organization_id,
            direction=Integration.Direction.OUTGOING,
            flavor=Integration.Flavor.ROCKETCHAT,
            enabled=True,
            event__in=list(events),
        ).order_by("pk")
    )


def _channel(organization_id: int, channel_id: Any) -> Channel | None:
    """The event's channel, unless it is gone (closed, removed, due for deletion)."""
    if not isinstance(channel_id, str) or not channel_id:
        return None
    channel = Channel.objects.filter(organization_id=organization_id, channel_id=channel_id).first()
    if channel is None or channel.closed_at is not None or channel_is_gone(channel):
        return None
    return channel


def _members(organization_id: int, user_ids: Iterable[str]) -> dict[str, Member]:
    ids = [u for u in user_ids if u]
    if not ids:
        return {}
    rows = Member.objects.filter(organization_id=organization_id, user_id__in=ids)
    return {m.user_id: m for m in rows}


def _member(organization_id: int, user_id: str | None) -> Member | None:
    return _members(organization_id, [user_id]).get(user_id) if user_id else None


def _actor_user_id(payload: Mapping[str, Any]) -> str | None:
    """The userId of a member who acted for itself (its audit label ``member <userId>``)."""
    label = payload.get("actor")
    if isinstance(label, str) and label.startswith("member "):
        return label[len("member ") :] or None
    return None


class _GroupMembers:
    """The current members' userIds of a group conversation, read once if needed."""

    def __init__(self, channel: Channel, extra: Iterable[str] = ()) -> None:
        self.channel = channel
        self.extra = set(extra)
        self._ids: set[str] | None = None

    def __contains__(self, user_id: object) -> bool:
        if user_id in self.extra:
            return True
        if self._ids is None:
            self._ids = set(
                Membership.objects.filter(
                    membership_current_q(), channel_id=self.channel.pk
                ).values_list("member__user_id", flat=True)
            )
        return user_id in self._ids


# --- the rules -------------------------------------------------------------------------


def targets_match(
    integration: Integration,
    channel: Channel,
    *,
    author_user_id: str | None = None,
    group_members: Any = None,
) -> bool:
    """Whether ``integration``'s targets name ``channel`` (docs/events.md, "Outgoing
    events"); ``group_members`` answers ``userId in`` for a group conversation."""
    targets = [t for t in (integration.targets or []) if isinstance(t, str)]
    if not targets:
        targets = ["all_public_channels"]
    visibility = channel.visibility
    for target in targets:
        if target in _ALL_TARGETS:
            if _ALL_TARGETS[target] == visibility:
                return True
        elif target.startswith("#"):
            if target[1:] in (channel.channel_id, channel.display_name):
                return True
        elif (
            target.startswith("@")
            and visibility == Channel.Visibility.GROUP
            and channel.member_count <= 2
        ):
            user_id = target[1:]
            if user_id and user_id != author_user_id:
                if group_members is None:
                    group_members = _GroupMembers(channel)
                if user_id in group_members:
                    return True
    return False


def trigger_word(integration: Integration, text: str) -> tuple[bool, str | None]:
    """(triggered, the word): every text when no trigger word is set; else the first word
    the text starts with (or contains, with ``trigger_word_anywhere``)."""
    words = [w for w in (integration.trigger_words or []) if isinstance(w, str) and w]
    if not words:
        return True, None
    for word in words:
        found = word in text if integration.trigger_word_anywhere else text.startswith(word)
        if found:
            return True, word
    return False, None


# --- payloads --------------------------------------------------------------------------


@dataclass
class _Msg:
    """What a message event says about its message."""

    message_id: str
    type: str
    data: dict[str, Any]
    created_at: Any
    parent_id: str | None
    edited: bool = False

    @property
    def text(self) -> str:
        return message_text(self.data)


def _message_payload(
    rc_event: str,
    *,
    channel: Channel,
    msg: _Msg,
    author: Member | None,
    author_user_id: str | None,
) -> dict[str, Any]:
    """``mapEventArgsToData`` of a message event (without ``token`` and ``trigger_word``)."""
    payload: dict[str, Any] = {
        "bot": bool((author is not None and author.is_bot) or _bot_marker(msg.data) is not None),
        "channel_id": channel.channel_id,
        "channel_name": room_name(channel),
        "message_id": msg.message_id,
        "timestamp": timestamp(msg.created_at),
        "user_id": author_user_id,
        "user_name": author_user_id,
        "text": msg.text,
    }
    if rc_event != "fileUploaded":
        payload["siteUrl"] = site_url()
    alias = msg.data.get("alias")
    if isinstance(alias, str) and alias:
        payload["alias"] = alias
    if rc_event == "fileUploaded":
        message: dict[str, Any] = {
            "_id": msg.message_id,
            "msg": msg.text,
            "ts": timestamp(msg.created_at),
            "u": {"_id": author_user_id, "username": author_user_id},
        }
        if msg.type == Message.Type.FILE:
            message["file"] = {
                "name": msg.data.get("name"),
                "type": msg.data.get("contentType"),
                "size": msg.data.get("size"),
            }
        if msg.parent_id:
            message["tmid"] = msg.parent_id
        payload["user"] = user_object(author, author_user_id)
        payload["room"] = room_object(channel)
        payload["message"] = message
        return payload
    if msg.edited:
        payload["isEdited"] = True
    if msg.parent_id:
        payload["tmid"] = msg.parent_id
    return payload


def _room_payload(
    channel: Channel, user: Member | None, user_id: str | None, at: Any
) -> dict[str, Any]:
    """``roomArchived``, ``roomJoined``, ``roomLeft``: the room and the user."""
    payload: dict[str, Any] = {
        "bot": bool(user is not None and user.is_bot),
        "timestamp": timestamp(at),
        "channel_id": channel.channel_id,
        "channel_name": room_name(channel),
    }
    if user_id:
        payload |= {
            "user_id": user_id,
            "user_name": user_id,
            "user": user_object(user, user_id),
        }
    payload["room"] = room_object(channel)
    return payload


# --- the handlers ----------------------------------------------------------------------


def _message_rows(
    event: Event,
    integrations: list[Integration],
    *,
    channel: Channel,
    msg: _Msg,
    author_user_id: str | None,
) -> list[NewDelivery]:
    """The deliveries of one message event to the candidate integrations."""
    author = _member(event.organization_id, author_user_id)
    marker = _bot_marker(msg.data)
    group = _GroupMembers(channel)  # read only if an @ target needs it
    payloads: dict[str, dict[str, Any]] = {}
    rows: list[NewDelivery] = []
    for integration in integrations:
        if marker is not None and marker == str(integration.pk):
            continue  # the loop guard: its own message
        rc_event = integration.event
        if not targets_match(
            integration, channel, author_user_id=author_user_id, group_members=group
        ):
            continue
        word = None
        if rc_event == "sendMessage":
            if msg.edited and not integration.run_on_edits:
                continue
            triggered, word = trigger_word(integration, msg.text)
            if not triggered:
                continue
        if rc_event not in payloads:
            payloads[rc_event] = _message_payload(
                rc_event, channel=channel, msg=msg, author=author, author_user_id=author_user_id
            )
        payload = payloads[rc_event]
        if word is not None:
            payload = {**payload, "trigger_word": word}
        rows.append(
            NewDelivery(
                integration,
                event=rc_event,
                payload=payload,
                event_id=event.event_id,
                context=_context(channel, author, word),
            )
        )
    return rows


def _on_message_created(event: Event) -> list[NewDelivery]:
    payload = event.payload
    rc_event = "fileUploaded" if payload.get("type") in _FILE_TYPES else "sendMessage"
    integrations = _candidates(event.organization_id, [rc_event])
    if not integrations:
        return []
    message_id = _str(payload.get("messageId"))
    channel = _channel(event.organization_id, payload.get("channelId"))
    if message_id is None or channel is None:
        return []
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
    msg = _Msg(
        message_id=message_id,
        type=str(payload.get("type") or ""),
        data=data,
        created_at=payload.get("createdAt") or event.created_at,
        parent_id=_str(payload.get("parentId")),
    )
    return _message_rows(
        event, integrations, channel=channel, msg=msg, author_user_id=_str(payload.get("userId"))
    )


def _stored_message(event: Event) -> dict[str, Any] | None:
    """The message row an edit or a delete is about (soft-deleted ones too)."""
    public_id = _uuid(event.payload.get("messageId"))
    if public_id is None:
        return None
    return (
        Message.objects.filter(organization_id=event.organization_id, public_id=public_id)
        .values("created_at", "edited_at", "data", "type", "parent__public_id")
        .first()
    )


def _on_message_updated(event: Event) -> list[NewDelivery]:
    payload = event.payload
    changed = payload.get("changed")
    if not isinstance(changed, list) or "text" not in changed:
        return []  # a pin or an unpin
    kind = payload.get("type")
    wanted = ["messageEdited"] if kind in _FILE_TYPES else ["sendMessage", "messageEdited"]
    integrations = [
        i
        for i in _candidates(event.organization_id, wanted)
        if i.event != "sendMessage" or i.run_on_edits
    ]
    if not integrations:
        return []
    channel = _channel(event.organization_id, payload.get("channelId"))
    stored = _stored_message(event)
    if channel is None or stored is None:
        return []
    data = payload.get("data") if isinstance(payload.get("data"), dict) else stored["data"]
    msg = _Msg(
        message_id=str(payload["messageId"]),
        type=str(kind or stored["type"]),
        data=data if isinstance(data, dict) else {},
        created_at=stored["created_at"],
        parent_id=str(stored["parent__public_id"]) if stored["parent__public_id"] else None,
        edited=True,
    )
    rows = _message_rows(
        event, integrations, channel=channel, msg=msg, author_user_id=_str(payload.get("userId"))
    )
    edited_at = timestamp(payload.get("editedAt") or stored["edited_at"])
    return [_with(row, editedAt=edited_at) if row.event == "messageEdited" else row for row in rows]


def _on_message_deleted(event: Event) -> list[NewDelivery]:
    payload = event.payload
    integrations = _candidates(event.organization_id, ["messageDeleted"])
    if not integrations:
        return []
    channel = _channel(event.organization_id, payload.get("channelId"))
    stored = _stored_message(event)
    if channel is None or stored is None:
        return []
    msg = _Msg(
        message_id=str(payload["messageId"]),
        type=str(payload.get("type") or stored["type"]),
        data=stored["data"] if isinstance(stored["data"], dict) else {},
        created_at=stored["created_at"],
        parent_id=str(stored["parent__public_id"]) if stored["parent__public_id"] else None,
        edited=stored["edited_at"] is not None,
    )
    rows = _message_rows(
        event, integrations, channel=channel, msg=msg, author_user_id=_str(payload.get("userId"))
    )
    deleted_at = timestamp(payload.get("deletedAt") or event.created_at)
    return [_with(row, deletedAt=deleted_at) for row in rows]


def _with(row: NewDelivery, **extra: Any) -> NewDelivery:
    return replace(row, payload={**row.payload, **extra})


def _on_room_archived(event: Event) -> list[NewDelivery]:
    integrations = _candidates(event.organization_id, ["roomArchived"])
    if not integrations:
        return []
    channel = _channel(event.organization_id, event.payload.get("channelId"))
    if channel is None:
        return []
    user_id = _actor_user_id(event.payload)
    user = _member(event.organization_id, user_id)
    at = event.payload.get("archivedAt") or event.created_at
    payload = _room_payload(channel, user, user_id, at)
    return [
        NewDelivery(
            integration,
            event="roomArchived",
            payload=payload,
            event_id=event.event_id,
            context=_context(channel, user),
        )
        for integration in integrations
    ]


def _on_room_created(event: Event) -> list[NewDelivery]:
    integrations = _candidates(event.organization_id, ["roomCreated"])
    if not integrations:
        return []
    channel = _channel(event.organization_id, event.payload.get("channelId"))
    if channel is None:
        return []
    owner = (
        Member.objects.filter(
            memberships__channel_id=channel.pk,
            memberships__is_owner=True,
            memberships__joined_at__isnull=False,
        )
        .order_by("memberships__pk")
        .first()
    )
    if owner is None:
        owner = _member(event.organization_id, _actor_user_id(event.payload))
    payload: dict[str, Any] = {
        "bot": False,
        "channel_id": channel.channel_id,
        "channel_name": room_name(channel),
        "timestamp": timestamp(event.payload.get("createdAt") or event.created_at),
    }
    if owner is not None:
        payload |= {
            "user_id": owner.user_id,
            "user_name": owner.user_id,
            "owner": user_object(owner),
        }
    payload["room"] = room_object(channel)
    return [
        NewDelivery(
            integration,
            event="roomCreated",
            payload=payload,
            event_id=event.event_id,
            context=_context(channel, owner),
        )
        for integration in integrations
    ]


def _on_membership(rc_event: str) -> Callable[[Event], list[NewDelivery]]:
    """``roomJoined`` / ``roomLeft``: one delivery per user, by channel targets."""

    def handle(event: Event) -> list[NewDelivery]:
        integrations = _candidates(event.organization_id, [rc_event])
        if not integrations:
            return []
        user_ids = _user_ids(event.payload)
        channel = _channel(event.organization_id, event.payload.get("channelId"))
        if channel is None or not user_ids:
            return []
        members = _members(event.organization_id, user_ids)
        at = event.payload.get("joinedAt") or event.created_at
        group = _GroupMembers(channel, extra=user_ids)
        rows: list[NewDelivery] = []
        for user_id in user_ids:
            member = members.get(user_id)
            payload = _room_payload(channel, member, user_id, at)
            event_id = uuid.uuid5(event.event_id, user_id)
            for integration in integrations:
                if targets_match(integration, channel, group_members=group):
                    rows.append(
                        NewDelivery(
                            integration,
                            event=rc_event,
                            payload=payload,
                            event_id=event_id,
                            context=_context(channel, member),
                        )
                    )
        return rows

    return handle


def _on_user_created(event: Event) -> list[NewDelivery]:
    integrations = _candidates(event.organization_id, ["userCreated"])
    if not integrations:
        return []
    user_ids = _user_ids(event.payload)
    members = _members(event.organization_id, user_ids)
    at = event.payload.get("createdAt") or event.created_at
    rows: list[NewDelivery] = []
    for user_id in user_ids:
        member = members.get(user_id)
        if member is None:
            continue  # removed meanwhile
        payload = {
            "bot": member.is_bot,
            "timestamp": timestamp(at),
            "user_id": user_id,
            "user_name": user_id,
            "user": user_object(member),
        }
        event_id = uuid.uuid5(event.event_id, user_id)
        rows.extend(
            NewDelivery(
                integration,
                event="userCreated",
                payload=payload,
                event_id=event_id,
                context=_context(None, member),
            )
            for integration in integrations
        )
    return rows


_HANDLERS: dict[str, Callable[[Event], list[NewDelivery]]] = {
    EventType.MESSAGE_CREATED: _on_message_created,
    EventType.MESSAGE_UPDATED: _on_message_updated,
    EventType.MESSAGE_DELETED: _on_message_deleted,
    EventType.CHANNEL_ARCHIVED: _on_room_archived,
    EventType.CHANNEL_CREATED: _on_room_created,
    EventType.MEMBER_JOINED: _on_membership("roomJoined"),
    EventType.MEMBER_LEFT: _on_membership("roomLeft"),
    EventType.USER_CREATED: _on_user_created,
}


def deliveries_for(event: Event) -> list[NewDelivery]:
    """The deliveries an outbox event makes (nothing written)."""
    handler = _HANDLERS.get(event.type)
    if handler is None or not isinstance(event.payload, dict):
        return []
    return handler(event)


def on_event(event: Event) -> None:
    """The outbox subscriber: write the event's deliveries (idempotent: an event handled
    twice writes nothing new). Raises (and the event is delivered again) only when the
    database fails."""
    rows = deliveries_for(event)
    if rows:
        with transaction.atomic():  # one run requested, once the rows are in
            deliveries_create(rows)


# --- the test event --------------------------------------------------------------------


def _test_channel(integration: Integration) -> Channel | None:
    if integration.channel_id is not None:
        return integration.channel
    for target in integration.targets or []:
        if isinstance(target, str) and target.startswith("#"):
            found = channel_by_reference(integration.organization, target[1:])
            if found is not None:
                return found
    return None


def sample_payload(integration: Integration, channel: Channel | None) -> dict[str, Any]:
    """A sample body in the integration's dialect: the messaging API's ``{"text"}``, or a
    Rocket.Chat ``sendMessage`` from its bot (``bot`` false, so receivers that skip bot
    messages still handle it)."""
    if integration.flavor != Integration.Flavor.ROCKETCHAT:
        return {"text": TEST_TEXT}
    bot_id = integration.bot.user_id if integration.bot_id else None
    return {
        "bot": False,
        "channel_id": channel.channel_id if channel is not None else None,
        "channel_name": room_name(channel) if channel is not None else None,
        "message_id": str(uuid.uuid4()),
        "timestamp": timestamp(timezone.now()),
        "user_id": bot_id,
        "user_name": bot_id,
        "text": TEST_TEXT,
        "siteUrl": site_url(),
    }


@transaction.atomic
def delivery_test_send(*, actor: Actor, integration: Integration) -> Delivery:
    """Send a sample event (``test``) to an outgoing integration's URLs, through the
    usual deliveries (signed, retried, in its history); the first delivery is returned.
    Incoming ones are 400 ``invalid_parameter``, disabled ones 503
    ``integration_disabled``. Audited ``integration.test``."""
    check_manage(actor, direction=integration.direction, integration=integration)
    if integration.is_incoming:
        raise DomainError(
            "invalid_parameter", "Only an outgoing integration sends events.", field="type"
        )
    if not integration.enabled:
        raise DomainError("integration_disabled", f"Integration {integration.pk} is disabled.")
    channel = _test_channel(integration)
    bot = integration.bot if integration.bot_id else None
    event_id = uuid.uuid4()
    deliveries_create(
        [
            NewDelivery(
                integration,
                event="test",
                payload=sample_payload(integration, channel),
                event_id=event_id,
                context=_context(channel, bot),
            )
        ]
    )
    delivery = Delivery.objects.filter(integration=integration, event_id=event_id).order_by("pk")
    first = delivery.first()
    if first is None:  # an integration without URLs (never through the APIs)
        raise DomainError("invalid_urls", "The integration has no URL.", field="urls")
    audit_record(
        organization=integration.organization,
        actor=actor,
        action="integration.test",
        target_type="integration",
        target_id=str(integration.pk),
        after={"delivery": first.webhook_id, "urls": len(integration.urls)},
    )
    return first
