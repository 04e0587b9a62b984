"""The messaging API's Webhook object (docs/api/messaging-webhooks.md): Corteza's webhook
type in this API's spelling (``webhookID``, ``channelID``, ids as decimal strings), from
the one Integration row. Rendering reads only the row's own columns: no query, whatever
the number of webhooks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.integrations.models import Delivery, Integration
from apps.messaging.base import id_str, time_str


def _first(values: Any) -> str:
    """A messaging webhook keeps its one trigger and one URL as one-item lists."""
    return values[0] if isinstance(values, list) and values else ""


def render_webhook(integration: Integration) -> dict[str, Any]:
    """One Webhook object (never its token)."""
    return {
        "webhookID": id_str(integration.pk),
        "channelID": id_str(integration.channel_id),
        "kind": integration.direction,
        "userID": id_str(integration.bot_id),
        "ownerUserID": id_str(integration.created_by_id),
        "trigger": _first(integration.trigger_words),
        "url": _first(integration.urls),
        "username": integration.alias,
        "avatarURL": integration.avatar_url,
        "hasAvatar": bool(integration.avatar),
        "enabled": integration.enabled,
        "createdAt": time_str(integration.created_at),
        "updatedAt": time_str(integration.updated_at),
        "deletedAt": None,
    }


def render_created(
    integration: Integration, token: str | None, signing_secret: str | None = None
) -> dict[str, Any]:
    """The create answer: the Webhook and its secret, shown once: an incoming one's token,
    an outgoing one's signing secret (the other is null)."""
    return {**render_webhook(integration), "authToken": token, "signingSecret": signing_secret}


def render_detail(integration: Integration, last: Delivery | None) -> dict[str, Any]:
    """The detail answer: the Webhook and (ours) its newest delivery, null if none (always
    null for an incoming webhook)."""
    return {
        **render_webhook(integration),
        "lastDelivery": render_delivery(last) if last is not None else None,
    }


def render_delivery(delivery: Delivery) -> dict[str, Any]:
    """One delivery of an outgoing webhook (ours): one call of its URL for one command run
    (or test event), with its attempts. ``payload`` is the body sent; ``webhookMessageID``
    the Standard Webhooks ``webhook-id`` header, the same on every attempt."""
    return {
        "deliveryID": id_str(delivery.pk),
        "webhookID": id_str(delivery.integration_id),
        "webhookMessageID": delivery.webhook_id,
        "event": delivery.event,
        "url": delivery.url,
        "payload": delivery.payload,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "nextAttemptAt": time_str(delivery.next_attempt_at),
        "lastAttemptAt": time_str(delivery.last_attempt_at),
        "responseStatus": delivery.response_status,
        "responseExcerpt": delivery.response_excerpt,
        "error": delivery.error_message,
        "replied": bool(delivery.reply_message_id),
        "createdAt": time_str(delivery.created_at),
        "updatedAt": time_str(delivery.updated_at),
        "finishedAt": time_str(delivery.finished_at),
    }


def render_webhooks(integrations: Iterable[Integration]) -> list[dict[str, Any]]:
    return [render_webhook(integration) for integration in integrations]
