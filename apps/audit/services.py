"""Writing audit entries. Call inside the transaction of the change it records."""

from __future__ import annotations

from typing import Any

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.organizations.models import Organization


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
