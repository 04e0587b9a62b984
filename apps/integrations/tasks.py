"""Celery tasks of integrations (thin, idempotent; they call services)."""

from __future__ import annotations

from celery import shared_task

from apps.core.sweeps import SWEEP_TASK_OPTIONS
from apps.integrations.services import incoming


@shared_task(name="integrations.requests_expire_sweep", **SWEEP_TASK_OPTIONS)
def requests_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: forget the request hashes older than the double-request window."""
    return incoming.integration_requests_expire(batch_size=batch_size)
