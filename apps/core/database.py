"""The database: planner statistics after bulk loads (:func:`analyze`), and the database
down: answer 503 ``database_unavailable`` (with ``Retry-After``), not 500.

While PostgreSQL restarts (or is unreachable, or refuses connections), every request that
needs it fails with a driver error. Those errors become a clean **503** on every surface:

- ``/api/...`` and ``/healthz``: the JSON error body, code ``database_unavailable``;
- everything else (console, admin site): a small static HTML page (no template: the
  context processors would touch the database again).

Two places produce it, both with :func:`is_database_unavailable` deciding:

- the DRF exception handler (``apps.core.http_errors.exception_handler``) for API views;
- :class:`DatabaseUnavailableMiddleware` (first in ``MIDDLEWARE``): its
  ``process_exception`` for any other view (``/healthz``, console, admin), and, for an
  error raised by another middleware (a session saved on the way out), the
  ``got_request_exception`` receiver :func:`note_request_exception` marks the request
  and the middleware replaces the 5xx response Django made of it (that path is also
  logged by Django as a server error).

Only connection-level failures count (refused or lost connections, a server shutting
down or starting up, too many connections, SQLite's "unable to open" and "database is
locked"). Other database errors (a statement timeout, a deadlock, a missing table, bad
SQL) stay 500 ``internal_error``: this never masks a bug.

Nothing needs restarting afterwards: a failed connect leaves no connection behind, and a
request whose persistent connection turned out dead (one 503) closes it at its end, so
the next request gets a fresh one (``CONN_HEALTH_CHECKS`` is off: docs/performance.md,
"Connection health checks").
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse

from apps.core.dialects import error_response

logger = logging.getLogger("chatadmin.database")

CODE = "database_unavailable"
#: Seconds a client is asked to wait before trying again (a restart takes a few).
RETRY_AFTER_SECONDS = 5
#: PostgreSQL SQLSTATEs of a server that is going away or not accepting connections (any
#: class-08 "connection exception" counts too): admin_shutdown, crash_shutdown,
#: cannot_connect_now (starting up / shutting down), too_many_connections.
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})
#: SQLite primary result codes: SQLITE_BUSY ("database is locked" after the timeout),
#: SQLITE_CANTOPEN ("unable to open database file").
_SQLITE_UNAVAILABLE = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_CANTOPEN})

#: The drivers' own classes (for errors raised outside Django's wrapper).
_DRIVER_INTERFACE = (psycopg.InterfaceError,)
_DRIVER_OPERATIONAL = (psycopg.OperationalError, sqlite3.OperationalError)


def analyze(*models: type[Model], vacuum: bool = False, using: str = DEFAULT_DB_ALIAS) -> None:
    """Refresh PostgreSQL's planner statistics of these models' tables: every bulk load
    (seeding commands, benchmarks) calls it when its rows are in. Autovacuum analyzes a
    table only after a share of it has changed, so right after a load the planner works
    from the empty table's figures (a 25-message page then read a whole channel).

    ``vacuum`` runs ``VACUUM ANALYZE`` (also sets the visibility map, for index-only
    scans; benchmarks want it) when no transaction is open, else falls back to
    ``ANALYZE``. A no-op on other databases: SQLite's planner without ``sqlite_stat1``
    takes an index as selective, which is right for these tables, and statistics taken
    on a small demo would outlive it. Production settings: docs/operations.md.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    verb = "VACUUM ANALYZE" if vacuum and not connection.in_atomic_block else "ANALYZE"
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"{verb} {connection.ops.quote_name(model._meta.db_table)}")


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True if ``exc`` says the database cannot be reached or used at all right now.

    Django re-raises a driver's error as its own class (``django.db.OperationalError``,
    ``InterfaceError``) with the driver's exception as ``__cause__``; the driver's own
    classes are recognised too.
    """
    if not isinstance(
        exc, (OperationalError, InterfaceError, *_DRIVER_INTERFACE, *_DRIVER_OPERATIONAL)
    ):
        return False
    driver = exc.__cause__ if isinstance(exc, OperationalError | InterfaceError) else exc
    if isinstance(exc, InterfaceError) or isinstance(driver, _DRIVER_INTERFACE):
        return True  # the connection is closed or broken
    if isinstance(driver, sqlite3.Error):
        code = getattr(driver, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_UNAVAILABLE
    if isinstance(driver, _DRIVER_OPERATIONAL):
        # psycopg gives no SQLSTATE when there is no server to give one: connection
        # refused, reset or lost, server closed the connection, pool timeout.
        sqlstate = getattr(driver, "sqlstate", None)
        return sqlstate is None or sqlstate.startswith("08") or sqlstate in _PG_UNAVAILABLE
    return False


def log_unavailable(request: HttpRequest, exc: BaseException) -> None:
    """One warning line per refused request (no traceback: the cause is not in the code)."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    logger.warning("503 database unavailable: %s %s: %s", request.method, request.path, first_line)


def unavailable_headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503: JSON under ``/api/`` and for ``/healthz``, a static page elsewhere."""
    log_unavailable(request, exc)
    return error_response(request, CODE, headers=unavailable_headers())


#: The request attribute set by :func:`note_request_exception`.
_MARK = "_chatadmin_database_unavailable"


def note_request_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """``got_request_exception`` receiver (connected in ``CoreConfig.ready``): Django is
    about to turn an exception into a 500; if the database was unreachable, mark the
    request so :class:`DatabaseUnavailableMiddleware` answers 503 instead. Django sends
    this signal inside its ``except`` block, so ``sys.exc_info()`` is the exception."""
    exc = sys.exc_info()[1]
    if request is not None and is_database_unavailable(exc):
        setattr(request, _MARK, exc)


class DatabaseUnavailableMiddleware:
    """First in ``MIDDLEWARE``: database outages become 503, whichever layer hit them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # An inner middleware raised, and Django already made a 500 of it.
        exc = getattr(request, _MARK, None)
        if exc is not None and response.status_code >= 500:
            return database_unavailable_response(request, exc)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return database_unavailable_response(request, exception)
        return None  # anything else: Django's usual handling (500, logged with traceback)
