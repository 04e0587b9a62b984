"""Celery tasks of the outbox: the dispatcher, and the request for a dispatch."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.events.services import events_dispatch
from apps.events.services import request_dispatch as services_request_dispatch


@shared_task(
    name="events.dispatch_pending",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def dispatch_pending() -> int:
    """Deliver pending outbox events to the subscribers (idempotent: a second run at
    the same time returns at once; a run that dies leaves its events pending). Queued
    after commits that wrote events (at most once per
    ``DISPATCH_REQUEST_INTERVAL_SECONDS`` per process), and by beat every few seconds."""
    result = events_dispatch()
    if result.more:
        request_dispatch()  # the time budget ran out: continue in a fresh task
    return result.delivered


def request_dispatch() -> bool:
    """Ask for a fresh dispatch task (apps.events.services.request_dispatch)."""
    return services_request_dispatch()
