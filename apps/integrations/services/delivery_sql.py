"""The statements the delivery engine (apps.integrations.services.delivery) runs for
every delivery: the fan-out's insert, the read of the due ones, the claim of an attempt,
the record of its result, the narrow read of its integration's state. SQL written here, through
``connection.cursor()`` with the names from the models' ``_meta``: building an ORM
``update()`` or a ``select_related`` load costs about a millisecond of CPU, several times
the statement itself, and a worker process sending webhooks is CPU-bound
(docs/performance.md, "Outgoing webhooks"). The same SQL runs on PostgreSQL and SQLite
(``UPDATE ... RETURNING``, row values).

On PostgreSQL a claim and a record outside a transaction commit without waiting for the
write-ahead log's flush (:func:`_fetch`): a database crash may lose the last fraction of
a second of them, which costs a second send with the same ``webhook-id`` (a lost claim
or success) or an earlier retry (a lost failure), never a delivery: the fan-out's insert
commits with the transaction that wrote the event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model

from apps.integrations.models import Delivery, Integration

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

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

_NAMES: dict[tuple[str, str], dict[str, str]] = {}


def _db() -> BaseDatabaseWrapper:
    """This thread's connection (the ``connection`` proxy costs a lookup a use)."""
    return connections[DEFAULT_DB_ALIAS]


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


#: Put before a statement sent alone: PostgreSQL runs the two as one implicit transaction,
#: which commits without waiting for its WAL record to reach the disk (the wait is 0.3 ms
#: on a quiet disk, several ms on a busy one; the session's setting is left alone).
RELAXED_COMMIT = "SET LOCAL synchronous_commit TO off; "


#: Put before the read of the due rows sent alone: without bitmap scans, PostgreSQL's
#: planner reads ``delivery_due_order`` in order and stops at the LIMIT. Its statistics,
#: read when few rows are pending, make it expect a dozen due rows: it would fetch every
#: due row (and every dead entry of the index since the last VACUUM) with a bitmap scan
#: and sort them, 5-10 ms at 10,000 due rows against 0.1-0.3 ms.
ORDERED_READ = "SET LOCAL enable_bitmapscan TO off; "


def _fetch(
    db: BaseDatabaseWrapper,
    cursor: Any,
    sql: str,
    params: Sequence[Any],
    local: str = RELAXED_COMMIT,
) -> list[Any]:
    """Run ``sql`` and fetch its rows. On PostgreSQL outside a transaction, ``local``
    (:data:`RELAXED_COMMIT`, :data:`ORDERED_READ`) goes first, in the same string: the two
    run as one implicit transaction, so the setting ends with the statement. Inside a
    transaction (whose other statements the setting would reach) the statement runs
    alone and commits with the caller's work."""
    if db.vendor == "postgresql" and not db.in_atomic_block:
        cursor.execute(local + sql, params)
        cursor.nextset()  # (the SET's result, then the statement's)
    else:
        cursor.execute(sql, params)
    return cursor.fetchall()


def _param(db: BaseDatabaseWrapper, name: str, value: Any) -> Any:
    """``value`` as ``db`` stores the Delivery field ``name`` (a datetime on SQLite is text:
    compared as text, it must be written as the ORM writes it)."""
    return Delivery._meta.get_field(name).get_db_prep_save(value, db)


def _pending(d: dict[str, str], *, by_pk: bool) -> str:
    """The condition of a pending delivery. In a statement that picks its rows by primary
    key (a claim, a record: ``by_pk``) it is written ``status || '' = %s``: the same test,
    in a form PostgreSQL's planner cannot match to the predicate of the partial index
    ``delivery_due_order``. Otherwise the planner, whose statistics were read when few
    rows were pending (a burst of thousands comes between two ANALYZEs), ANDs that index
    with the primary key's and reads every entry of it, dead ones included, for a dozen
    rows: 2-3 ms a statement at 10,000 pending rows instead of 0.1-0.4 ms
    (docs/performance.md, "Outgoing webhooks")."""
    return f"{d['status']} || '' = %s" if by_pk else f"{d['status']} = %s"


def _due_condition(d: dict[str, str], *, by_pk: bool = False) -> str:
    """The condition of a due delivery (as delivery._due_q): pending, its next attempt's
    time passed, not leased. Its parameters: :func:`_due_params`."""
    return (
        f"{_pending(d, by_pk=by_pk)} AND {d['next_attempt_at']} <= %s"
        f" AND ({d['leased_until']} IS NULL OR {d['leased_until']} < %s)"
    )


def _due_params(db: BaseDatabaseWrapper, now: datetime) -> list[Any]:
    at = _param(db, "next_attempt_at", now)
    return [Delivery.Status.PENDING.value, at, at]


#: The columns :func:`insert` takes from each row, with how the row's JSON gives them.
INSERT_FIELDS = (
    ("organization", "int"),
    ("integration", "int"),
    ("event_id", "uuid"),
    ("event", "text"),
    ("url", "text"),
    ("webhook_id", "text"),
    ("payload", "json"),
    ("context", "json"),
)
#: Rows per statement.
INSERT_ROWS = 1000


def _row_item(db: BaseDatabaseWrapper, n: int, kind: str) -> str:
    """Item ``n`` of a row (a JSON array ``r``) as the column's value."""
    if db.vendor == "postgresql":
        casts = {"int": "::bigint", "uuid": "::uuid", "text": ""}
        return f"r -> {n}" if kind == "json" else f"(r ->> {n}){casts[kind]}"
    return f"json_extract(r.value, '$[{n}]')"  # (an object: its JSON text, as stored)


def insert(rows: Sequence[tuple[Any, ...]], now: datetime) -> None:
    """Write one pending delivery per row (the values of :data:`INSERT_FIELDS`: pks, the
    event's uuid, strings, the payload and context as dicts), due ``now``, in one
    transaction: ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (a row whose
    ``webhook_id`` or (integration, event, URL) exists is left alone) from the rows sent
    as one JSON array. What ``bulk_create(ignore_conflicts=True)`` writes, for a tenth of
    its CPU and a third of the database's time (a parameter per value makes the
    database parse thousands of them: docs/performance.md, "Outgoing webhooks")."""
    if not rows:
        return
    db = _db()
    d = _names(db, Delivery)
    at = _param(db, "next_attempt_at", now)
    event_id = Delivery._meta.get_field("event_id")
    columns = [d[name] for name, _ in INSERT_FIELDS]
    items = [_row_item(db, n, kind) for n, (_, kind) in enumerate(INSERT_FIELDS)]
    for name in ("next_attempt_at", "created_at", "updated_at"):
        columns.append(d[name])
        items.append("%s")
    for name, constant in (("status", "%s"), ("attempts", "0")):
        columns.append(d[name])
        items.append(constant)
    for name in ("response_excerpt", "error_message", "reply_message_id"):
        columns.append(d[name])
        items.append("''")
    source = (
        "jsonb_array_elements(%s::jsonb) AS rows (r)"
        if db.vendor == "postgresql"
        else "json_each(%s) AS r"
    )
    sql = (
        f"INSERT INTO {d['table']} ({', '.join(columns)}) SELECT {', '.join(items)}"
        # (WHERE true: SQLite would read ON as a join's)
        f" FROM {source} WHERE true ON CONFLICT DO NOTHING"
    )
    pending = Delivery.Status.PENDING.value
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        for start in range(0, len(rows), INSERT_ROWS):
            chunk = [
                (*row[:2], str(event_id.get_db_prep_save(row[2], db)), *row[3:])
                for row in rows[start : start + INSERT_ROWS]
            ]
            cursor.execute(sql, [at, at, at, pending, json.dumps(chunk)])


def due(limit: int, now: datetime, full: Iterable[tuple[int, str]]) -> list[tuple[int, int, str]]:
    """Up to ``limit`` due deliveries, the first due first, none to an endpoint
    (integration, URL) in ``full``: (pk, integration pk, URL)."""
    db = _db()
    d = _names(db, Delivery)
    full = list(full)
    sql = (
        f"SELECT {d['id']}, {d['integration']}, {d['url']} FROM {d['table']}"
        f" WHERE {_due_condition(d)}"
    )
    params = _due_params(db, now)
    if full:
        sql += (
            f" AND ({d['integration']}, {d['url']}) NOT IN ({', '.join(['(%s, %s)'] * len(full))})"
        )
        params += [value for endpoint in full for value in endpoint]
    sql += f" ORDER BY {d['next_attempt_at']}, {d['id']} LIMIT %s"
    with db.cursor() as cursor:
        return _fetch(db, cursor, sql, [*params, limit], ORDERED_READ)


def claim(pks: Sequence[int], now: datetime) -> list[Delivery]:
    """Claim the next attempt of each delivery in ``pks`` that is still due (pending,
    ``next_attempt_at`` passed, not leased) in one guarded UPDATE that bumps ``attempts``
    and sets the lease. Returns the claimed deliveries, in the order of ``pks``, with the
    fields an attempt needs; ``attempts`` is the claimed attempt's number.

    On PostgreSQL a row another sender is claiming or recording (locked) is skipped, never
    waited for; SQLite has no row locks (the statement takes the database's write lock)."""
    if not pks:
        return []
    db = _db()
    d = _names(db, Delivery)
    # the chosen rows that are still due
    chosen = f"{d['id']} IN ({', '.join(['%s'] * len(pks))}) AND {_due_condition(d, by_pk=True)}"
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
    params = [_param(db, "leased_until", now + lease), _param(db, "last_attempt_at", now)]
    params += [*pks, *_due_params(db, now)]
    with db.cursor() as cursor:
        rows = _fetch(db, cursor, sql, params)
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


def write_held(held: Sequence[tuple[int, int]], values: Mapping[str, Any]) -> set[int]:
    """Write ``values`` (Delivery field name -> value) to each delivery of ``held`` (pk,
    attempt) that its attempt still holds (pending, ``attempts`` unchanged: the fence);
    the pks written. One statement."""
    if not held:
        return set()
    db = _db()
    d = _names(db, Delivery)
    sql = (
        f"UPDATE {d['table']} SET {', '.join(f'{d[name]} = %s' for name in values)}"
        f" WHERE {_pending(d, by_pk=True)}"
        f" AND ({d['id']}, {d['attempts']}) IN ({', '.join(['(%s, %s)'] * len(held))})"
        f" RETURNING {d['id']}"
    )
    params = [_param(db, name, value) for name, value in values.items()]
    params.append(Delivery.Status.PENDING.value)
    for pk, attempt in held:
        params += [pk, attempt]
    with db.cursor() as cursor:
        return {pk for (pk,) in _fetch(db, cursor, sql, params)}


def integration_stamps(pks: Iterable[int], fields: Sequence[str]) -> dict[int, tuple[Any, ...]]:
    """pk -> the Integration ``fields`` of each integration in ``pks`` that exists, as the
    database gives them (to compare, not to use)."""
    pks = list(pks)
    if not pks:
        return {}
    db = _db()
    i = _names(db, Integration)
    sql = (
        f"SELECT {i['id']}, {', '.join(i[name] for name in fields)} FROM {i['table']}"
        f" WHERE {i['id']} IN ({', '.join(['%s'] * len(pks))})"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, pks)
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}
