"""Celery tasks for members: thin, idempotent wrappers around the services."""

from __future__ import annotations

from celery import shared_task

from apps.core.sweeps import SWEEP_TASK_OPTIONS
from apps.members import services


@shared_task(name="members.member_bans_expire_sweep", **SWEEP_TASK_OPTIONS)
def member_bans_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: make expired global bans final (audited by the system, ``user.unbanned``)."""
    return services.member_bans_expire(batch_size=batch_size)
