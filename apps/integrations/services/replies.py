"""An outgoing webhook's reply, posted back as the integration (called by
apps.integrations.services.delivery after a 2xx answer).

- **Rocket.Chat** (apps/meteor/app/integrations/server/lib/triggerHandler.ts): a body of
  content type ``application/json``, ``text/javascript``, ``application/javascript`` or
  ``application/x-javascript`` holding a JSON object with ``text`` and/or ``attachments``
  is a message; anything else (another content type, an empty body, JSON that does not
  parse, an object without either) posts nothing. Its ``alias``/``username``,
  ``emoji``/``icon_emoji``, ``avatar``/``icon_url`` are honoured as processWebhookMessage
  does (the Slack name first), and ``channel`` (or ``roomId``): ``#name`` or ``@userId``,
  looked up in the integration's organization only. Without one it goes to the
  integration's ``targetRoom``, else to the event's channel.
- **Messaging API** (Corteza's webhook ``Do``): a ``text/plain`` body, or any body that is
  not a JSON object, is the message's text; a JSON object is ``{text, username, avatar}``
  (``username`` shown as the alias, ``avatar`` an http(s) URL that is never fetched). It
  goes to the channel the command ran in.

Who posts: the integration's bot, or with ``impersonateUser`` the author of the message
that triggered the event, while that member is active and may post there (else the bot).
The message carries ``data.bot = {"i": "<integration id>"}``, so it never triggers the
same integration again. It is posted through the one path of incoming calls
(:func:`~apps.integrations.services.incoming.integration_message_post`), so the content
filter, mutes, bans, closed and archived channels and deactivated members apply; a
refusal raises DomainError, which the caller records on the delivery. Nothing is written
to IntegrationHistory: the delivery row is the history.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError

from apps.channels.models import Channel
from apps.core.egress import EgressResponse
from apps.core.errors import DomainError
from apps.core.parsers import loads
from apps.core.text import unsafe_char
from apps.integrations.models import Delivery, Integration
from apps.integrations.services.incoming import (
    IncomingMessage,
    check_enabled,
    integration_message_post,
)
from apps.members.models import Member

#: The content types whose body Rocket.Chat reads as JSON (triggerHandler.ts).
ROCKETCHAT_JSON_TYPES = frozenset(
    {
        "application/json",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
    }
)
#: Deliveries whose reply is never posted: a test event shows its answer in the log only.
NO_REPLY_EVENTS = frozenset({"test"})


def delivery_reply(
    delivery: Delivery, integration: Integration, response: EgressResponse
) -> str | None:
    """Post the reply in ``response`` (a 2xx answer to ``delivery``) back into the chat;
    the public id of the message it made (the first one when the reply names several
    channels), or None when the reply asks for nothing (or there is nowhere to post it).

    Raises DomainError when the reply is refused: the integration was disabled meanwhile,
    the body was cut at ``WEBHOOK_RESPONSE_MAX_BYTES``, a field is invalid, the channel is
    not the organization's, or a posting rule refuses it (``message_create``'s codes).

    Each attempt that succeeds posts its reply: a replayed delivery
    (``delivery_replay``) is a new send, so its reply is posted again, whatever
    ``reply_message_id`` holds from the previous send (the caller overwrites it).
    """
    if delivery.event in NO_REPLY_EVENTS:
        return None
    if integration.flavor == Integration.Flavor.ROCKETCHAT:
        message = _rocketchat_reply(response)
    elif integration.flavor == Integration.Flavor.MESSAGING:
        message = _messaging_reply(response)
    else:
        return None
    if message is None:
        return None
    check_enabled(integration)
    defaults: list[Channel | str] = []
    if integration.flavor == Integration.Flavor.ROCKETCHAT and integration.target_room:
        defaults = [integration.target_room]
    else:
        channel = _context_channel(delivery, integration)
        if channel is not None:
            defaults = [channel]
    if not defaults and not message.channel:
        return None  # Rocket.Chat: no room configured nor given, nothing is sent
    posted = integration_message_post(
        integration=integration,
        message=message,
        defaults=defaults,
        override=True,
        author=_impersonated(delivery, integration),
        join_public=True,
    )
    return str(posted[0].public_id)


# --- what the reply says ---------------------------------------------------------------


def _media_type(response: EgressResponse) -> str:
    return (response.headers.get("content-type") or "").split(";")[0].strip().lower()


def _check_whole(response: EgressResponse) -> None:
    if response.truncated:
        limit = settings.CHATADMIN["WEBHOOK_RESPONSE_MAX_BYTES"]
        raise DomainError(
            "payload_too_large",
            f"The reply is larger than {limit} bytes; nothing was posted.",
        )


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None if it is not one (the checks every JSON body
    gets: no duplicate keys, bounded nesting; a NUL in a string is a DomainError)."""
    try:
        value = loads(body.decode("utf-8"))
    except (ValueError, RecursionError, ParseError):  # UnicodeDecodeError is a ValueError
        return None
    return value if isinstance(value, dict) else None


def _filled(value: Any) -> bool:
    """JavaScript's truthiness for what a reply carries (a blank string is empty)."""
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _rocketchat_channel(content: dict[str, Any]) -> str | None:
    """``channel`` (``#name``, ``@userId``, a list of them) or ``roomId`` (a channel's
    id), as one comma-separated string."""
    channel = content.get("channel")
    if not _filled(channel) and _filled(content.get("roomId")):
        room = content["roomId"]
        channel = f"#{room}" if isinstance(room, str) else room
    if not _filled(channel):
        return None
    if isinstance(channel, list) and all(isinstance(c, str) for c in channel):
        return ",".join(channel)
    if not isinstance(channel, str):
        raise DomainError(
            "invalid_parameter", "channel must be a string or a list of strings.", field="channel"
        )
    return channel


def _rocketchat_reply(response: EgressResponse) -> IncomingMessage | None:
    if _media_type(response) not in ROCKETCHAT_JSON_TYPES or not response.body.strip():
        return None
    _check_whole(response)
    content = _json_object(response.body)
    if content is None:
        return None
    attachments = content.get("attachments")
    if not isinstance(attachments, list):
        attachments = None  # Rocket.Chat ignores attachments that are not an array
    if not (_filled(content.get("text")) or attachments):
        return None

    def first(*names: str) -> Any:
        return next((content[n] for n in names if _filled(content.get(n))), None)

    text = first("text", "msg")
    return IncomingMessage(
        text=text.strip() if isinstance(text, str) else text,
        alias=first("username", "alias"),
        emoji=first("icon_emoji", "emoji"),
        avatar=first("icon_url", "avatar"),
        attachments=attachments or None,
        channel=_rocketchat_channel(content),
    )


def _messaging_reply(response: EgressResponse) -> IncomingMessage | None:
    if not response.body.strip():
        return None
    _check_whole(response)
    content = None if _media_type(response) == "text/plain" else _json_object(response.body)
    if content is not None:
        if not _filled(content.get("text")):
            return None
        text = content["text"]
        return IncomingMessage(
            text=text.strip() if isinstance(text, str) else text,
            alias=content.get("username") if _filled(content.get("username")) else None,
            avatar=content.get("avatar") if _filled(content.get("avatar")) else None,
        )
    try:
        text = response.body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None  # not text
    char = unsafe_char(text)
    if char is not None:
        raise DomainError("invalid_parameter", f"The reply contains {char}.", field="text")
    return IncomingMessage(text=text) if text else None


# --- where and as whom -----------------------------------------------------------------


def _context_pk(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _context_channel(delivery: Delivery, integration: Integration) -> Channel | None:
    """The event's channel (``context["channel"]``, a pk), looked up in the integration's
    organization only: another organization's is 404 ``channel_not_found``. None when
    the event has no channel (``userCreated``, a test event)."""
    raw = (delivery.context or {}).get("channel")
    if raw is None or raw == "":
        return None
    pk = _context_pk(raw)
    channel = (
        Channel.objects.filter(pk=pk, organization_id=integration.organization_id).first()
        if pk is not None
        else None
    )
    if channel is None:
        raise DomainError("channel_not_found", "The event's channel no longer exists.")
    return channel


def _impersonated(delivery: Delivery, integration: Integration) -> Member | None:
    """With ``impersonateUser``: the author of the triggering message (``context
    ["author"]``), a member of the integration's organization; else None (the bot)."""
    if not integration.impersonate_user:
        return None
    pk = _context_pk((delivery.context or {}).get("author"))
    if pk is None:
        return None
    return Member.objects.filter(pk=pk, organization_id=integration.organization_id).first()
