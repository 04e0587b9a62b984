"""The messaging API's Webhook object (docs/api/messaging-webhooks.md): Corteza's webhook
type in this API's spelling (``webhookID``, ``channelID``, ids as decimal strings), from
the one Integration row. Rendering reads only the row's own columns: no query, whatever
the number of webhooks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from apps.integrations.models import Integration
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


def render_created(integration: Integration, token: str | None) -> dict[str, Any]:
    """The create answer: the Webhook and, for an incoming one, its token (shown once)."""
    return {**render_webhook(integration), "authToken": token}


def render_webhooks(integrations: Iterable[Integration]) -> list[dict[str, Any]]:
    return [render_webhook(integration) for integration in integrations]
