"""What Rocket.Chat's integrations API answers: the stored integration document, a history
entry, the user (``me``), as its clients read them (docs/api/integrations-rocketchat.md).

Users are named as Rocket.Chat names them: ``_id`` and ``username`` are both the member's
userId (the one handle a member has here; ``X-User-Id`` carries it too).
"""

from __future__ import annotations

from typing import Any

from apps.core.sweeps import iso
from apps.integrations.models import Integration, IntegrationHistory
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


def render_integration(integration: Integration, *, token: str | None = None) -> dict[str, Any]:
    """The stored document. ``token`` (an incoming secret) only in the create answer: it is
    stored hashed (DESIGN.md invariant 5), so no later answer can carry it. An outgoing
    integration's ``token`` (sent to its receiver) is write-only here."""
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
