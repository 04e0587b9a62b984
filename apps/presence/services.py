"""Writes of the presence app: a member's status, the expiry sweep, and activity.

A status is the member's own, so setting and clearing it are neither audited nor
published (no moderation is involved). Activity (typing, reading...) is never stored: it
is one ``activity`` domain event for the subscribers (docs/events.md).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.channels.models import Channel
from apps.core.errors import DomainError
from apps.core.sweeps import SWEEP_MAX_BATCHES, iso, sweep_batch_size
from apps.events.models import Event, EventType
from apps.events.services import event_record
from apps.members.models import Member
from apps.messages.models import Message
from apps.presence.expiry import parse_expires
from apps.presence.models import Status
from apps.presence.selectors import status_ended_q

logger = logging.getLogger(__name__)

MAX_ICON_LENGTH = Status._meta.get_field("icon").max_length or 64
MAX_MESSAGE_LENGTH = Status._meta.get_field("message").max_length or 280
MAX_KIND_LENGTH = 64


def _text(value: str | None, *, field: str, limit: int) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        raise DomainError(
            "invalid_parameter", f"{field} must be at most {limit} characters.", field=field
        )
    return text


@transaction.atomic
def status_set(
    *,
    member: Member,
    icon: str | None = "",
    message: str | None = "",
    expires: str | None = "",
    now: datetime | None = None,
) -> Status:
    """Set (replace) ``member``'s status; ``expires`` in any form of
    :func:`apps.presence.expiry.parse_expires`, read in the member's time zone. A status
    needs an icon or a message (400 otherwise)."""
    now = now or timezone.now()
    icon = _text(icon, field="icon", limit=MAX_ICON_LENGTH)
    message = _text(message, field="message", limit=MAX_MESSAGE_LENGTH)
    if not icon and not message:
        raise DomainError(
            "missing_parameter", "A status needs an icon or a message.", field="message"
        )
    expiry = parse_expires(expires, now=now, time_zone=member.time_zone)
    values = {
        "organization_id": member.organization_id,
        "icon": icon,
        "message": message,
        "expires_at": expiry.expires_at,
        "until_active": expiry.until_active,
        # a replaced status is a new one: createdAt is when this one was set
        "created_at": now,
        "updated_at": now,
    }
    status, _created = Status.objects.update_or_create(member=member, defaults=values)
    return status


@transaction.atomic
def status_clear(*, member: Member) -> bool:
    """Clear ``member``'s status; True if there was one (clearing none is a no-op)."""
    deleted, _ = Status.objects.filter(member=member).delete()
    return bool(deleted)


def statuses_expire(*, batch_size: int | None = None, now: datetime | None = None) -> int:
    """Delete the statuses that have ended (expired, or ``when-active`` and the member
    posted since), in batches of claimed rows. Idempotent: a second run, or a concurrent
    one, finds nothing more (the DELETE repeats the condition, so a status renewed
    meanwhile stays). Returns how many were deleted."""
    size = sweep_batch_size(batch_size)
    removed = 0
    for _ in range(SWEEP_MAX_BATCHES):
        with transaction.atomic():
            at = now or timezone.now()
            ended = status_ended_q(now=at)
            pks = list(
                Status.objects.filter(ended)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)[:size]
            )
            if pks:
                count, _ = Status.objects.filter(ended, pk__in=pks).delete()
                removed += count
        if len(pks) < size:
            break
    if removed:
        logger.info("removed %s ended statuses", removed)
    return removed


@transaction.atomic
def activity_record(
    *,
    member: Member,
    kind: str,
    channel: Channel | None = None,
    message: Message | None = None,
) -> Event:
    """Publish ``member``'s activity (``kind``: typing, reading... any string of at most
    64 characters) as an ``activity`` event, optionally about a channel and a message of
    it (resolved and checked for visibility by the caller). Nothing else is stored."""
    kind = (kind or "").strip()
    if not kind:
        raise DomainError("missing_parameter", "kind is required.", field="kind")
    if len(kind) > MAX_KIND_LENGTH:
        raise DomainError(
            "invalid_parameter", f"kind must be at most {MAX_KIND_LENGTH} characters.", field="kind"
        )
    if message is not None and (channel is None or message.channel_id != channel.pk):
        raise DomainError("message_not_found", "The message is not in that channel.")
    organization = member.organization
    payload: dict[str, Any] = {
        "organization": organization.slug,
        "actor": f"member {member.user_id}",
        "kind": kind,
        "userId": member.user_id,
        "userID": str(member.pk),
        "channelId": channel.channel_id if channel is not None else None,
        "channelID": str(channel.pk) if channel is not None else None,
        "messageId": str(message.public_id) if message is not None else None,
        "messageID": str(message.pk) if message is not None else None,
        "createdAt": iso(timezone.now()),
    }
    return event_record(organization=organization, type=EventType.ACTIVITY, payload=payload)
