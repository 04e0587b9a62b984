"""Celery tasks for members: thin, idempotent wrappers around the services."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.members import services


@shared_task(
    name="members.member_bans_expire_sweep",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=3,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def member_bans_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: make expired global bans final (audited by the system, ``user.unbanned``)."""
    return services.member_bans_expire(batch_size=batch_size)
