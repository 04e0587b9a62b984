"""Deleting a channel's messages for real, in batches, with exact counts.

Used by the purge of a closed channel (``apps.channels.services.channel_purge_messages``)
and by the sweep of scheduled deletions. Everything under a message (tags, stored-file
rows, reactions, reports, replies) is removed by the database's own ``ON DELETE
CASCADE`` (``on_delete=DB_CASCADE``), so a batch is ONE statement, ``DELETE FROM messages
WHERE channel_id = %s AND id >= %s AND id <= %s`` (the id range of the batch), whatever
the number of rows under it; Django never loads the rows in Python.

One batch, a constant number of queries whatever its size:

1. find the id range of the channel's newest ``batch_size`` messages (replies are
   younger than their parent, so a reply is never left behind by its parent's cascade);
2. list the stored files of those messages and delete them from storage (idempotent:
   deleting a missing file is not an error), BEFORE their rows, so a crash never leaves
   a file without a row that names it;
3. in one short transaction: lock the batch's rows (nobody can add a reaction, file or
   report under them any more), count what the cascade will remove (messages,
   reactions, files, reports, tags) with aggregate queries, and delete the rows.

A run killed at any point loses nothing: a batch's rows are gone or all still there, and
a rerun starts over from whatever remains, counting only what it removes itself.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min

from apps.channels.models import Channel
from apps.messages.models import Message, MessageFile, MessageTag, Reaction
from apps.reports.models import Report

logger = logging.getLogger(__name__)

#: Used when settings.CHATADMIN has no PURGE_BATCH_SIZE.
DEFAULT_BATCH_SIZE = 5_000


@dataclass(frozen=True)
class PurgeResult:
    """Rows removed (stored files: rows, each with its file deleted from storage)."""

    messages: int = 0
    reactions: int = 0
    files: int = 0
    reports: int = 0
    tags: int = 0

    def __add__(self, other: PurgeResult) -> PurgeResult:
        return PurgeResult(**{k: v + getattr(other, k) for k, v in asdict(self).items()})

    @property
    def deleted_anything(self) -> bool:
        return any(asdict(self).values())

    def as_dict(self) -> dict[str, int]:
        """The counts as an audit entry's ``after``."""
        return asdict(self)


def purge_batch_size(batch_size: int | None = None) -> int:
    """The batch size to use: the argument, else the setting, bounded by what the
    database accepts in one statement (each batch query carries the ids twice)."""
    size = batch_size or settings.CHATADMIN.get("PURGE_BATCH_SIZE") or DEFAULT_BATCH_SIZE
    if size < 1:
        raise ValueError(f"batch_size must be positive, not {size!r}")
    limit = connection.features.max_query_params
    return min(size, limit // 2) if limit else size


def purge_channel_batch(*, channel: Channel, batch_size: int) -> PurgeResult | None:
    """Delete the newest ``batch_size`` messages of the channel and everything under
    them. Returns the counts, or None when the channel has no message left."""
    bounds = (
        Message.objects.filter(channel=channel)
        .order_by("-pk")[:batch_size]
        .aggregate(lo=Min("pk"), hi=Max("pk"))
    )
    if bounds["lo"] is None:
        return None
    # The batch as a key range of the channel's (channel, id) index: the same rows as the
    # ids just picked (a closed channel gets no new message), without statements of
    # thousands of parameters (measured: 3x slower than the range on PostgreSQL).
    batch = Message.objects.filter(channel=channel, pk__gte=bounds["lo"], pk__lte=bounds["hi"])
    # Replies live in their parent's channel and are younger, so they are in this batch
    # or an earlier one; any reply elsewhere would still go with its parent (the DB
    # cascade), so it is counted and its files deleted too.
    elsewhere = Message.objects.filter(parent__in=batch).exclude(
        channel=channel, pk__gte=bounds["lo"], pk__lte=bounds["hi"]
    )
    under = batch.values("pk").union(elsewhere.values("pk"))

    # Files first, outside the transaction (storage may be slow or remote). A file
    # deleted here whose row survives a crash is deleted again, harmlessly, on rerun.
    storage = MessageFile._meta.get_field("file").storage
    for name in MessageFile.objects.filter(message_id__in=under).values_list("file", flat=True):
        if name:
            storage.delete(name)

    with transaction.atomic():
        # Lock the batch: an insert under these rows (a reaction, a report) now waits and
        # then fails, so the counts below are exactly what the DELETE removes.
        locked = len(batch.select_for_update().values_list("pk"))
        result = PurgeResult(
            messages=locked + elsewhere.count(),
            reactions=Reaction.objects.filter(message_id__in=under).count(),
            files=MessageFile.objects.filter(message_id__in=under).count(),
            reports=Report.objects.filter(target_message_id__in=under).count(),
            tags=MessageTag.objects.filter(message_id__in=under).count(),
        )
        # Message's reverse relations are all DB_CASCADE and it has no delete signals,
        # so this is ONE "DELETE FROM messages WHERE channel_id = .. AND id BETWEEN ..":
        # no row is loaded in Python, the database removes what hangs below.
        batch.delete()
        # Progress is kept with the deletion it describes: a worker killed after this
        # commit loses nothing of the totals, one killed before it deleted nothing.
        progress = Channel.objects.select_for_update().filter(pk=channel.pk).first()
        if progress is not None:
            totals = PurgeResult(**progress.purge_counts) + result
            progress.purge_counts = totals.as_dict()
            progress.save(update_fields=["purge_counts"])
    return result


def purge_channel_messages(*, channel: Channel, batch_size: int | None = None) -> PurgeResult:
    """Delete every message of the channel (rows and stored files) in batches and return
    the exact counts of what this call removed. Idempotent: a second call returns zeros.

    It does not check the channel's state and records no audit entry: the callers (the
    purge of a closed channel, the sweep of scheduled deletions) do both.
    """
    size = purge_batch_size(batch_size)
    total = PurgeResult()
    while (batch := purge_channel_batch(channel=channel, batch_size=size)) is not None:
        total += batch
    if total.deleted_anything:
        logger.info("purged channel %s: %s", channel.pk, total.as_dict())
    return total
