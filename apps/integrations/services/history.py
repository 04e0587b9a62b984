"""An integration's history (Rocket.Chat's ``integrations.history``): clearing it.

Entries are written by the incoming path (apps.integrations.services.incoming) and by the
outgoing delivery; this module removes them on request, with the same "who may" as every
other change of the integration.
"""

from __future__ import annotations

from django.db import transaction

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.integrations.models import Integration, IntegrationHistory
from apps.integrations.services.delivery import deliveries_clear
from apps.integrations.services.integrations import check_manage


@transaction.atomic
def integration_history_clear(*, actor: Actor, integration: Integration) -> int:
    """Delete every history entry of ``integration`` (Rocket.Chat's
    ``clearIntegrationHistory``) and its finished deliveries (pending ones are work, not
    history: they stay); the integration and its messages stay. Needs the right
    to manage it (403 ``forbidden``). Audited ``integration.history.clear`` with the count.
    Returns how many entries were deleted."""
    check_manage(actor, direction=integration.direction, integration=integration)
    deleted, _ = IntegrationHistory.objects.filter(integration=integration).delete()
    deleted += deliveries_clear(integration=integration)
    audit_record(
        organization=integration.organization,
        actor=actor,
        action="integration.history.clear",
        target_type="integration",
        target_id=str(integration.pk),
        after={"deleted": deleted},
    )
    return deleted
