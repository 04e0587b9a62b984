"""Celery tasks of closing and scheduled deletion: thin, idempotent, take ids and call
services. Their names (``channels.*``) are kept from when they lived in apps.channels:
beat schedules and queued messages name them."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from apps.channels.models import Channel
from apps.core.sweeps import SWEEP_TASK_OPTIONS
from apps.retention import services


@shared_task(
    name="channels.channel_purge",
    # transient: the database went away, storage (disk, S3) failed; a bug is not retried
    autoretry_for=(OperationalError, InterfaceError, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    acks_late=True,
)
def channel_purge(channel_pk: int, batch_size: int | None = None) -> int:
    """Delete the messages (and stored files) and the avatar file of a closed channel; a
    rerun does no harm."""
    channel = Channel.objects.filter(pk=channel_pk).first()
    if channel is None or not channel.is_closed:
        return 0
    return services.channel_purge_messages(channel=channel, batch_size=batch_size)


@shared_task(name="channels.channel_purge_sweep")
def channel_purge_sweep(limit: int = 100) -> int:
    """Re-queue the purge of closed channels that still have message rows or an avatar
    file (e.g. a lost task, a worker killed before the avatar went). Claimed scheduled
    deletions are left to their own sweep, unless they still have messages. Meant for
    Celery beat; returns how many purges were queued."""
    pks = services.channel_purges_pending(limit=limit)
    for pk in pks:
        channel_purge.delay(pk)
    return len(pks)


@shared_task(
    name="channels.channel_scheduled_deletion_finish",
    autoretry_for=(OperationalError, InterfaceError, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    acks_late=True,
    reject_on_worker_lost=True,
)
def channel_scheduled_deletion_finish(channel_pk: int) -> bool:
    """Purge a claimed scheduled deletion (messages, files, memberships, tags, the row)."""
    return services.channel_scheduled_deletion_finish(channel_pk=channel_pk)


@shared_task(name="channels.channel_scheduled_deletion_sweep", **SWEEP_TASK_OPTIONS)
def channel_scheduled_deletion_sweep(batch_size: int | None = None) -> int:
    """Beat: claim the due scheduled deletions (audit with counts, ``channel.deleted``)
    and purge them here; also take over deletions whose worker died. Returns how many
    channels were deleted by this run."""
    pks = services.channel_scheduled_deletions_claim(batch_size=batch_size)
    pks += services.channel_scheduled_deletions_stalled()
    return sum(services.channel_scheduled_deletion_finish(channel_pk=pk) for pk in pks)
