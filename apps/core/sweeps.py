"""The one way expiry sweeps claim and lift time-based state (DESIGN.md invariant 2).

A sweep makes final what reads already honour: an expired mute or ban. It claims a batch
of expired rows with ``select_for_update(skip_locked=True)`` (on the partial index of the
expiry column, so idle channels are reached as fast as busy ones), lifts each with an
UPDATE whose WHERE repeats the expiry condition (a concurrent sweep, or an admin who
renewed the state meanwhile, is never overridden), and calls ``lift`` for each row it
really lifted, inside the same short transaction, so the audit entry and the event are
written exactly once. Two beats or a killed worker lose and double nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

#: Rows a sweep claims per transaction when settings.CHATADMIN has no SWEEP_BATCH_SIZE.
DEFAULT_SWEEP_BATCH_SIZE = 500
#: A sweep run stops after this many full batches (the next beat run goes on).
SWEEP_MAX_BATCHES = 100


#: Options of every beat sweep task: transient database errors are retried with backoff;
#: the sweeps are idempotent, so a redelivery after a lost worker is harmless.
SWEEP_TASK_OPTIONS: dict = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 60,
    "max_retries": 3,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with Z (event payloads, audit snapshots, the APIs' times). Called
    for every time of a list, so a time already in UTC (as the database gives them) is not
    converted, and it is written without its offset (half the cost of writing
    ``+00:00`` and replacing it)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat() + "Z"


def timed_active(
    since: datetime | None, until: datetime | None, now: datetime | None = None
) -> bool:
    """Time-based state (a mute, a ban) that holds at ``now``: set, and either open-ended
    or not yet over. An expired one no longer counts, whether or not a sweep ran."""
    if since is None:
        return False
    return until is None or until > (now or timezone.now())


def timed_active_q(since: str, until: str, *, now: datetime | None = None, prefix: str = "") -> Q:
    """The SQL twin of :func:`timed_active` on the columns ``since`` and ``until``
    (``prefix`` e.g. ``"memberships__"`` to reach them through a relation)."""
    now = now or timezone.now()
    return Q(**{f"{prefix}{since}__isnull": False}) & (
        Q(**{f"{prefix}{until}__isnull": True}) | Q(**{f"{prefix}{until}__gt": now})
    )


def sweep_batch_size(batch_size: int | None = None) -> int:
    """The argument, else CHATADMIN["SWEEP_BATCH_SIZE"], else the default."""
    size = batch_size or settings.CHATADMIN.get("SWEEP_BATCH_SIZE") or DEFAULT_SWEEP_BATCH_SIZE
    return max(1, int(size))


def sweep_expired[M: Model](
    *,
    queryset: QuerySet[M],
    since: str,
    until: str,
    clear: dict[str, Any],
    lift: Callable[[M], None],
    batch_size: int | None = None,
) -> int:
    """Lift the rows of ``queryset`` whose ``since`` is set and ``until`` has passed.

    ``clear`` is what the UPDATE writes (``updated_at`` is added when the model has one);
    ``lift(row)`` records the audit entry and the event of one lifted row (``row`` holds
    the values from before the UPDATE). Returns how many rows were lifted.
    """
    size = sweep_batch_size(batch_size)
    model = queryset.model
    touch = any(f.name == "updated_at" for f in model._meta.concrete_fields)
    lifted = 0
    for _ in range(SWEEP_MAX_BATCHES):
        with transaction.atomic():
            now = timezone.now()
            expired = Q(**{f"{since}__isnull": False, f"{until}__lte": now})
            rows = list(
                queryset.filter(expired)
                .select_for_update(skip_locked=True, of=("self",))
                .order_by(until, "pk")[:size]
            )
            values = {**clear, "updated_at": now} if touch else clear
            for row in rows:
                if model._default_manager.filter(expired, pk=row.pk).update(**values):
                    lift(row)
                    lifted += 1
        if len(rows) < size:
            break
    return lifted
