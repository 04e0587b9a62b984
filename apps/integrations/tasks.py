"""Celery tasks of integrations (thin, idempotent; they call services)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.core.sweeps import SWEEP_TASK_OPTIONS
from apps.integrations.services import delivery, history, incoming


@shared_task(name="integrations.requests_expire_sweep", **SWEEP_TASK_OPTIONS)
def requests_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: forget the request hashes older than the double-request window."""
    return incoming.integration_requests_expire(batch_size=batch_size)


@shared_task(
    name="integrations.deliveries_run",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def deliveries_run() -> int:
    """Make the due outgoing webhook attempts (queued by every fan-out on commit, and by
    beat). Attempts run in this process's thread pool; when the time budget runs out
    with more due, a fresh task takes over."""
    result = delivery.deliveries_run()
    if result.more:
        delivery.request_run()
    return result.attempted


@shared_task(name="integrations.deliveries_prune_sweep", **SWEEP_TASK_OPTIONS)
def deliveries_prune_sweep(batch_size: int | None = None) -> int:
    """Beat: remove the finished deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS."""
    return history.deliveries_prune(batch_size=batch_size)
