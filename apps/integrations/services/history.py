"""An integration's history (Rocket.Chat's ``integrations.history``): clearing it, and
the retention of the outgoing deliveries.

Entries are written by the incoming path (apps.integrations.services.incoming) and by the
outgoing delivery; this module removes them on request, with the same "who may" as every
other change of the integration, and removes finished deliveries once they are older
than ``WEBHOOK_DELIVERY_RETENTION_DAYS`` (a beat sweep).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.sweeps import DEFAULT_SWEEP_BATCH_SIZE, SWEEP_MAX_BATCHES
from apps.integrations.models import Delivery, Integration, IntegrationHistory
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


def deliveries_prune(*, batch_size: int | None = None, now: datetime | None = None) -> int:
    """Remove the finished deliveries made more than ``WEBHOOK_DELIVERY_RETENTION_DAYS``
    ago (0: none); pending ones are work, never removed. Returns how many were removed.

    Deliveries are made in the order of their primary key, so the old ones are at its
    front: each batch reads the next rows by primary key (no index on the times: each
    would be written again by every attempt's record) and removes the old finished ones
    among them; a batch that reaches a row made after the cut is the last. A run with
    nothing to remove reads one batch. Up to ``SWEEP_MAX_BATCHES`` batches a run (the
    next beat run goes on); a delivery replayed meanwhile (pending again) stays."""
    days = float(settings.CHATADMIN["WEBHOOK_DELIVERY_RETENTION_DAYS"])
    if days <= 0:
        return 0
    size = batch_size or int(settings.CHATADMIN.get("SWEEP_BATCH_SIZE", DEFAULT_SWEEP_BATCH_SIZE))
    cut = (now or timezone.now()) - timedelta(days=days)
    removed, after = 0, 0
    for _ in range(SWEEP_MAX_BATCHES):
        rows = list(
            Delivery.objects.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "created_at", "status")[:size]
        )
        old = [pk for pk, made, status in rows if made < cut and status != Delivery.Status.PENDING]
        if old:
            deleted, _ = (
                Delivery.objects.filter(pk__in=old).exclude(status=Delivery.Status.PENDING).delete()
            )
            removed += deleted
        if len(rows) < size or rows[-1][1] >= cut:
            break
        after = rows[-1][0]
    return removed
