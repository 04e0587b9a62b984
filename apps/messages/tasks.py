"""Celery tasks of the messages app: thin, idempotent, take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.core.publishing import publish
from apps.core.sweeps import SWEEP_TASK_OPTIONS
from apps.messages.services import search_index


@shared_task(
    name="messages.search_reindex",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    acks_late=True,
)
def search_reindex(organization_pk: int, batch_size: int | None = None) -> int:
    """Re-index an organization's messages after its search language changed."""
    return search_index.search_reindex(organization_pk=organization_pk, batch_size=batch_size)


@shared_task(name="messages.search_reindex_sweep", **SWEEP_TASK_OPTIONS)
def search_reindex_sweep(limit: int = 20) -> int:
    """Beat: queue the re-indexes that a lost task or a killed worker left undone."""
    pks = search_index.search_reindex_pending(limit=limit)
    for pk in pks:
        publish("messages.search_reindex", pk, recovered_by="messages.search_reindex_sweep")
    return len(pks)
