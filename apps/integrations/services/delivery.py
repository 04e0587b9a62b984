"""Outgoing webhook deliveries: written once by the fan-out, each with its own attempt
schedule, claimed one attempt at a time, sent through the SSRF-safe client
(apps.core.egress), signed (Standard Webhooks), recorded.

- **Durable.** A delivery is a row (``Delivery``); its next attempt is a timestamp. Beat
  runs ``integrations.deliveries_run`` every few seconds and every fan-out asks for a run
  on commit, so a restart loses nothing.
- **One attempt, one sender.** An attempt is claimed with a guarded UPDATE (still
  pending, due, not leased) that bumps ``attempts`` and sets ``leased_until``; the result
  is written only if ``attempts`` is still the claimed one. A sender killed mid-send
  leaves the lease to expire: the attempt is made again, with the same ``webhook-id``.
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

import email.utils
import hashlib
import json
import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core import egress
from apps.core.errors import DomainError
from apps.core.publishing import publish
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import signing

logger = logging.getLogger("chatadmin.webhooks")

#: The task a fan-out queues on commit; beat queues it too.
RUN_TASK = "integrations.deliveries_run"
#: How much of a response body the history keeps.
MAX_EXCERPT = 2000
#: Retry-After is honoured up to this long.
MAX_RETRY_AFTER = timedelta(days=1)
#: Up to this share of a retry's delay is added at random (no thundering herd).
JITTER = 0.2
#: Statuses after which an endpoint counts as down (its other deliveries wait with it).
DOWN_STATUSES = frozenset({429, 500, 502, 503, 504})
#: While a run has sends in flight and nothing it may claim, it looks for new due rows
#: this often (one indexed query each time): a send to a slow or dead endpoint (up to
#: WEBHOOK_TIMEOUT_SECONDS) must not delay the deliveries written meanwhile
#: (benchmarks/webhooks.py, outgoing 2: 0.5 s made them 4.6x slower, 0.05 s 1.5x).
IDLE_POLL_SECONDS = 0.02
#: Due rows a run reads at once (its claims take them one by one as threads free up).
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
    now = timezone.now()
    objs = [
        Delivery(
            organization_id=row.integration.organization_id,
            integration=row.integration,
            event_id=row.event_id,
            event=row.event,
            url=url,
            webhook_id=webhook_id(row.integration.pk, row.event_id, url),
            payload=dict(row.payload),
            context=dict(row.context),
            next_attempt_at=now,
        )
        for row in rows
        for url in row.integration.urls
    ]
    if objs:
        Delivery.objects.bulk_create(objs, ignore_conflicts=True, batch_size=500)
        request_run()
    return len(objs)


def request_run() -> None:
    """Ask a worker for a run once the transaction commits (once per transaction)."""
    pending = transaction.get_connection().run_on_commit
    if not any(func is _publish_run for _, func, _ in pending):
        transaction.on_commit(_publish_run)


def _publish_run() -> None:
    publish(RUN_TASK, recovered_by=RUN_TASK)


# --- what is sent ----------------------------------------------------------------------


def request_body(delivery: Delivery, integration: Integration) -> bytes:
    """The JSON body of an attempt: the payload, with Rocket.Chat's ``token`` (the
    integration's outgoing token, the dialect's own check) put in at send time."""
    payload = dict(delivery.payload)
    if integration.flavor == Integration.Flavor.ROCKETCHAT:
        payload = {"token": integration.outgoing_token, **payload}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def request_headers(
    delivery: Delivery, integration: Integration, body: bytes, now: datetime
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        **signing.sign_headers(integration, webhook_id=delivery.webhook_id, body=body, now=now),
    }


def redact(text: str, integration: Integration) -> str:
    """A response excerpt without the integration's secrets (an endpoint that echoes the
    request must not put the token into the history)."""
    for secret in (integration.outgoing_token, *signing.signing_secrets(integration)):
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


# --- the schedule ----------------------------------------------------------------------


def retry_delay(integration: Integration, attempts: int) -> timedelta | None:
    """The wait after ``attempts`` failed attempts before the next one; None: no more.

    Rocket.Chat integrations follow their own settings (``retryFailedCalls``,
    ``retryCount`` retries, ``retryDelay``), the others ``WEBHOOK_RETRY_SCHEDULE``."""
    if integration.flavor == Integration.Flavor.ROCKETCHAT:
        if not integration.retry_failed_calls or attempts > integration.retry_count:
            return None
        tries = attempts - 1
        if integration.retry_delay == "powers-of-two":
            seconds = 2.0 ** (tries + 1)
        elif integration.retry_delay == "increments-of-two":
            seconds = (tries + 1) * 2.0
        else:  # powers-of-ten: 0.1 s, 1 s, 10 s, 100 s ...
            seconds = 10.0 ** (tries + 2) / 1000
        return timedelta(seconds=seconds)
    schedule = settings.CHATADMIN["WEBHOOK_RETRY_SCHEDULE"]
    if attempts >= len(schedule):
        return None
    seconds = float(schedule[attempts])
    return timedelta(seconds=seconds * (1 + random.uniform(0, JITTER)))


def retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """A ``Retry-After`` header's wait (seconds or an HTTP date), capped; None if absent
    or unreadable."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        wait_for = timedelta(seconds=int(value[:9]))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        wait_for = when - now
    return max(timedelta(0), min(wait_for, MAX_RETRY_AFTER))


# --- claiming and recording ------------------------------------------------------------


def _due_q(now: datetime) -> Q:
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) & (
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )


def delivery_claim(
    pk: int, now: datetime | None = None, *, attempts: int | None = None
) -> int | None:
    """Claim the next attempt of a due delivery; its attempt number, or None when another
    sender has it (or it is not due). ``attempts``: the count the caller read with the
    row (the run's due query); the claim then also requires it unchanged and needs no
    second statement to learn the attempt number."""
    now = now or timezone.now()
    lease = timedelta(seconds=settings.CHATADMIN["WEBHOOK_DELIVERY_LEASE_SECONDS"])
    claim = {"leased_until": now + lease, "last_attempt_at": now}
    if attempts is not None:
        claimed = Delivery.objects.filter(_due_q(now), pk=pk, attempts=attempts).update(
            attempts=attempts + 1, **claim
        )
        return attempts + 1 if claimed else None
    claimed = Delivery.objects.filter(_due_q(now), pk=pk).update(
        attempts=F("attempts") + 1, **claim
    )
    if not claimed:
        return None
    return Delivery.objects.filter(pk=pk).values_list("attempts", flat=True).first()


@dataclass
class Outcome:
    """What one attempt came to."""

    status: int | None = None
    excerpt: str = ""
    error: str = ""
    #: the endpoint is down (timeout, connection refused, 5xx, 429): its others wait
    down: bool = False
    #: a wait the endpoint asked for (Retry-After)
    wait: timedelta | None = None
    #: no retry (a refused URL, a 410)
    final: bool = False
    response: egress.EgressResponse | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _send(delivery: Delivery, integration: Integration) -> Outcome:
    if integration.signing_secret and not signing.secret_decrypt(integration.signing_secret):
        # never unsigned: the receiver could not tell it from a forgery (retried: the key
        # may be put back; a rotation gives a secret that decrypts)
        return Outcome(
            error="signing_failed: the signing secret cannot be decrypted (its key is "
            "missing from CHATADMIN_WEBHOOK_SECRET_KEYS); nothing was sent. Restore the "
            "key or rotate the signing secret."
        )
    now = timezone.now()
    body = request_body(delivery, integration)
    headers = request_headers(delivery, integration, body, now)
    try:
        response = egress.post(delivery.url, body, headers)
    except egress.EgressRefused as exc:
        return Outcome(error=f"url_not_allowed: {exc}", final=True)
    except egress.EgressFailed as exc:
        down = exc.kind in ("timeout", "connect")
        return Outcome(error=f"{exc.kind}: {exc}", down=down)
    # redacted before it is cut: a secret across the cut must not leave its first half
    excerpt = redact(response.body.decode("utf-8", "replace"), integration)[:MAX_EXCERPT]
    outcome = Outcome(status=response.status, excerpt=excerpt, response=response)
    if outcome.ok:
        return outcome
    if 300 <= response.status < 400:
        outcome.error = f"HTTP {response.status}: redirects are not followed"
    else:
        outcome.error = f"HTTP {response.status}"
    if response.status == 410:
        outcome.final = True
    if response.status in DOWN_STATUSES:
        outcome.down = True
    if response.status in (429, 503):
        outcome.wait = retry_after(response.headers, timezone.now())
    return outcome


def _disable(integration: Integration, reason: str) -> None:
    """Disable an outgoing integration on the machinery's behalf, audited (system)."""
    changed = Integration.objects.filter(pk=integration.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:255], updated_at=timezone.now()
    )
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


def _record(delivery: Delivery, integration: Integration, attempt: int, outcome: Outcome) -> bool:
    """Write an attempt's result (only if this attempt still holds the delivery); whether
    it was written."""
    now = timezone.now()
    fields: dict[str, Any] = {
        "leased_until": None,
        "response_status": outcome.status,
        "response_excerpt": outcome.excerpt,
        "error_message": outcome.error[:2000],
        "updated_at": now,
    }
    delay = None if outcome.ok or outcome.final else retry_delay(integration, attempt)
    if delay is not None and outcome.wait is not None:
        delay = outcome.wait
    if outcome.ok:
        fields |= {"status": Delivery.Status.SUCCEEDED, "finished_at": now, "next_attempt_at": None}
    elif delay is None:
        fields |= {"status": Delivery.Status.FAILED, "finished_at": now, "next_attempt_at": None}
    else:
        fields["next_attempt_at"] = now + delay
    mine = Delivery.objects.filter(pk=delivery.pk, attempts=attempt, status=Delivery.Status.PENDING)
    if outcome.ok:  # one statement (no transaction) unless the integration was failing
        if not mine.update(**fields):
            return False  # a newer attempt (a lease that expired) owns the delivery now
        if integration.failing_since is not None:  # as read with the delivery
            Integration.objects.filter(pk=integration.pk, failing_since__isnull=False).update(
                failing_since=None
            )
        return True
    with transaction.atomic():
        if not mine.update(**fields):
            return False  # a newer attempt (a lease that expired) owns the delivery now
        Integration.objects.filter(pk=integration.pk, failing_since__isnull=True).update(
            failing_since=now
        )
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
    integration = delivery.integration
    cancelled = (
        "The integration is disabled."
        if not integration.enabled
        else "The URL is no longer one of the integration's."
        if delivery.url not in integration.urls
        else ""
    )
    if cancelled:
        Delivery.objects.filter(pk=pk, attempts=attempt, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.CANCELLED,
            finished_at=timezone.now(),
            next_attempt_at=None,
            leased_until=None,
            error_message=cancelled,
        )
        return None
    outcome = _send(delivery, integration)
    recorded = _record(delivery, integration, attempt, outcome)
    if recorded and outcome.ok and outcome.response is not None:  # a stale attempt: no reply
        _reply(delivery, integration, outcome.response)
    return outcome


def _reply(delivery: Delivery, integration: Integration, response: egress.EgressResponse) -> None:
    """Post the endpoint's reply back (apps.integrations.services.replies); a refused
    reply is noted on the delivery, which still succeeded."""
    from apps.integrations.services.replies import delivery_reply

    try:
        message_id = delivery_reply(delivery, integration, response)
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


def _in_thread(pk: int, attempt: int, endpoint: Endpoint) -> Outcome | None:
    close_old_connections()
    try:
        return delivery_attempt(pk, attempt)
    except Exception:
        logger.exception("delivery %s attempt %s failed unexpectedly", pk, attempt)
        return None
    finally:
        with _in_flight_lock:
            _in_flight[endpoint] = _in_flight.get(endpoint, 1) - 1
            if _in_flight[endpoint] <= 0:
                _in_flight.pop(endpoint, None)
        close_old_connections()


def _due(limit: int, now: datetime, full: set[Endpoint]) -> list[tuple[int, int, str, int]]:
    query = Delivery.objects.filter(_due_q(now))
    if full:
        query = query.exclude(reduce(or_, (Q(integration_id=i, url=u) for i, u in full)))
    return list(
        query.order_by("next_attempt_at", "pk").values_list(
            "pk", "integration_id", "url", "attempts"
        )[:limit]
    )


def deliveries_run(*, budget: float = 10.0, threads: bool = True) -> RunResult:
    """Make the due attempts until none is due or ``budget`` seconds have passed.

    With ``threads`` (the worker), attempts run in this process's pool and the run does not
    wait for the last ones (they record themselves); without, one by one in the caller
    (tests, the CLI)."""
    result = RunResult()
    deadline = time.monotonic() + budget
    concurrency = max(1, settings.CHATADMIN["WEBHOOK_DELIVERY_CONCURRENCY"])
    per_endpoint = max(1, settings.CHATADMIN["WEBHOOK_ENDPOINT_CONCURRENCY"])
    mine: set[Future[Outcome | None]] = set()
    # due rows read by one query, claimed as slots free up (each claim checks its row again)
    candidates: deque[tuple[int, int, str, int]] = deque()
    while True:
        if time.monotonic() >= deadline:
            result.more = Delivery.objects.filter(_due_q(timezone.now())).exists()
            break
        with _in_flight_lock:
            busy = sum(_in_flight.values())
            full = {e for e, n in _in_flight.items() if n >= per_endpoint}
        free = concurrency - busy if threads else 1
        claimed_any = False
        if free > 0:
            now = timezone.now()
            cached = bool(candidates)
            if not cached:
                candidates.extend(_due(max(free * 2, DUE_BATCH), now, full))
            while candidates and free > 0:
                pk, integration_id, url, attempts = candidates.popleft()
                endpoint = (integration_id, url)
                with _in_flight_lock:
                    if _in_flight.get(endpoint, 0) >= per_endpoint:
                        continue
                attempt = delivery_claim(pk, now, attempts=attempts)
                if attempt is None:
                    continue
                claimed_any = True
                free -= 1
                result.attempted += 1
                if not threads:
                    _tally(result, delivery_attempt(pk, attempt))
                    continue
                with _in_flight_lock:
                    _in_flight[endpoint] = _in_flight.get(endpoint, 0) + 1
                future = _pool(concurrency).submit(_in_thread, pk, attempt, endpoint)
                mine.add(future)
            if cached and not claimed_any:
                candidates.clear()
                continue  # others took the rows read earlier: read the due rows again
        if not claimed_any:
            if not mine:
                break  # nothing due that this process may take
            done, mine = wait(mine, timeout=IDLE_POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in done:
                _tally(result, future.result())
        else:
            done = {f for f in mine if f.done()}
            mine -= done
            for future in done:
                _tally(result, future.result())
    return result


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
