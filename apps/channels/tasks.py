"""Celery tasks for channels: the expiry sweeps (thin, idempotent; they call services)."""

from __future__ import annotations

from celery import shared_task

from apps.channels.services import sweeps
from apps.core.sweeps import SWEEP_TASK_OPTIONS


@shared_task(name="channels.channel_mutes_expire_sweep", **SWEEP_TASK_OPTIONS)
def channel_mutes_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: make expired channel mutes final (audited, ``channel.unmuted``)."""
    return sweeps.channel_mutes_expire(batch_size=batch_size)


@shared_task(name="channels.channel_users_mutes_expire_sweep", **SWEEP_TASK_OPTIONS)
def channel_users_mutes_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: make expired member mutes final (audited, ``user.unmuted``)."""
    return sweeps.channel_users_mutes_expire(batch_size=batch_size)


@shared_task(name="channels.channel_users_bans_expire_sweep", **SWEEP_TASK_OPTIONS)
def channel_users_bans_expire_sweep(batch_size: int | None = None) -> int:
    """Beat: make expired channel bans final (audited, ``member.unbanned``)."""
    return sweeps.channel_users_bans_expire(batch_size=batch_size)
