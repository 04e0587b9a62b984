"""What Rocket.Chat's integrations API answers: the stored integration document, a history
entry, the user (``me``), as its clients read them (docs/api/integrations-rocketchat.md).

Users are named as Rocket.Chat names them: ``_id`` and ``username`` are both the member's
userId (the one handle a member has here; ``X-User-Id`` carries it too).
"""

from __future__ import annotations

from typing import Any

from apps.core.sweeps import iso
from apps.integrations.models import Delivery, Integration, IntegrationHistory
from apps.members.models import Member

#: Our directions as Rocket.Chat's integration types.
TYPE_OF = {"incoming": "webhook-incoming", "outgoing": "webhook-outgoing"}

#: A member's organization role as Rocket.Chat's roles.
_ROLES = {"admin": "admin", "member": "user", "guest": "guest", "external": "guest"}


def _targets(integration: Integration) -> list[str]:
    """Rocket.Chat's ``channel`` array: the targets as given, or (an integration made
    elsewhere, bound to one channel) that channel as ``#channelId``."""
    if integration.targets:
        return list(integration.targets)
    if integration.channel_id is not None:
        return [f"#{integration.channel.channel_id}"]
    return []


def _created_by(integration: Integration) -> dict[str, Any]:
    creator = integration.created_by
    if creator is not None:
        return {"_id": creator.user_id, "username": creator.user_id}
    return {"_id": None, "username": integration.created_by_label or "system"}


def render_integration(
    integration: Integration, *, token: str | None = None, signing_secret: str | None = None
) -> dict[str, Any]:
    """The stored document. ``token`` (an incoming secret) only in the create answer: it is
    stored hashed (DESIGN.md invariant 5), so no later answer can carry it. An outgoing
    integration's ``token`` (sent to its receiver) is write-only here; its signing secret
    (``signingSecret``, ours) is in the create answer only, like an incoming ``token``."""
    bot = integration.bot
    doc: dict[str, Any] = {
        "_id": str(integration.pk),
        "type": TYPE_OF[integration.direction],
        "name": integration.name,
        "enabled": integration.enabled,
        "username": bot.user_id if bot is not None else None,
        "userId": bot.user_id if bot is not None else None,
        "channel": _targets(integration),
        "scriptEnabled": integration.script_enabled,
        "script": integration.script,
        "alias": integration.alias,
        "avatar": integration.avatar_url,
        "emoji": integration.emoji,
    }
    if integration.script_error:
        doc["scriptError"] = integration.script_error
    if integration.is_incoming:
        doc["overrideDestinationChannelEnabled"] = integration.override_channel
        if token is not None:
            doc["token"] = token
    else:
        doc |= {
            "event": integration.event,
            "urls": list(integration.urls),
            "triggerWords": list(integration.trigger_words),
            "triggerWordAnywhere": integration.trigger_word_anywhere,
            "targetRoom": integration.target_room,
            "runOnEdits": integration.run_on_edits,
            "retryFailedCalls": integration.retry_failed_calls,
            "retryCount": integration.retry_count,
            "retryDelay": integration.retry_delay,
            "impersonateUser": integration.impersonate_user,
        }
        if signing_secret is not None:
            doc["signingSecret"] = signing_secret
    doc |= {
        "_createdAt": iso(integration.created_at),
        "_createdBy": _created_by(integration),
        "_updatedAt": iso(integration.updated_at),
    }
    return doc


def render_history_entry(entry: IntegrationHistory, integration: Integration) -> dict[str, Any]:
    """One run, in the fields of Rocket.Chat's history entries (``errorMessage`` and
    ``messageIds`` are ours: what was refused, what was posted)."""
    doc: dict[str, Any] = {
        "_id": str(entry.pk),
        "type": f"{integration.direction}-webhook",
        "step": entry.step,
        "integration": {"_id": str(integration.pk)},
        "event": entry.event,
        "data": entry.data,
        "ranPrepareScript": False,  # no prepare scripts here (outgoing: the next issue)
        "finished": entry.finished,
        "error": entry.error,
        "messageIds": [m for m in entry.message_id.split(",") if m],
        "_createdAt": iso(entry.created_at),
        "_updatedAt": iso(entry.updated_at),
    }
    if entry.error:
        doc["errorMessage"] = entry.error_message
    return doc


def delivery_step(delivery: Delivery, integration: Integration) -> str:
    """Rocket.Chat's history ``step`` of a delivery (the steps its trigger handler
    records), derived from the delivery's state; ``url-not-allowed`` is ours (the
    address checks refused the URL at send time)."""
    status = delivery.status
    if status == Delivery.Status.PENDING:
        attempts = delivery.attempts
        return f"going-to-retry-{attempts}" if attempts else "start-execute-trigger-url"
    if status == Delivery.Status.SUCCEEDED:
        return "url-response-sent-message" if delivery.reply_message_id else "after-http-call"
    if status == Delivery.Status.CANCELLED:
        return "integration-disabled"
    if delivery.response_status == 410:
        return "after-process-http-status-410"
    if delivery.error_message.startswith("url_not_allowed"):
        return "url-not-allowed"
    if integration.flavor == Integration.Flavor.ROCKETCHAT and not integration.retry_failed_calls:
        return "failed-and-not-configured-to-retry"
    return "too-many-retries"


def _delivery_error(delivery: Delivery) -> bool:
    """Rocket.Chat's ``error``: the delivery failed (or was cancelled), or its last
    attempt did and it waits for the next one."""
    if delivery.status in (Delivery.Status.FAILED, Delivery.Status.CANCELLED):
        return True
    return (
        delivery.status == Delivery.Status.PENDING
        and delivery.attempts > 0
        and bool(delivery.error_message)
    )


def render_delivery(delivery: Delivery, integration: Integration) -> dict[str, Any]:
    """One delivery of an outgoing integration as a Rocket.Chat history entry
    (core-typings' ``IIntegrationHistory``), plus ours: ``status``, ``attempts``,
    ``nextAttemptAt``, ``responseStatus``, ``webhookId`` (the ``webhook-id`` header),
    ``messageIds`` (the reply's message) and ``errorMessage``. ``data`` is the payload as
    sent, without the integration's ``token`` (added at send time, never stored here)."""
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    error = _delivery_error(delivery)
    doc: dict[str, Any] = {
        "_id": str(delivery.pk),
        "type": "outgoing-webhook",
        "step": delivery_step(delivery, integration),
        "integration": {"_id": str(integration.pk)},
        "event": delivery.event,
        "url": delivery.url,
        "data": {key: value for key, value in payload.items() if key != "token"},
        "ranPrepareScript": False,
        "finished": delivery.finished,
        "error": error,
        "httpResult": (
            delivery.response_excerpt
            if delivery.response_status is not None or delivery.response_excerpt
            else None
        ),
        "httpError": delivery.error_message or None,
        "messageIds": [delivery.reply_message_id] if delivery.reply_message_id else [],
        "status": delivery.status,
        "attempts": delivery.attempts,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "responseStatus": delivery.response_status,
        "webhookId": delivery.webhook_id,
        "_createdAt": iso(delivery.created_at),
        "_updatedAt": iso(delivery.updated_at),
    }
    context = delivery.context if isinstance(delivery.context, dict) else {}
    trigger_word = context.get("triggerWord")
    if isinstance(trigger_word, str) and trigger_word:
        doc["triggerWord"] = trigger_word
    if error and delivery.error_message:
        doc["errorMessage"] = delivery.error_message
    return doc


def render_me(member: Member) -> dict[str, Any]:
    """The token holder as Rocket.Chat's ``me``."""
    roles = [_ROLES.get(member.org_role, "user")]
    if member.is_bot:
        roles.append("bot")
    account = member.account
    return {
        "_id": member.user_id,
        "username": member.user_id,
        "name": member.display_name or member.user_id,
        "emails": [{"address": account.email, "verified": True}] if account is not None else [],
        "active": not member.is_inactive,
        "roles": roles,
        "type": "bot" if member.is_bot else "user",
        "utcOffset": 0,
    }
