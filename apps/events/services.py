"""Writing domain events, and delivering them to the subscribers (the dispatcher).

``event_record`` is called INSIDE the transaction of the change (like the audit): the
row exists if and only if that transaction commits, so nothing is published for a
rolled-back change. ``events_dispatch`` (run by the ``events.dispatch_pending`` task)
delivers pending rows in id order, at least once, one dispatcher at a time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.publishing import publish
from apps.events.models import DispatchLock, Event
from apps.events.registry import subscriptions_for
from apps.organizations.models import Organization

logger = logging.getLogger("chatadmin.events")

#: Events claimed (read) per round of the dispatcher.
DISPATCH_BATCH_SIZE = 200
#: How long one dispatch run may deliver before it hands over to a fresh task.
DISPATCH_TIME_BUDGET_SECONDS = 30.0
#: The dispatcher's lease; renewed after every batch. A dispatcher that died frees the
#: lease after this long (its undelivered events are then delivered again).
LEASE_SECONDS = 120
#: Backoff after a failed delivery: 5 s, 10 s, 20 s, ... at most 5 minutes.
RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 300
MAX_ERROR_LENGTH = 2000


#: A process asks for a dispatch at most once per this many seconds: a web worker that
#: commits many events queues one dispatch task per interval, not one per event.
DISPATCH_REQUEST_INTERVAL_SECONDS = 0.5


def event_record(*, organization: Organization, type: str, payload: dict[str, Any]) -> Event:
    """Append an event to the outbox, in the caller's transaction; a dispatch is
    requested once the transaction commits (:func:`request_dispatch_soon`; the beat
    sweep catches up if that is lost)."""
    event = Event.objects.create(organization=organization, type=type, payload=payload)
    if not _dispatch_requested_on_commit():
        transaction.on_commit(_request_dispatch)
    return event


def _dispatch_requested_on_commit() -> bool:
    """One dispatch request per transaction, however many events it writes."""
    pending = transaction.get_connection().run_on_commit
    return any(func is _request_dispatch for _, func, _ in pending)


def _request_dispatch() -> None:
    request_dispatch_soon()


class DispatchPacer:
    """When a process asks for a dispatch after a commit: at most one request per
    ``interval``, and none lost. A dispatch that starts after the commit delivers the
    event, so a commit is covered by a request queued to run after it:

    - nothing queued for the last ``interval``: queue one now;
    - one queued to run later than now (a countdown): that one covers this commit too;
    - else one with a countdown to ``interval`` after the last: every commit until it
      runs is covered by it (a dispatch within ``interval`` of any commit).

    Per process (thread-safe); ``clock`` is ``time.monotonic`` (tests pass their own)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None  # when the last request queued runs (clock time)

    def delay(self) -> float | None:
        """Seconds the request for a commit of now should wait (0: at once), or None
        when a request already queued runs after now."""
        now = self.clock()
        with self._lock:
            if self._last is not None and self._last > now:
                return None
            if self._last is None or now >= self._last + self.interval:
                self._last = now
                return 0.0
            self._last += self.interval
            return self._last - now

    def reset(self) -> None:
        with self._lock:
            self._last = None


dispatch_pacer = DispatchPacer(DISPATCH_REQUEST_INTERVAL_SECONDS)


def request_dispatch_soon() -> bool:
    """After a commit that wrote events: a dispatch within
    :data:`DISPATCH_REQUEST_INTERVAL_SECONDS` (:class:`DispatchPacer`). True when a
    request was queued (or one already queued covers it). With tasks run inline
    (``CELERY_TASK_ALWAYS_EAGER``) every commit dispatches at once: there is no broker
    to spare and no countdown."""
    if current_app.conf.task_always_eager:
        return request_dispatch()
    delay = dispatch_pacer.delay()
    if delay is None:
        return True
    return request_dispatch(countdown=delay)


def request_dispatch(*, countdown: float = 0.0) -> bool:
    """Ask a worker to dispatch pending events (in ``countdown`` seconds; True if the
    broker took it). Never raises and gives up quickly: a broker outage must not fail or
    hold the request that committed the event (beat's ``events-dispatch`` catches up when
    the broker is back)."""
    return publish(
        "events.dispatch_pending", recovered_by="events.dispatch_pending", countdown=countdown
    )


# --- the dispatcher ----------------------------------------------------------------------


@dataclass
class DispatchResult:
    delivered: int = 0
    failed: int = 0
    #: False when another dispatcher held the lease (it was asked to look again).
    ran: bool = True
    #: True when the time budget ran out with events still pending.
    more: bool = False


def retry_delay(attempts: int) -> timedelta:
    """The wait before delivery attempt ``attempts + 1`` after ``attempts`` failures."""
    seconds = RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, RETRY_MAX_SECONDS))


def _lock_row() -> DispatchLock:
    """The lock row, locked (``select_for_update``) in the caller's transaction. On
    SQLite the IMMEDIATE transaction mode serializes writers the same way."""
    DispatchLock.objects.get_or_create(pk=1)  # a flushed test database has no row
    return DispatchLock.objects.select_for_update().get(pk=1)


def _lease_acquire(holder: str) -> bool:
    with transaction.atomic():
        lock = _lock_row()
        now = timezone.now()
        if lock.holder and lock.lease_until and lock.lease_until > now:
            if not lock.rerun:
                lock.rerun = True  # the holder looks again before it lets go
                lock.save(update_fields=["rerun", "updated_at"])
            return False
        lock.holder, lock.lease_until, lock.rerun = (
            holder,
            now + timedelta(seconds=LEASE_SECONDS),
            False,
        )
        lock.save(update_fields=["holder", "lease_until", "rerun", "updated_at"])
        return True


def _lease_renew(holder: str) -> bool:
    """Extend the lease; False if it was lost (expired and taken by another)."""
    until = timezone.now() + timedelta(seconds=LEASE_SECONDS)
    return DispatchLock.objects.filter(pk=1, holder=holder).update(lease_until=until) == 1


def _lease_release(holder: str) -> bool:
    """Give the lease back, unless another dispatcher asked for a rerun meanwhile: then
    keep it and return True (the caller dispatches once more)."""
    with transaction.atomic():
        lock = _lock_row()
        if lock.holder != holder:
            return False
        if lock.rerun:
            lock.rerun = False
            lock.lease_until = timezone.now() + timedelta(seconds=LEASE_SECONDS)
            lock.save(update_fields=["rerun", "lease_until", "updated_at"])
            return True
        lock.holder, lock.lease_until = "", None
        lock.save(update_fields=["holder", "lease_until", "updated_at"])
        return False


def _backing_off_organizations(now: Any) -> set[int]:
    """Organizations whose oldest pending event failed and waits for its retry: their
    later events wait too (order per organization). Uses the small ``event_retry``
    partial index."""
    return set(
        Event.objects.filter(dispatched_at__isnull=True, next_attempt_at__gt=now)
        .values_list("organization_id", flat=True)
        .distinct()
    )


def _claim(batch_size: int) -> list[Event]:
    """The next pending events in id order, skipping organizations that back off."""
    blocked = _backing_off_organizations(timezone.now())
    pending = Event.objects.filter(dispatched_at__isnull=True)
    if blocked:
        pending = pending.exclude(organization_id__in=blocked)
    return list(pending.select_related("organization").order_by("id")[:batch_size])


def _deliver(event: Event) -> None:
    for subscription in subscriptions_for(event.type):
        try:
            subscription.handler(event)
        except Exception as exc:
            raise _DeliveryFailed(f"{subscription.name}: {exc!r}") from exc


class _DeliveryFailed(Exception):
    pass


def _deliver_batch(events: list[Event]) -> tuple[int, int]:
    """Deliver each event to its subscribers; stamp the delivered ones, reschedule the
    failed ones. Returns (delivered, failed)."""
    delivered: list[int] = []
    failed = 0
    stopped: set[int] = set()  # organizations with a failure in this batch
    for event in events:
        if event.organization_id in stopped:
            continue  # keep the organization's order: wait behind the failed event
        try:
            _deliver(event)
        except _DeliveryFailed as exc:
            failed += 1
            stopped.add(event.organization_id)
            attempts = event.attempts + 1
            logger.warning(
                "event %s (%s) not delivered (attempt %s): %s",
                event.pk,
                event.type,
                attempts,
                exc,
                exc_info=exc.__cause__,
            )
            Event.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(
                attempts=F("attempts") + 1,
                last_error=str(exc)[:MAX_ERROR_LENGTH],
                next_attempt_at=timezone.now() + retry_delay(attempts),
            )
        else:
            delivered.append(event.pk)
    if delivered:
        Event.objects.filter(pk__in=delivered, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now(),
            attempts=F("attempts") + 1,
            last_error="",
            next_attempt_at=None,
        )
    return len(delivered), failed


def _has_due_events() -> bool:
    """A cheap look before taking the lease (an indexed read; most runs end here)."""
    now = timezone.now()
    pending = Event.objects.filter(dispatched_at__isnull=True)
    blocked = _backing_off_organizations(now)
    if blocked:
        pending = pending.exclude(organization_id__in=blocked)
    return pending.exists()


def events_dispatch(
    *,
    batch_size: int = DISPATCH_BATCH_SIZE,
    time_budget: float | None = None,
) -> DispatchResult:
    """Deliver pending events in id order to the subscribers and stamp ``dispatched_at``.

    At least once: an event is stamped only after every subscriber took it; a failure
    leaves it pending (``attempts`` + 1, ``last_error``, ``next_attempt_at`` with
    backoff) and holds back that organization's later events until it is delivered.
    One dispatcher at a time (the lease of :class:`DispatchLock`); a second one returns
    at once after asking the first to look again.
    """
    result = DispatchResult()
    if not _has_due_events():
        return result
    holder = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    if not _lease_acquire(holder):
        result.ran = False
        return result
    if time_budget is None:
        time_budget = DISPATCH_TIME_BUDGET_SECONDS
    deadline = time.monotonic() + time_budget
    held = True
    try:
        while True:
            while True:
                if time.monotonic() >= deadline:
                    result.more = _has_due_events()
                    break
                batch = _claim(batch_size)
                if not batch:
                    break
                delivered, failed = _deliver_batch(batch)
                result.delivered += delivered
                result.failed += failed
                if not _lease_renew(holder):
                    logger.warning("dispatcher %s lost its lease; stopping", holder)
                    held = False
                    return result
            if result.more:
                break
            if not _lease_release(holder):  # True: a rerun was asked for meanwhile
                held = False
                break
    finally:
        if held:
            _lease_release_unconditionally(holder)
    return result


def _lease_release_unconditionally(holder: str) -> None:
    DispatchLock.objects.filter(pk=1, holder=holder).update(
        holder="", lease_until=None, rerun=False
    )


def events_retry_now(*, event_pks: list[int]) -> int:
    """Make failed pending events due at once (the admin's "retry now")."""
    return Event.objects.filter(
        pk__in=event_pks, dispatched_at__isnull=True, next_attempt_at__isnull=False
    ).update(next_attempt_at=None)
