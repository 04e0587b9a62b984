"""Celery tasks for channels: thin, idempotent, take ids and call services."""

from __future__ import annotations

from celery import shared_task

from .models import Channel
from .services import PURGE_BATCH_SIZE, channel_purge_messages


@shared_task(
    name="channels.channel_purge",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=8,
    acks_late=True,
)
def channel_purge(channel_pk: int, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the messages (and stored files) of a closed channel; a rerun does no harm."""
    channel = Channel.objects.filter(pk=channel_pk).first()
    if channel is None or not channel.is_closed:
        return 0
    return channel_purge_messages(channel=channel, batch_size=batch_size)


@shared_task(name="channels.channel_purge_sweep")
def channel_purge_sweep(limit: int = 100) -> int:
    """Re-queue the purge of closed channels that still have message rows (e.g. a lost
    task). Meant for Celery beat; returns how many purges were queued."""
    pks = list(
        Channel.objects.filter(closed_at__isnull=False, messages__isnull=False)
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")[:limit]
    )
    for pk in pks:
        channel_purge.delay(pk)
    return len(pks)
