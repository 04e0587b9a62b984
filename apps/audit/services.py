"""Writing audit entries. Call inside the transaction of the change it records."""

from __future__ import annotations

from typing import Any

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.organizations.models import Organization

#: The longest reason a moderation action (a ban, a mute, a close, a delete, a report
#: and its resolution) keeps, in characters: every surface refuses a longer one with its
#: own validation error, and every service that takes a reason checks it
#: (:func:`check_reason`).
MAX_REASON_LENGTH = 1000


def check_reason(reason: str | None, *, field: str = "reason") -> str:
    """The reason, or 400 ``invalid_parameter`` when it is longer than
    :data:`MAX_REASON_LENGTH`."""
    reason = reason or ""
    if len(reason) > MAX_REASON_LENGTH:
        raise DomainError(
            "invalid_parameter",
            f"{field}: at most {MAX_REASON_LENGTH} characters.",
            field=field,
        )
    return reason


def audit_record(
    *,
    organization: Organization,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str,
    reason: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        organization=organization,
        actor_account=actor.account,
        actor_token=actor.token,
        actor_label=actor.label[:255],
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:255],
        reason=reason or "",
        before=before,
        after=after,
    )


def audit_record_many(
    *,
    organization: Organization,
    actor: Actor,
    action: str,
    target_type: str,
    target_ids: list[str],
    reason: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> list[AuditEntry]:
    """One entry per target, in one INSERT: the same action on each of ``target_ids``
    (e.g. a mute in a channel recorded on each muted user, so a user's history shows it).
    ``before`` / ``after`` map a target id to its own snapshot (missing: none)."""
    label = actor.label[:255]
    return AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                organization=organization,
                actor_account=actor.account,
                actor_token=actor.token,
                actor_label=label,
                action=action,
                target_type=target_type,
                target_id=str(target_id)[:255],
                reason=reason or "",
                before=(before or {}).get(target_id),
                after=(after or {}).get(target_id),
            )
            for target_id in target_ids
        ]
    )
