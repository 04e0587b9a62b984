"""Outgoing webhook deliveries: written once by the fan-out, each with its own attempt
schedule, claimed in batches, sent through the SSRF-safe client (apps.core.egress),
signed (Standard Webhooks), recorded. One attempt (what is sent, what the answer means,
when the next one is due) is :mod:`~apps.integrations.services.delivery_send`; the
statements run for every delivery are :mod:`~apps.integrations.services.delivery_sql`.

- **Durable.** A delivery is a row (``Delivery``); its next attempt is a timestamp. Beat
  runs ``integrations.deliveries_run`` every few seconds and every fan-out asks for a run
  on commit, so a restart loses nothing.
- **One attempt, one sender.** An attempt is claimed with a guarded UPDATE (still
  pending, due, not leased) that bumps ``attempts`` and sets ``leased_until``; the result
  is written only if ``attempts`` is still the claimed one. A sender killed mid-send
  leaves the lease to expire: the attempt is made again, with the same ``webhook-id``.
- **Batches.** The fan-out writes its rows in one statement (a JSON array of rows). A run
  claims the due deliveries several at a time (one statement), reads their integrations
  once per batch (kept for the run, read again when changed), sleeps until half of its
  pool is free (not woken by every send) and records the successes of the sends that
  ended together (one statement); a failure is recorded by its sender at once (it may
  hold its endpoint's other deliveries back).
- **Isolation.** A run sends in a pool of threads, at most ``WEBHOOK_ENDPOINT_CONCURRENCY``
  to one URL; an endpoint that times out, refuses connections, answers 5xx or 429 moves
  its other waiting deliveries to its own next attempt (a circuit breaker), so one dead
  endpoint costs a few threads for a timeout, never the others' latency.
- **Status rules.** 2xx succeeds (a reply may post a message back); 3xx fails (redirects
  are never followed); 410 disables the integration; 429 and 503 honour ``Retry-After``;
  anything else (and a timeout, a refused connection) is retried on the schedule:
  ``WEBHOOK_RETRY_SCHEDULE``, or a Rocket.Chat integration's ``retryCount`` /
  ``retryDelay``. An integration failing for ``WEBHOOK_DISABLE_AFTER_DAYS`` is disabled.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.errors import DomainError
from apps.core.publishing import publish
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import delivery_send, delivery_sql
from apps.integrations.services.delivery_send import MAX_RETRY_AFTER, Outcome, retry_delay

__all__ = [  # (MAX_RETRY_AFTER and retry_delay: delivery_send's, named here too)
    "MAX_RETRY_AFTER",
    "RUN_TASK",
    "NewDelivery",
    "Outcome",
    "RunResult",
    "deliveries_clear",
    "deliveries_create",
    "deliveries_run",
    "delivery_attempt",
    "delivery_claim",
    "delivery_replay",
    "request_run",
    "retry_delay",
    "webhook_id",
]

logger = logging.getLogger("chatadmin.webhooks")

#: The task a fan-out queues on commit; beat queues it too.
RUN_TASK = "integrations.deliveries_run"
#: While a run has sends in flight and nothing it may claim, it looks for new due rows
#: this often (one indexed query, ~0.3 ms of CPU, each time): a send to a slow or dead
#: endpoint (up to WEBHOOK_TIMEOUT_SECONDS) must not delay the deliveries written
#: meanwhile. A fan-out in this process wakes the run at once (:func:`_wake_runs`); one in
#: another process also queues a run, which another worker process takes: the poll is
#: for a worker without a free process.
IDLE_POLL_SECONDS = 0.05
#: Reads of the due rows one claim makes at most while other processes' runs take the
#: rows it read (:meth:`_DueRows.claim`).
CLAIM_READS = 4
#: Due rows a run reads at least at once (its claims take them in batches as threads
#: free up).
DUE_BATCH = 32


@dataclass(frozen=True)
class NewDelivery:
    """What the fan-out (or a command run, a test event) asks to send: one row per URL."""

    integration: Integration
    event: str
    payload: Mapping[str, Any]
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    context: Mapping[str, Any] = field(default_factory=dict)


def webhook_id(integration_id: int, event_id: uuid.UUID, url: str) -> str:
    """The ``webhook-id`` of a delivery: derived from what makes it unique, so a fan-out
    run twice for one event writes (and names) the same delivery."""
    digest = hashlib.sha256(f"{integration_id}:{event_id}:{url}".encode()).hexdigest()
    return f"msg_{digest[:40]}"


def deliveries_create(rows: Iterable[NewDelivery]) -> int:
    """Write one pending delivery per row and URL, due now (idempotent: a row that exists
    is left alone); a run is requested once the transaction commits. Returns how many
    rows were asked for."""
    values = [
        (
            row.integration.organization_id,
            row.integration.pk,
            row.event_id,
            row.event,
            url,
            webhook_id(row.integration.pk, row.event_id, url),
            dict(row.payload),
            dict(row.context),
        )
        for row in rows
        for url in row.integration.urls
    ]
    if values:
        delivery_sql.insert(values, timezone.now())
        request_run()
    return len(values)


def request_run() -> None:
    """Ask a worker for a run once the transaction commits (once per transaction)."""
    pending = transaction.get_connection().run_on_commit
    if not any(func is _publish_run for _, func, _ in pending):
        transaction.on_commit(_publish_run)


def _publish_run() -> None:
    _wake_runs()  # a run of this process with sends in flight takes them at once
    publish(RUN_TASK, recovered_by=RUN_TASK)


# --- claiming ----------------------------------------------------------------------------


def _due_q(now: datetime) -> Q:
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) & (
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )


class _Integrations:
    """A run's integrations by pk, each with its organization and bot, checked at every
    batch with one narrow query and read again when its ``updated_at`` (every change of
    its settings), ``failing_since`` or ``enabled`` moved: an attempt sees its integration
    as it was at the claim (disabled, or without the delivery's URL: cancelled, unsent),
    without instantiating three wide models per batch (~3 ms of CPU)."""

    STAMP = ("updated_at", "failing_since", "enabled")

    def __init__(self) -> None:
        self._cached: dict[int, tuple[tuple[Any, ...], Integration]] = {}

    def attach(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Give each delivery its integration; a delivery whose integration is gone
        (removed, and its deliveries with it) is left out."""
        if not deliveries:
            return []
        stamps = delivery_sql.integration_stamps({d.integration_id for d in deliveries}, self.STAMP)
        stale = [pk for pk, stamp in stamps.items() if self._cached.get(pk, (None,))[0] != stamp]
        if stale:
            fresh = (
                Integration.objects.select_related("organization", "bot").order_by().in_bulk(stale)
            )
            self._cached.update((pk, (stamps[pk], fresh[pk])) for pk in fresh)
        kept = []
        for delivery in deliveries:
            if delivery.integration_id in stamps and delivery.integration_id in self._cached:
                delivery.integration = self._cached[delivery.integration_id][1]
                kept.append(delivery)
        return kept


def delivery_claim(pk: int, now: datetime | None = None) -> int | None:
    """Claim the next attempt of a due delivery; its attempt number, or None when another
    sender has it (or it is not due). One statement."""
    claimed = delivery_sql.claim([pk], now or timezone.now())
    return claimed[0].attempts if claimed else None


# --- sending and recording ---------------------------------------------------------------


def _disable(integration: Integration, reason: str) -> None:
    """Disable an outgoing integration on the machinery's behalf, audited (system). The
    object is marked too: the other attempts of its batch are cancelled, unsent."""
    changed = Integration.objects.filter(pk=integration.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:255], updated_at=timezone.now()
    )
    integration.enabled = False
    if changed:
        audit_record(
            organization=integration.organization,
            actor=Actor.system(),
            action="integration.disable",
            target_type="integration",
            target_id=str(integration.pk),
            reason=reason[:255],
            before={"enabled": True},
            after={"enabled": False},
        )
        logger.warning("integration %s disabled: %s", integration.pk, reason)


@dataclass
class _Sent:
    """An attempt that was made (sent, or refused before sending): what recording it needs."""

    delivery: Delivery
    attempt: int
    outcome: Outcome


def _send_attempt(delivery: Delivery, attempt: int) -> _Sent | None:
    """Make attempt ``attempt`` of ``delivery`` (its integration attached) up to its
    record. None when it was cancelled, unsent (the integration is disabled, or no longer
    has the URL). A failure is recorded here (it may hold back the endpoint's other
    deliveries at once); a success is left to the caller (:func:`_record_successes`,
    which records several in one statement)."""
    integration = delivery.integration
    cancelled = (
        "The integration is disabled."
        if not integration.enabled
        else "The URL is no longer one of the integration's."
        if delivery.url not in integration.urls
        else ""
    )
    if cancelled:
        delivery_sql.write_held(
            [(delivery.pk, attempt)],
            {
                "status": Delivery.Status.CANCELLED,
                "finished_at": timezone.now(),
                "next_attempt_at": None,
                "leased_until": None,
                "error_message": cancelled,
            },
        )
        return None
    outcome = delivery_send.send(delivery, integration)
    if not outcome.ok:
        _record_failure(delivery, integration, attempt, outcome)
    return _Sent(delivery, attempt, outcome)


def _record_successes(successes: Sequence[_Sent]) -> list[_Sent]:
    """Record successful attempts, each only if its attempt still holds its delivery;
    the ones written (an attempt whose lease expired and was claimed again is not: it
    posts no reply). One UPDATE for all those that got the same answer (status and
    excerpt: usually all of them), plus one to clear ``failing_since`` of the
    integrations that were failing."""
    now = timezone.now()
    same_answer: dict[tuple[int | None, str], list[_Sent]] = defaultdict(list)
    for sent in successes:
        same_answer[(sent.outcome.status, sent.outcome.excerpt)].append(sent)
    recorded: list[_Sent] = []
    for (status, excerpt), group in same_answer.items():
        written = delivery_sql.write_held(
            [(sent.delivery.pk, sent.attempt) for sent in group],
            {
                "status": Delivery.Status.SUCCEEDED,
                "response_status": status,
                "response_excerpt": excerpt,
                "error_message": "",
                "leased_until": None,
                "next_attempt_at": None,
                "finished_at": now,
                "updated_at": now,
            },
        )
        recorded += [sent for sent in group if sent.delivery.pk in written]
    # failing_since as read with the batch, or as a failure of the batch set it
    recovered = {s.delivery.integration for s in recorded if s.delivery.integration.failing_since}
    if recovered:
        Integration.objects.filter(
            pk__in=[i.pk for i in recovered], failing_since__isnull=False
        ).update(failing_since=None)
        for integration in recovered:
            integration.failing_since = None
    return recorded


def _record_failure(
    delivery: Delivery, integration: Integration, attempt: int, outcome: Outcome
) -> bool:
    """Write a failed attempt's result (only if this attempt still holds the delivery):
    its next attempt on the schedule, or failed for good; the integration failing since
    now, disabled after a 410 or too long failing; the endpoint's other deliveries held
    back when it is down. Whether it was written."""
    now = timezone.now()
    delay = None if outcome.final else retry_delay(integration, attempt)
    if delay is not None and outcome.wait is not None:
        delay = outcome.wait
    fields: dict[str, Any] = {
        "leased_until": None,
        "response_status": outcome.status,
        "response_excerpt": outcome.excerpt,
        "error_message": outcome.error[:2000],
        "updated_at": now,
    }
    if delay is None:
        fields |= {"status": Delivery.Status.FAILED, "finished_at": now, "next_attempt_at": None}
    else:
        fields["next_attempt_at"] = now + delay
    with transaction.atomic():
        if not delivery_sql.write_held([(delivery.pk, attempt)], fields):
            return False  # a newer attempt (a lease that expired) owns the delivery now
        Integration.objects.filter(pk=integration.pk, failing_since__isnull=True).update(
            failing_since=now
        )
        if integration.failing_since is None:  # a later success of the batch clears it
            integration.failing_since = now
        if outcome.status == 410:
            _disable(integration, f"The endpoint {delivery.url[:150]} answered 410 Gone.")
        elif _failing_too_long(integration, now):
            days = settings.CHATADMIN["WEBHOOK_DISABLE_AFTER_DAYS"]
            _disable(integration, f"Deliveries failed for {days:g} days without a success.")
        if outcome.down and delay is not None:
            # the endpoint's other waiting deliveries wait with it. Rows another sender
            # holds (recording its own attempt, or moving these too) are skipped, never
            # waited for: two senders of one endpoint would otherwise each hold its own
            # row and wait for the other's (a deadlock)
            held_back = (
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(
                    integration_id=integration.pk,
                    url=delivery.url,
                    status=Delivery.Status.PENDING,
                    next_attempt_at__lt=now + delay,
                )
                .exclude(pk=delivery.pk)
                .order_by()
                .values("pk")
            )
            Delivery.objects.filter(pk__in=held_back).update(next_attempt_at=now + delay)
    return True


def _failing_too_long(integration: Integration, now: datetime) -> bool:
    since = (
        Integration.objects.filter(pk=integration.pk)
        .values_list("failing_since", flat=True)
        .first()
    )
    days = settings.CHATADMIN["WEBHOOK_DISABLE_AFTER_DAYS"]
    return since is not None and now - since >= timedelta(days=days)


def delivery_attempt(pk: int, attempt: int) -> Outcome | None:
    """Make a claimed attempt: send, record, and post the endpoint's reply (if any). None
    when the delivery is gone (its integration removed) or was cancelled."""
    try:  # (get: no ORDER BY from the model's ordering, as first() would add)
        delivery = Delivery.objects.select_related(
            "integration__organization", "integration__bot"
        ).get(pk=pk)
    except Delivery.DoesNotExist:
        return None
    return _attempt(delivery, attempt)


def _attempt(delivery: Delivery, attempt: int) -> Outcome | None:
    """Make attempt ``attempt`` of ``delivery`` (its integration attached) from start to
    end: send, record, post the endpoint's reply. None when it was cancelled."""
    sent = _send_attempt(delivery, attempt)
    if sent is None:
        return None
    if sent.outcome.ok:
        for recorded in _record_successes([sent]):
            _reply(recorded)
    return sent.outcome


def _may_reply(sent: _Sent) -> bool:
    """Whether a recorded success's answer can ask for a reply (a blank body never does:
    apps.integrations.services.replies)."""
    response = sent.outcome.response
    return response is not None and bool(response.body.strip())


def _reply(sent: _Sent) -> None:
    """Post the endpoint's reply back (apps.integrations.services.replies); a refused
    reply is noted on the delivery, which still succeeded."""
    from apps.integrations.services.replies import delivery_reply

    if not _may_reply(sent):
        return
    delivery, response = sent.delivery, sent.outcome.response
    assert response is not None  # (_may_reply)
    try:
        message_id = delivery_reply(delivery, delivery.integration, response)
    except DomainError as exc:
        Delivery.objects.filter(pk=delivery.pk).update(
            error_message=f"The reply was not posted: {exc.message}"[:2000]
        )
        return
    if message_id:
        Delivery.objects.filter(pk=delivery.pk).update(reply_message_id=message_id)


# --- the run ---------------------------------------------------------------------------


@dataclass
class RunResult:
    attempted: int = 0
    succeeded: int = 0
    failed: int = 0
    #: True when the budget ran out with deliveries still due.
    more: bool = False


Endpoint = tuple[int, str]

_executor: ThreadPoolExecutor | None = None
_executor_size = 0
_executor_lock = threading.Lock()
#: Attempts in flight in this process, per endpoint (a hint for fairness, not the truth:
#: the claims are in the database).
_in_flight: dict[Endpoint, int] = {}
_in_flight_lock = threading.Lock()


def _pool(size: int) -> ThreadPoolExecutor:
    """This process's pool, with at least ``size`` threads (a pool made for a smaller
    WEBHOOK_DELIVERY_CONCURRENCY is replaced; it finishes what it holds)."""
    global _executor, _executor_size
    with _executor_lock:
        if _executor is None or _executor_size < size:
            old = _executor
            _executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="webhook")
            _executor_size = size
            if old is not None:
                old.shutdown(wait=False)
        return _executor


class _Collector:
    """Where a run's attempts in the pool hand their results over: the run records the
    successes a batch at a time (one statement) and tallies them all. The run is woken
    when as many results as it asked for are in (not at each one: a wakeup is a thread
    switch), or when this process wrote new deliveries (:func:`_wake_runs`). Once the run
    has ended, an attempt still in flight records its own success."""

    def __init__(self) -> None:
        self._handed = threading.Condition()
        self._results: list[_Sent | None] = []
        self._open = True
        self._wanted = 1
        self._poked = False

    def hand_over(self, sent: _Sent | None) -> bool:
        """Give the run an attempt's result (None: cancelled, or it broke); False when the
        run has ended."""
        with self._handed:
            if not self._open:
                return False
            self._results.append(sent)
            if len(self._results) == self._wanted:
                self._handed.notify()
            return True

    def poke(self) -> None:
        """New deliveries are due: wake the run."""
        with self._handed:
            self._poked = True
            self._handed.notify()

    def take(self, wanted: int, timeout: float) -> tuple[list[_Sent | None], bool]:
        """The results handed over since the last take, waiting up to ``timeout`` seconds
        for ``wanted`` of them; and whether new deliveries were written meanwhile."""
        with self._handed:
            self._wanted = max(1, wanted)
            if timeout > 0:
                self._handed.wait_for(
                    lambda: self._poked or len(self._results) >= self._wanted, timeout
                )
            taken, self._results = self._results, []
            poked, self._poked = self._poked, False
            return taken, poked

    def close(self) -> list[_Sent | None]:
        """End the run's collection; the results handed over and not taken."""
        with self._handed:
            self._open = False
            taken, self._results = self._results, []
            return taken


#: The runs in this process (their collectors), woken when it writes new deliveries.
_runs: set[_Collector] = set()
_runs_lock = threading.Lock()


def _wake_runs() -> None:
    with _runs_lock:
        running = list(_runs)
    for collector in running:
        collector.poke()


def _submit(delivery: Delivery, pool_size: int, collector: _Collector) -> None:
    """Make a claimed attempt in this process's pool, counted in flight until it is sent."""
    endpoint = (delivery.integration_id, delivery.url)
    with _in_flight_lock:
        _in_flight[endpoint] = _in_flight.get(endpoint, 0) + 1
    _pool(pool_size).submit(_in_thread, delivery, endpoint, collector)


def _in_thread(delivery: Delivery, endpoint: Endpoint, collector: _Collector) -> None:
    """An attempt in the pool: sent, then handed over to its run, or, when the run has
    ended meanwhile, recorded (and replied to) here."""
    close_old_connections()
    sent = None
    try:
        sent = _send_attempt(delivery, delivery.attempts)
    except Exception:
        logger.exception(
            "delivery %s attempt %s failed unexpectedly", delivery.pk, delivery.attempts
        )
    finally:
        with _in_flight_lock:
            _in_flight[endpoint] = _in_flight.get(endpoint, 1) - 1
            if _in_flight[endpoint] <= 0:
                _in_flight.pop(endpoint, None)
    try:
        if not collector.hand_over(sent) and sent is not None and sent.outcome.ok:
            for recorded in _record_successes([sent]):
                _reply(recorded)
    except Exception:
        logger.exception("delivery %s: recording its success failed", delivery.pk)
    finally:
        close_old_connections()


def _reply_in_thread(sent: _Sent) -> None:
    close_old_connections()
    try:
        _reply(sent)
    except Exception:
        logger.exception("delivery %s: posting its reply failed", sent.delivery.pk)
    finally:
        close_old_connections()


class _DueRows:
    """The due rows a run has read ahead (one query serves several batches) and claims in
    batches, every endpoint within ``WEBHOOK_ENDPOINT_CONCURRENCY``."""

    def __init__(self, per_endpoint: int) -> None:
        self.per_endpoint = per_endpoint
        self.rows: deque[tuple[int, Endpoint]] = deque()

    def claim(self, slots: int, in_flight: Mapping[Endpoint, int]) -> list[Delivery]:
        """Claim up to ``slots`` due deliveries (``in_flight``: this process's attempts in
        flight per endpoint); [] when none is due that this process may take.

        Rows read earlier, or just now, may have been claimed by another process's run
        meanwhile (every run reads the first due rows): then the due rows are read again,
        up to :data:`CLAIM_READS` times. Giving up after one read would end this run while
        rows are still due, and leave them to one process until the next run is queued."""
        now = timezone.now()
        fresh = not self.rows
        reads = 0
        while True:
            if fresh:
                full = {e for e, n in in_flight.items() if n >= self.per_endpoint}
                due = delivery_sql.due(max(2 * slots, DUE_BATCH), now, full)
                self.rows = deque((pk, (integration, url)) for pk, integration, url in due)
                reads += 1
                if not self.rows:
                    return []
            claimed = delivery_sql.claim(self._pick(slots, in_flight), now)
            if claimed or reads >= CLAIM_READS:
                return claimed
            fresh = True  # others took the rows read: read the due rows again

    def _pick(self, slots: int, in_flight: Mapping[Endpoint, int]) -> list[int]:
        """Take up to ``slots`` rows off the front; a row whose endpoint has no room left is
        dropped (read again later)."""
        taken = Counter(in_flight)
        picked: list[int] = []
        while self.rows and len(picked) < slots:
            pk, endpoint = self.rows.popleft()
            if taken[endpoint] < self.per_endpoint:
                taken[endpoint] += 1
                picked.append(pk)
        return picked


def deliveries_run(*, budget: float = 10.0, threads: bool = True) -> RunResult:
    """Make the due attempts until none is due or ``budget`` seconds have passed.

    With ``threads`` (the worker), attempts are claimed in batches and sent from this
    process's pool; the run records their successes a batch at a time and does not wait
    for the last ones (they record themselves). Without, one by one in the caller (tests,
    the CLI)."""
    result = RunResult()
    deadline = time.monotonic() + budget
    due = _DueRows(per_endpoint=max(1, settings.CHATADMIN["WEBHOOK_ENDPOINT_CONCURRENCY"]))
    integrations = _Integrations()
    if threads:
        _run_in_pool(result, deadline, due, integrations)
    else:
        while time.monotonic() < deadline:
            claimed = integrations.attach(due.claim(1, {}))
            if not claimed:
                return result  # nothing due
            result.attempted += 1
            _tally(result, _attempt(claimed[0], claimed[0].attempts))
    if time.monotonic() >= deadline:
        result.more = Delivery.objects.filter(_due_q(timezone.now())).exists()
    return result


def _run_in_pool(
    result: RunResult, deadline: float, due: _DueRows, integrations: _Integrations
) -> None:
    concurrency = max(1, settings.CHATADMIN["WEBHOOK_DELIVERY_CONCURRENCY"])
    # A batch costs the same statements (claim, integrations; the record of its
    # successes) however many rows it takes: with sends in flight, the run sleeps until
    # half of the pool is free (one wakeup, one claim, one record for the lot), until
    # this process wrote new deliveries, or for IDLE_POLL_SECONDS (the deliveries other
    # processes write while slow endpoints hold the pool must not wait for them).
    batch = max(1, concurrency // 2)
    collector = _Collector()
    with _runs_lock:
        _runs.add(collector)
    waiting = 0  # attempts submitted, not handed over yet
    look = True
    drained = False  # the last claim found fewer due rows than it had room for
    try:
        while time.monotonic() < deadline:
            in_flight = _in_flight_now()
            free = concurrency - sum(in_flight.values())
            if free > 0 and (free >= batch or look or not waiting):
                claimed = integrations.attach(due.claim(free, in_flight))
                for delivery in claimed:
                    _submit(delivery, concurrency, collector)
                result.attempted += len(claimed)
                waiting += len(claimed)
                drained = len(claimed) < free
                free -= len(claimed)
            if not waiting:
                break  # nothing due that this process may take now
            # woken when a batch's worth of the pool is free (or, with nothing more due,
            # when a batch of results is in to record)
            wanted = min(waiting, batch if drained else max(1, batch - free))
            handed, look = collector.take(wanted, IDLE_POLL_SECONDS)
            look = look or len(handed) < wanted  # (the poll)
            waiting -= len(handed)
            _settle(result, handed, concurrency)
    finally:
        with _runs_lock:
            _runs.discard(collector)
        handed = collector.close()  # the attempts still in flight record themselves
    _settle(result, handed, concurrency)


def _settle(result: RunResult, handed: list[_Sent | None], pool_size: int) -> None:
    """Record the successes handed over (one statement for the lot), post their replies
    from the pool, tally."""
    made = [sent for sent in handed if sent is not None]
    for recorded in _record_successes([sent for sent in made if sent.outcome.ok]):
        if _may_reply(recorded):
            _pool(pool_size).submit(_reply_in_thread, recorded)
    for sent in made:
        _tally(result, sent.outcome)


def _in_flight_now() -> dict[Endpoint, int]:
    with _in_flight_lock:
        return dict(_in_flight)


def _tally(result: RunResult, outcome: Outcome | None) -> None:
    if outcome is None:
        return
    if outcome.ok:
        result.succeeded += 1
    else:
        result.failed += 1


# --- what admins do ----------------------------------------------------------------------


def delivery_replay(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Send a finished delivery again (Rocket.Chat's ``integrations.replayOutgoing``, the
    console's redeliver): pending now, with the same ``webhook-id`` (a receiver that
    processed it de-duplicates). Audited ``integration.delivery.replay``."""
    from apps.integrations.services.integrations import check_manage

    integration = delivery.integration
    # a member, an organization's token: only their own organization's (a personal token
    # has none: it acts through its member)
    acting_for = {x.organization_id for x in (actor.member, actor.token) if x is not None}
    if acting_for - {None, integration.organization_id}:
        raise DomainError("forbidden", "This delivery belongs to another organization.")
    check_manage(actor, direction=integration.direction, integration=integration)
    if not integration.enabled:
        raise DomainError("integration_disabled", f"Integration {integration.pk} is disabled.")
    with transaction.atomic():
        changed = (
            Delivery.objects.filter(pk=delivery.pk)
            .exclude(status=Delivery.Status.PENDING)
            .update(
                status=Delivery.Status.PENDING,
                next_attempt_at=timezone.now(),
                finished_at=None,
                leased_until=None,
            )
        )
        if not changed:
            raise DomainError(
                "invalid_parameter", "This delivery is still being sent.", field="historyId"
            )
        audit_record(
            organization=integration.organization,
            actor=actor,
            action="integration.delivery.replay",
            target_type="integration",
            target_id=str(integration.pk),
            after={"delivery": delivery.webhook_id},
        )
        request_run()
    delivery.refresh_from_db()
    return delivery


def deliveries_clear(*, integration: Integration) -> int:
    """Forget the finished deliveries of an integration (its history); the pending ones
    are kept (they are work, not history). The caller audits (integration_history_clear)."""
    deleted, _ = integration.deliveries.exclude(status=Delivery.Status.PENDING).delete()
    return deleted
