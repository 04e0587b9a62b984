"""Outgoing webhook deliveries: written once by the fan-out, each with its own attempt
schedule, claimed in batches, sent through the SSRF-safe client (apps.core.egress),
signed (Standard Webhooks), recorded.

- **Durable.** A delivery is a row (``Delivery``); its next attempt is a timestamp. Beat
  runs ``integrations.deliveries_run`` every few seconds and every fan-out asks for a run
  on commit, so a restart loses nothing.
- **One attempt, one sender.** An attempt is claimed with a guarded UPDATE (still
  pending, due, not leased) that bumps ``attempts`` and sets ``leased_until``; the result
  is written only if ``attempts`` is still the claimed one. A sender killed mid-send
  leaves the lease to expire: the attempt is made again, with the same ``webhook-id``.
- **Batches.** A run claims the due deliveries several at a time (one statement), reads
  their integrations once per batch (kept for the run, read again when changed), and
  records the successes of the sends that ended together (one statement); a failure is
  recorded by its sender at once (it may hold its endpoint's other deliveries back).
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
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections, transaction
from django.db.models import Model, Q
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core import egress
from apps.core.errors import DomainError
from apps.core.publishing import publish
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import signing

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

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
#: Due rows a run reads at least at once (its claims take them in batches as threads
#: free up).
DUE_BATCH = 32


# --- SQL ---------------------------------------------------------------------------------
#
# The statements of every delivery (its INSERT, claim, record of a success) are SQL
# written here, through ``connection.cursor()`` with names from the model's ``_meta``:
# building an ORM ``update()``, ``bulk_create`` or ``select_related`` load costs about a
# millisecond of CPU, several times the statement itself, and a worker process sending
# webhooks is CPU-bound (docs/performance.md, "Outgoing webhooks"). The rarer paths
# (failures, replies, replays) stay ORM.

_NAMES: dict[tuple[str, str], dict[str, str]] = {}


def _names(db: BaseDatabaseWrapper, model: type[Model]) -> dict[str, str]:
    """The quoted table (``"table"``) and columns (by field name) of ``model`` in ``db``'s
    SQL (built once per process)."""
    key = (db.vendor, model._meta.label)
    if key not in _NAMES:
        quote = db.ops.quote_name
        _NAMES[key] = {"table": quote(model._meta.db_table)} | {
            field.name: quote(field.column) for field in model._meta.concrete_fields
        }
    return _NAMES[key]


def _param(db: BaseDatabaseWrapper, name: str, value: Any) -> Any:
    """``value`` as ``db`` stores the Delivery field ``name`` (a datetime on SQLite is text:
    compared as text, it must be written as the ORM writes it)."""
    return Delivery._meta.get_field(name).get_db_prep_save(value, db)


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
    new = [
        {
            "organization": row.integration.organization_id,
            "integration": row.integration.pk,
            "event_id": row.event_id,
            "event": row.event,
            "url": url,
            "webhook_id": webhook_id(row.integration.pk, row.event_id, url),
            "payload": dict(row.payload),
            "context": dict(row.context),
        }
        for row in rows
        for url in row.integration.urls
    ]
    if new:
        _insert_pending(new, timezone.now())
        request_run()
    return len(new)


def _insert_pending(rows: list[dict[str, Any]], now: datetime) -> None:
    """INSERT deliveries (field name -> value, the same fields in every row), pending and
    due ``now``, every other field at its default; a row that exists (the same
    integration, event and URL) is left alone. One statement for every row
    (``executemany``: parsed once); ``bulk_create`` costs twice the CPU."""
    db = connections[DEFAULT_DB_ALIAS]
    d = _names(db, Delivery)
    given = [Delivery._meta.get_field(name) for name in rows[0]]
    others = [f for f in Delivery._meta.concrete_fields if not f.primary_key and f not in given]

    def initial(f: Any) -> Any:  # due now, stamped now, else the field's default
        stamp = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        return now if stamp or f.name == "next_attempt_at" else f.get_default()

    same = [f.get_db_prep_save(initial(f), db) for f in others]
    sql = (
        f"INSERT INTO {d['table']} ({', '.join(d[f.name] for f in [*given, *others])})"
        f" VALUES ({', '.join(['%s'] * (len(given) + len(others)))}) ON CONFLICT DO NOTHING"
    )
    params = [
        [*(f.get_db_prep_save(v, db) for f, v in zip(given, row.values(), strict=True)), *same]
        for row in rows
    ]
    # (in the caller's transaction, or one of its own: one commit, not one a row)
    with transaction.atomic(savepoint=False), db.cursor() as cursor:
        cursor.executemany(sql, params)


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
    if not text:
        return text
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


# --- claiming ----------------------------------------------------------------------------

#: What an attempt needs of its delivery, read with its claim (the other fields stay
#: deferred: read if something asks for them).
ATTEMPT_FIELDS = (
    "id",
    "organization",
    "integration",
    "event",
    "url",
    "webhook_id",
    "payload",
    "context",
    "attempts",
)


def _due_q(now: datetime) -> Q:
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) & (
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )


def _claim(pks: Sequence[int], now: datetime) -> list[Delivery]:
    """Claim the next attempt of each delivery in ``pks`` that is still due (pending,
    ``next_attempt_at`` passed, not leased) in one guarded UPDATE that bumps ``attempts``
    and sets the lease. Returns the claimed deliveries, in the order of ``pks``, with the
    fields an attempt needs; ``attempts`` is the claimed attempt's number.

    On PostgreSQL a row another sender is claiming or recording (locked) is skipped, never
    waited for; SQLite has no row locks (the statement takes the database's write lock)."""
    if not pks:
        return []
    db = connections[DEFAULT_DB_ALIAS]  # (this thread's; the proxy costs a lookup a use)
    d = _names(db, Delivery)
    # the chosen rows, still due (as _due_q)
    chosen = (
        f"{d['id']} IN ({', '.join(['%s'] * len(pks))}) AND {d['status']} = %s"
        f" AND {d['next_attempt_at']} <= %s"
        f" AND ({d['leased_until']} IS NULL OR {d['leased_until']} < %s)"
    )
    if db.features.has_select_for_update_skip_locked:
        chosen = (
            f"{d['id']} IN (SELECT {d['id']} FROM {d['table']} WHERE {chosen}"
            " FOR UPDATE SKIP LOCKED)"
        )
    fields = [f for f in Delivery._meta.concrete_fields if f.name in ATTEMPT_FIELDS]
    sql = (
        f"UPDATE {d['table']} SET {d['attempts']} = {d['attempts']} + 1,"
        f" {d['leased_until']} = %s, {d['last_attempt_at']} = %s WHERE {chosen}"
        f" RETURNING {', '.join(d[f.name] for f in fields)}"
    )
    lease = timedelta(seconds=settings.CHATADMIN["WEBHOOK_DELIVERY_LEASE_SECONDS"])
    at = _param(db, "next_attempt_at", now)
    params = [_param(db, "leased_until", now + lease), at]  # SET
    params += [*pks, Delivery.Status.PENDING.value, at, at]  # WHERE
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    attnames = [f.attname for f in fields]
    claimed = [
        # (from_db takes the values as the database gives them: JSON is still text)
        Delivery.from_db(
            db.alias,
            attnames,
            [
                f.from_db_value(v, None, db) if hasattr(f, "from_db_value") else v
                for f, v in zip(fields, row, strict=True)
            ],
        )
        for row in rows
    ]
    order = {pk: n for n, pk in enumerate(pks)}  # (SQLite returns them in any order)
    return sorted(claimed, key=lambda delivery: order[delivery.pk])


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
        stamps = self._stamps({d.integration_id for d in deliveries})
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

    def _stamps(self, pks: set[int]) -> dict[int, tuple[Any, ...]]:
        """pk -> the columns of STAMP, as the database gives them (compared, not used)."""
        db = connections[DEFAULT_DB_ALIAS]
        i = _names(db, Integration)
        sql = (
            f"SELECT {i['id']}, {', '.join(i[name] for name in self.STAMP)} FROM {i['table']}"
            f" WHERE {i['id']} IN ({', '.join(['%s'] * len(pks))})"
        )
        with db.cursor() as cursor:
            cursor.execute(sql, list(pks))
            return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def delivery_claim(pk: int, now: datetime | None = None) -> int | None:
    """Claim the next attempt of a due delivery; its attempt number, or None when another
    sender has it (or it is not due). One statement."""
    claimed = _claim([pk], now or timezone.now())
    return claimed[0].attempts if claimed else None


# --- sending and recording ---------------------------------------------------------------


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


def _write_attempt(pk: int, attempt: int, values: Mapping[str, Any]) -> bool:
    """Write ``values`` (Delivery field name -> value) if ``attempt`` still holds the
    delivery (pending, ``attempts`` unchanged: the fence); whether it did. One statement."""
    db = connections[DEFAULT_DB_ALIAS]  # (this thread's; the proxy costs a lookup a use)
    d = _names(db, Delivery)
    sql = (
        f"UPDATE {d['table']} SET {', '.join(f'{d[name]} = %s' for name in values)}"
        f" WHERE {d['id']} = %s AND {d['attempts']} = %s AND {d['status']} = %s"
    )
    params = [_param(db, name, value) for name, value in values.items()]
    with db.cursor() as cursor:
        cursor.execute(sql, [*params, pk, attempt, Delivery.Status.PENDING.value])
        return cursor.rowcount > 0


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
        _write_attempt(
            delivery.pk,
            attempt,
            {
                "status": Delivery.Status.CANCELLED,
                "finished_at": timezone.now(),
                "next_attempt_at": None,
                "leased_until": None,
                "error_message": cancelled,
            },
        )
        return None
    outcome = _send(delivery, integration)
    if not outcome.ok:
        _record_failure(delivery, integration, attempt, outcome)
    return _Sent(delivery, attempt, outcome)


def _record_successes(successes: Sequence[_Sent]) -> list[_Sent]:
    """Record successful attempts, each only if its attempt still holds its delivery;
    the ones written (an attempt whose lease expired and was claimed again is not: it
    posts no reply). One UPDATE for all those that got the same answer (status and
    excerpt: usually all of them), plus one to clear ``failing_since`` of the
    integrations that were failing."""
    if not successes:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    d = _names(db, Delivery)
    now = timezone.now()
    same_answer: dict[tuple[int | None, str], list[_Sent]] = defaultdict(list)
    for sent in successes:
        same_answer[(sent.outcome.status, sent.outcome.excerpt)].append(sent)
    recorded: list[_Sent] = []
    for (status, excerpt), group in same_answer.items():
        values = {
            "status": Delivery.Status.SUCCEEDED,
            "response_status": status,
            "response_excerpt": excerpt,
            "error_message": "",
            "leased_until": None,
            "next_attempt_at": None,
            "finished_at": now,
            "updated_at": now,
        }
        sql = (
            f"UPDATE {d['table']} SET {', '.join(f'{d[name]} = %s' for name in values)}"
            f" WHERE {d['status']} = %s"
            f" AND ({d['id']}, {d['attempts']}) IN ({', '.join(['(%s, %s)'] * len(group))})"
            f" RETURNING {d['id']}"
        )
        params = [_param(db, name, value) for name, value in values.items()]
        params.append(Delivery.Status.PENDING.value)
        for sent in group:
            params += [sent.delivery.pk, sent.attempt]
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            written = {pk for (pk,) in cursor.fetchall()}
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
        if not _write_attempt(delivery.pk, attempt, fields):
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
    successes a batch at a time (one statement) and tallies them all. Once the run has
    ended, an attempt still in flight records its own success."""

    def __init__(self) -> None:
        self._handed = threading.Condition()
        self._results: list[_Sent | None] = []
        self._open = True

    def hand_over(self, sent: _Sent | None) -> bool:
        """Give the run an attempt's result (None: cancelled, or it broke); False when the
        run has ended."""
        with self._handed:
            if not self._open:
                return False
            self._results.append(sent)
            self._handed.notify()
            return True

    def take(self, timeout: float) -> list[_Sent | None]:
        """The results handed over since the last take, waiting up to ``timeout`` seconds
        for one if there is none."""
        with self._handed:
            if not self._results and timeout > 0:
                self._handed.wait(timeout)
            taken, self._results = self._results, []
            return taken

    def close(self) -> list[_Sent | None]:
        """End the run's collection; the results handed over and not taken."""
        with self._handed:
            self._open = False
            taken, self._results = self._results, []
            return taken


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


def _due(limit: int, now: datetime, full: set[Endpoint]) -> list[tuple[int, Endpoint]]:
    """Up to ``limit`` due deliveries, oldest due first, none to an endpoint in ``full``:
    (pk, endpoint)."""
    query = Delivery.objects.filter(_due_q(now))
    if full:
        query = query.exclude(reduce(or_, (Q(integration_id=i, url=u) for i, u in full)))
    rows = query.order_by("next_attempt_at", "pk").values_list("pk", "integration_id", "url")
    return [(pk, (integration_id, url)) for pk, integration_id, url in rows[:limit]]


class _DueRows:
    """The due rows a run has read ahead (one query serves several batches) and claims in
    batches, every endpoint within ``WEBHOOK_ENDPOINT_CONCURRENCY``."""

    def __init__(self, per_endpoint: int) -> None:
        self.per_endpoint = per_endpoint
        self.rows: deque[tuple[int, Endpoint]] = deque()

    def claim(self, slots: int, in_flight: Mapping[Endpoint, int]) -> list[Delivery]:
        """Claim up to ``slots`` due deliveries (``in_flight``: this process's attempts in
        flight per endpoint); [] when none is due that this process may take."""
        now = timezone.now()
        fresh = not self.rows
        while True:
            if fresh:
                full = {e for e, n in in_flight.items() if n >= self.per_endpoint}
                self.rows = deque(_due(max(2 * slots, DUE_BATCH), now, full))
            claimed = _claim(self._pick(slots, in_flight), now)
            if claimed or fresh:
                return claimed
            fresh = True  # others took the rows read earlier: read the due rows again

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
    # A batch costs the same statements (claim, integrations) however many rows it takes:
    # with sends in flight, the run claims once half of the pool is free, or when no send
    # ended for IDLE_POLL_SECONDS (slow endpoints hold the pool: the deliveries written
    # meanwhile must not wait for them). The successes of the sends that ended are
    # recorded together (one statement) as the run takes them.
    batch = max(1, concurrency // 4)
    collector = _Collector()
    waiting = 0  # attempts submitted, not handed over yet
    stalled = False
    try:
        while time.monotonic() < deadline:
            in_flight = _in_flight_now()
            free = concurrency - sum(in_flight.values())
            claimed: list[Delivery] = []
            if free > 0 and (free >= batch or stalled or not waiting):
                claimed = integrations.attach(due.claim(free, in_flight))
                for delivery in claimed:
                    _submit(delivery, concurrency, collector)
                result.attempted += len(claimed)
                waiting += len(claimed)
            if not waiting:
                break  # nothing due that this process may take now
            handed = collector.take(timeout=0 if claimed else IDLE_POLL_SECONDS)
            stalled = not handed and not claimed
            waiting -= len(handed)
            _settle(result, handed, concurrency)
    finally:
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
