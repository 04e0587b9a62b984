"""Celery tasks for statuses: the expiry sweep (thin, idempotent; it calls a service)."""

from __future__ import annotations

from celery import shared_task

from apps.core.sweeps import SWEEP_TASK_OPTIONS
from apps.presence import services


@shared_task(name="presence.statuses_expire_sweep", **SWEEP_TASK_OPTIONS)
def statuses_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: delete ended statuses (expired, or ``when-active`` and active since)."""
    return services.statuses_expire(batch_size=batch_size)
