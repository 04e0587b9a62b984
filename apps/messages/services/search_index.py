"""The full-text index of messages after an organization changed its ``search_language``.

On PostgreSQL a trigger (migration ``chat_messages.0004``) indexes a message when it is
written, in its organization's language at that moment; messages written before a change
keep the old language until they are written again. :func:`search_reindex` rewrites them
in batches of primary keys (``UPDATE ... SET data = data``, each batch its own short
transaction, so a web request never waits on it and a large organization holds no long
lock). The work is recorded on the organization (``search_index_generation`` ahead of
``search_indexed_generation``): a worker claims it with a lease, renewed per batch, and
the beat sweep re-queues what a lost task or a killed worker left. Re-running is harmless.
On SQLite search scans the text (docs/api/messaging-search.md): nothing to re-index.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from apps.messages.models import Message
from apps.organizations.models import Organization

#: How long a claim holds without renewal (a killed worker's claim lapses after it).
LEASE = timedelta(minutes=5)


def _pending_q() -> Q:
    return Q(search_indexed_generation__lt=F("search_index_generation"))


def search_reindex_pending(*, limit: int = 100) -> list[int]:
    """Organizations whose messages wait for a re-index and that no worker holds."""
    now = timezone.now()
    free = Q(search_reindex_claimed_until__isnull=True) | Q(search_reindex_claimed_until__lt=now)
    rows = Organization.objects.filter(_pending_q(), free).order_by("pk")
    return list(rows.values_list("pk", flat=True)[:limit])


def _claim(organization_pk: int) -> int | None:
    """Take the lease; the generation being indexed, or None (done, or held)."""
    now = timezone.now()
    free = Q(search_reindex_claimed_until__isnull=True) | Q(search_reindex_claimed_until__lt=now)
    claimed = Organization.objects.filter(_pending_q(), free, pk=organization_pk).update(
        search_reindex_claimed_until=now + LEASE
    )
    if not claimed:
        return None
    return (
        Organization.objects.filter(pk=organization_pk)
        .values_list("search_index_generation", flat=True)
        .first()
    )


def search_reindex(*, organization_pk: int, batch_size: int | None = None) -> int:
    """Re-index the organization's messages in its current language; returns how many
    rows were rewritten (0 when there was nothing to do or another worker holds it)."""
    generation = _claim(organization_pk)
    if generation is None:
        return 0
    size = batch_size or int(settings.CHATADMIN["PURGE_BATCH_SIZE"])
    done = 0
    if connection.vendor == "postgresql":
        bounds = Message.objects.filter(organization_id=organization_pk).aggregate(
            low=Min("pk"), top=Max("pk")
        )
        low = (bounds["low"] or 1) - 1
        top = bounds["top"] or 0
        while low < top:  # id ranges between the organization's first and last message
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE chat_messages_message SET data = data"
                    " WHERE id > %s AND id <= %s AND organization_id = %s",
                    [low, low + size, organization_pk],
                )
                done += cursor.rowcount
                Organization.objects.filter(pk=organization_pk).update(
                    search_reindex_claimed_until=timezone.now() + LEASE
                )
            low += size
    Organization.objects.filter(
        pk=organization_pk, search_indexed_generation__lt=generation
    ).update(search_indexed_generation=generation)
    Organization.objects.filter(pk=organization_pk).update(search_reindex_claimed_until=None)
    return done
