"""What an incoming integration does with a call: the limits every incoming URL shares
(one call per interval per URL, no double request), the script, and the message it posts
through ``message_create`` (the content filter, mutes, bans, closed and archived channels
apply as on every surface), recorded in the integration's history.

:func:`integration_message_post` is the one way an integration posts: incoming calls use
it, and so do outgoing webhooks' replies (apps.integrations.services.replies).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.rules import check_can_post
from apps.channels.selectors.channels import channel_live_q
from apps.channels.services.channels import channel_users_add
from apps.channels.services.conversations import conversation_create
from apps.core.errors import DomainError
from apps.integrations import scripts
from apps.integrations.models import Integration, IntegrationHistory, IntegrationRequest
from apps.integrations.services.integrations import channel_by_reference, http_url
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create

#: The most attachments one incoming message may carry.
MAX_ATTACHMENTS = 20
#: History keeps at most this much of a request (bytes of JSON); the rest is cut.
MAX_HISTORY_DATA_BYTES = 16 * 1024


@dataclass(frozen=True)
class IncomingMessage:
    """A message an outside tool sent, in the fields every door can express (Rocket.Chat's
    payload, the messaging API's ``content``/``username``/``avatarURL``)."""

    text: str | None = None
    alias: str | None = None
    emoji: str | None = None
    avatar: str | None = None
    attachments: list[Any] | None = None
    #: Another channel than the integration's (``#name`` or ``@userId``), honoured only
    #: when the integration allows it.
    channel: str | None = None


# --- limits ----------------------------------------------------------------------------


def incoming_admit(integration: Integration) -> None:
    """Before a call's body is read, on every door: 503 ``integration_disabled`` for a
    disabled integration; then at most one call per ``WEBHOOK_MIN_INTERVAL_SECONDS`` per
    URL, on every web process alike: one guarded UPDATE claims the slot (two processes
    cannot both win it). Else 429 ``throttled`` with the seconds to wait."""
    check_enabled(integration)
    interval = float(settings.CHATADMIN["WEBHOOK_MIN_INTERVAL_SECONDS"])
    if interval <= 0:
        return
    now = timezone.now()
    earliest = now - timedelta(seconds=interval)
    claimed = (
        Integration.objects.filter(pk=integration.pk)
        .filter(Q(last_called_at__isnull=True) | Q(last_called_at__lte=earliest))
        .update(last_called_at=now)
    )
    if claimed:
        integration.last_called_at = now
        return
    last = (
        Integration.objects.filter(pk=integration.pk)
        .values_list("last_called_at", flat=True)
        .first()
    )
    wait = interval - ((now - last).total_seconds() if last else 0)
    raise DomainError(
        "throttled",
        f"At most one call per {interval:g} s to this URL.",
        retry_after=max(1, math.ceil(wait)),
    )


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def incoming_once(integration: Integration, body: bytes) -> None:
    """Record this body as received (call inside the transaction that acts on it, so a
    refused call records nothing); the same body within ``WEBHOOK_DOUBLE_REQUEST_SECONDS``
    is 409 ``double_request``. The unique row decides, so two processes cannot both act."""
    window = int(settings.CHATADMIN["WEBHOOK_DOUBLE_REQUEST_SECONDS"])
    if window <= 0:
        return
    now = timezone.now()
    digest = body_hash(body)
    stale = now - timedelta(seconds=window)
    IntegrationRequest.objects.filter(
        integration=integration, body_hash=digest, created_at__lte=stale
    ).delete()
    try:
        with transaction.atomic():
            IntegrationRequest.objects.create(
                integration=integration, body_hash=digest, created_at=now
            )
    except IntegrityError:
        raise DomainError(
            "double_request",
            f"The same request reached this URL within {window} s; nothing was done.",
        ) from None


def integration_requests_expire(*, batch_size: int | None = None) -> int:
    """Forget request hashes older than the double-request window (beat sweep)."""
    window = int(settings.CHATADMIN["WEBHOOK_DOUBLE_REQUEST_SECONDS"])
    size = batch_size or int(settings.CHATADMIN["SWEEP_BATCH_SIZE"])
    stale = timezone.now() - timedelta(seconds=max(window, 0))
    pks = list(
        IntegrationRequest.objects.filter(created_at__lte=stale).values_list("pk", flat=True)[:size]
    )
    if pks:
        IntegrationRequest.objects.filter(pk__in=pks).delete()
    return len(pks)


# --- history ---------------------------------------------------------------------------


def _bounded(data: Any) -> Any:
    text = json.dumps(data, ensure_ascii=False, default=str)
    if len(text.encode()) <= MAX_HISTORY_DATA_BYTES:
        return data
    return {"truncated": text.encode()[:MAX_HISTORY_DATA_BYTES].decode(errors="ignore")}


def history_record(
    integration: Integration,
    *,
    step: str,
    data: Any = None,
    error: str = "",
    message_ids: list[str] | None = None,
    event: str = "",
) -> IntegrationHistory:
    """One entry of the integration's history (Rocket.Chat's ``integrations.history``)."""
    return IntegrationHistory.objects.create(
        organization_id=integration.organization_id,
        integration=integration,
        event=event,
        step=step,
        finished=True,
        error=bool(error),
        error_message=error[:2000],
        data=_bounded(data if data is not None else {}),
        message_id=",".join(message_ids or [])[:64],
    )


# --- the message -----------------------------------------------------------------------


def check_enabled(integration: Integration) -> None:
    if not integration.enabled:
        raise DomainError("integration_disabled", f"Integration {integration.pk} is disabled.")


def _scripted(
    integration: Integration, message: IncomingMessage, request: Mapping[str, Any]
) -> IncomingMessage:
    """The message the integration's script makes of the request (fields it sets win)."""
    if not integration.script_enabled or not integration.script:
        return message
    if not settings.CHATADMIN["INTEGRATION_SCRIPTS_ENABLED"]:
        raise DomainError("script_failed", "Scripts are turned off on this server.")
    try:
        made = scripts.script_run(integration.script, request=request)
    except scripts.ScriptError as exc:
        raise DomainError("script_failed", f"The integration's script failed: {exc}") from None
    return replace(message, **{k: v for k, v in made.items() if k in _SCRIPT_FIELDS})


_SCRIPT_FIELDS = ("text", "alias", "emoji", "attachments")


def _direct_channel(bot: Member, user_id: str) -> Channel:
    """The two-person group conversation of the bot and ``@userId``, made if missing."""
    user = Member.objects.filter(organization_id=bot.organization_id, user_id=user_id).first()
    if user is None:
        raise DomainError("invalid_channel", f"No user @{user_id}.", field="channel")
    found = (
        Channel.objects.filter(
            channel_live_q(),
            organization_id=bot.organization_id,
            visibility=Channel.Visibility.GROUP,
            member_count=2,
            memberships__member=bot,
            memberships__joined_at__isnull=False,
        )
        .filter(memberships__member=user, memberships__joined_at__isnull=False)
        .order_by("pk")
        .first()
    )
    if found is not None:
        return found
    return conversation_create(member=bot, visibility=Channel.Visibility.GROUP, members=[user])


def _channels(
    integration: Integration,
    message: IncomingMessage,
    *,
    defaults: Sequence[Channel | str] | None = None,
    override: bool | None = None,
) -> list[Channel]:
    """Where the message goes: the message's ``channel`` if an override is allowed
    (``override``; by default the integration's ``override_channel``), else ``defaults``
    (channels, or ``#name`` / ``@userId`` targets), else the integration's bound channel
    or its targets. Every channel is one of the integration's organization."""
    allowed = integration.override_channel if override is None else override
    if message.channel and not allowed:
        raise DomainError(
            "forbidden", "This integration does not let a call choose the channel.", field="channel"
        )
    targets: list[Channel | str]
    if message.channel:
        targets = [t.strip() for t in message.channel.split(",") if t.strip()][:10]
    elif defaults is not None:
        targets = list(defaults)
    elif integration.channel_id is not None:
        return [integration.channel]
    else:
        targets = list(integration.targets)
    channels: list[Channel] = []
    for target in targets:
        if isinstance(target, Channel):
            if target.organization_id != integration.organization_id:
                raise DomainError("channel_not_found", field="channel")
            channels.append(target)
            continue
        prefix, name = target[:1], target[1:]
        if prefix == "#":
            channel = channel_by_reference(integration.organization, name)
            if channel is None:
                raise DomainError("invalid_channel", f"No channel {target!r}.", field="channel")
        elif prefix == "@":
            channel = _direct_channel(integration.bot, name)
        else:
            raise DomainError(
                "invalid_channel_prefix", f"Invalid channel {target!r}.", field="channel"
            )
        channels.append(channel)
    if not channels:
        raise DomainError("invalid_channel", "The integration has no channel.", field="channel")
    return list({c.pk: c for c in channels}.values())


def _data(integration: Integration, message: IncomingMessage) -> tuple[str, dict[str, Any]]:
    """The message's type and data: text (with attachments), or custom when it has only
    attachments. ``bot`` names the integration (clients show a bot badge)."""
    for name in ("text", "alias", "emoji", "avatar"):
        value = getattr(message, name)
        if value is not None and not isinstance(value, str):
            raise DomainError("invalid_parameter", f"{name} must be a string.", field=name)
    attachments = message.attachments
    if attachments is not None:
        if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
            raise DomainError(
                "invalid_parameter", "attachments must be a list of objects.", field="attachments"
            )
        if len(attachments) > MAX_ATTACHMENTS:
            raise DomainError(
                "invalid_parameter", f"At most {MAX_ATTACHMENTS} attachments.", field="attachments"
            )
    text = (message.text or "").strip()
    if not text and not attachments:
        raise DomainError("missing_parameter", "The message needs a text.", field="text")
    data: dict[str, Any] = {"bot": {"i": str(integration.pk)}}
    if text:
        data["text"] = message.text
    alias = message.alias if message.alias is not None else integration.alias
    emoji = message.emoji if message.emoji is not None else integration.emoji
    avatar = message.avatar if message.avatar is not None else integration.avatar_url
    if message.avatar:  # an http(s) URL clients may show; the server never fetches it
        avatar = http_url(message.avatar, "avatar")
    for key, value in (("alias", alias), ("emoji", emoji), ("avatar", avatar)):
        if value:
            data[key] = value[:2048]
    if attachments:
        data["attachments"] = attachments
    return (Message.Type.TEXT if text else Message.Type.CUSTOM), data


def _poster(bot: Member, channels: Sequence[Channel], preferred: Member | None) -> Member:
    """Who posts: ``preferred`` when it is an active member of the bot's organization that
    may post in every one of ``channels`` right now, else the bot."""
    if preferred is None or preferred.pk == bot.pk:
        return bot
    if preferred.organization_id != bot.organization_id or preferred.is_inactive:
        return bot
    try:
        for channel in channels:
            check_can_post(channel=channel, member=preferred)
    except DomainError:
        return bot
    return preferred


def _join_public(bot: Member, channels: Sequence[Channel]) -> None:
    """The bot joins the public channels among ``channels`` that it may not post in only
    for not being a member (Rocket.Chat's replies join the room too); bans, mutes, closed
    and archived channels still refuse it in ``message_create``."""
    for channel in channels:
        if channel.visibility != Channel.Visibility.PUBLIC:
            continue
        try:
            check_can_post(channel=channel, member=bot)
        except DomainError as exc:
            if exc.code == "not_a_member":
                channel_users_add(
                    channel=channel, actor=Actor.for_member(bot), user_ids=[bot.user_id]
                )


def integration_message_post(
    *,
    integration: Integration,
    message: IncomingMessage,
    defaults: Sequence[Channel | str] | None = None,
    override: bool | None = None,
    author: Member | None = None,
    join_public: bool = False,
) -> list[Message]:
    """Post ``message`` as ``integration``: the one posting path of incoming calls
    (:func:`incoming_post`) and of outgoing webhooks' replies
    (apps.integrations.services.replies). Records nothing in the history (the callers do).

    - The message's fields are checked and styled by the integration (:func:`_data`: its
      ``alias``, ``emoji``, ``avatar`` unless the message sets its own; ``data.bot``
      names the integration, so its own messages never trigger it again).
    - The channels (:func:`_channels`): the message's ``channel`` when ``override`` (by
      default the integration's ``override_channel``), else ``defaults``, else the
      integration's channel or targets; all of the integration's organization.
    - Posted as ``author`` when it is active and may post in every channel, else as the
      integration's bot (``join_public``: the bot first joins a public channel it is not
      a member of).
    - Through ``message_create`` (content filter, mutes, bans, closed and archived
      channels, deactivated members): into every channel or none (one transaction).
    """
    type_, data = _data(integration, message)
    bot = integration.bot
    if bot is None:
        raise DomainError("invalid_username", "The integration has no user.", field="username")
    with transaction.atomic():  # several channels: all of them or none
        channels = _channels(integration, message, defaults=defaults, override=override)
        poster = _poster(bot, channels, author)
        if join_public and poster.pk == bot.pk:
            _join_public(bot, channels)
        return [
            message_create(
                organization=integration.organization,
                actor=Actor.for_member(poster),
                channel=channel,
                type=type_,
                data=data,
                author=poster,
            )
            for channel in channels
        ]


def incoming_post(
    *,
    integration: Integration,
    message: IncomingMessage,
    request: Mapping[str, Any] | None = None,
) -> list[Message]:
    """Post what an incoming call sent, as the integration's bot, into its channel(s)
    (:func:`integration_message_post`). Refusals (a disabled integration, a script
    failure, the posting rules) raise; each call is recorded in the integration's
    history, refused or not."""
    request = request or {}
    try:
        check_enabled(integration)
        message = _scripted(integration, message, request)
        posted = integration_message_post(integration=integration, message=message)
    except DomainError as exc:
        history_record(integration, step="incoming-refused", data=request, error=exc.message)
        raise
    history_record(
        integration,
        step="incoming-posted",
        data=request,
        message_ids=[str(m.public_id) for m in posted],
    )
    return posted
