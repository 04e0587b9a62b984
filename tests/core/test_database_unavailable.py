"""A database that cannot be reached is a 503 ``database_unavailable``, never a 500.

No server is stopped here (tests/chaos/test_database_restart.py does that): the
``default`` connection is pointed at a database that is really not there (a closed port
on PostgreSQL, a file in a missing folder on SQLite), so the driver fails as it does
during an outage. On PostgreSQL a real backend is also killed, to check that a dead
persistent connection is replaced on the next request.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from apps.core.database import RETRY_AFTER_SECONDS, is_database_unavailable
from tests.personas import TokenClient
from tests.processes import free_port

PG_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (DATABASE_URL=postgres://...)"
)


@contextmanager
def database(settings_dict: dict[str, Any]) -> Iterator[BaseDatabaseWrapper]:
    """Make ``default`` a new connection with these settings for the duration."""
    real = connections["default"]
    replacement = real.__class__(settings_dict, alias="default")
    connections["default"] = replacement
    try:
        yield replacement
    finally:
        replacement.close()
        connections["default"] = real


@contextmanager
def unreachable_database(tmp_path: Path) -> Iterator[BaseDatabaseWrapper]:
    """``default`` points at a database nobody serves (as during an outage)."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    if connection.vendor == "postgresql":
        settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))  # nobody listens
    else:
        settings_dict.update(NAME=str(tmp_path / "missing" / "chatadmin.sqlite3"))
    with database(settings_dict) as replacement:
        yield replacement


def assert_json_503(response: HttpResponse) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "status": "error",
        "code": "database_unavailable",
        "message": "The database is unavailable; try again in a few seconds.",
    }
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"


# --- every surface -------------------------------------------------------------------------


def test_healthz_is_503_json(db: None, client: Client, tmp_path: Path) -> None:
    assert client.get("/healthz").status_code == 200
    with unreachable_database(tmp_path):
        assert_json_503(client.get("/healthz"))
    assert client.get("/healthz").json() == {"status": "ok"}


def test_admin_api_reads_and_writes_are_503_json(
    db: None, api: TokenClient, tmp_path: Path
) -> None:
    with unreachable_database(tmp_path):
        assert_json_503(api.get("/api/v2/channels"))
        assert_json_503(api.get("/api/v2/users"))
        assert_json_503(
            api.post(
                "/api/v2/message",
                {"channelId": "general", "type": "text", "data": {"text": "hello"}},
                format="json",
            )
        )
        assert_json_503(api.put("/api/v2/channel/general/users/mute",
                                {"userIds": ["bob"], "mutePeriod": 0}, format="json"))  # fmt: skip


def test_messenger_api_is_503_json(db: None, tmp_path: Path) -> None:
    client = Client(HTTP_API_TOKEN="ca_api_whatever")
    with unreachable_database(tmp_path):
        assert_json_503(client.get("/api/messenger/chatrooms"))


def test_console_and_admin_pages_are_a_plain_503_page(db: None, tmp_path: Path) -> None:
    client = Client()
    client.cookies["sessionid"] = "a" * 32  # the session is loaded from the database
    with unreachable_database(tmp_path):
        for url in ("/console/", "/admin/"):
            response = client.get(url)
            assert response.status_code == 503, url
            assert response["Content-Type"] == "text/html; charset=utf-8"
            assert b"Service unavailable" in response.content
            assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_requests_that_need_no_database_still_work(
    db: None, client: Client, tmp_path: Path
) -> None:
    with unreachable_database(tmp_path):
        assert client.get("/api/v2/nothing-here").status_code == 404  # JSON 404, no query
        assert client.get("/console/login/").status_code == 200


# An error raised by a MIDDLEWARE (here the session saved on the way out), after the view.


def _touch_session(request: HttpRequest) -> HttpResponse:
    request.session["seen"] = True  # no query yet: SessionMiddleware saves it afterwards
    return HttpResponse("ok")


urlpatterns = [
    path("api/session", _touch_session),
    path("session", _touch_session),
]


@pytest.mark.urls(__name__)
def test_an_outage_hit_by_a_middleware_is_503_too(db: None, tmp_path: Path) -> None:
    client = Client(raise_request_exception=False)
    assert client.get("/session").status_code == 200
    with unreachable_database(tmp_path):
        assert_json_503(client.get("/api/session"))
        response = client.get("/session")
        assert response.status_code == 503
        assert b"Service unavailable" in response.content


# --- what counts as "unavailable" ---------------------------------------------------------


def test_other_database_errors_are_not_unavailability(db: None) -> None:
    """A missing table (a bug, not an outage) stays a 500."""
    with (
        pytest.raises(DatabaseError) as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT * FROM no_such_table_here")
    assert not is_database_unavailable(raised.value)
    assert not is_database_unavailable(ValueError("no"))
    assert not is_database_unavailable(None)


def test_sqlite_errors_by_their_result_code(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError) as cannot_open:
        sqlite3.connect(tmp_path / "missing" / "x.sqlite3")
    assert is_database_unavailable(cannot_open.value)
    db = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        db.execute("SELECT * FROM nothing")
    assert not is_database_unavailable(no_table.value)


@PG_ONLY
def test_a_statement_timeout_is_not_unavailability(db: None) -> None:
    with (
        pytest.raises(DatabaseError) as raised,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(5)")
    assert type(raised.value.__cause__).__name__ == "QueryCanceled"
    assert not is_database_unavailable(raised.value)


# --- a dead persistent connection (PostgreSQL restarted) ----------------------------------


def _wsgi_get(handler: WSGIHandler, path_: str) -> tuple[int, bytes]:
    """One request through Django's real WSGI handler, as gunicorn sends it (with the
    request_started/finished signals that recycle connections)."""
    status: list[str] = []
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path_, "QUERY_STRING": "",
        "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": BytesIO(), "wsgi.url_scheme": "http", "wsgi.errors": BytesIO(),
    }  # fmt: skip
    response = handler(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        body = b"".join(response)
    finally:
        response.close()  # request_finished
    return int(status[0].split()[0]), body


def _kill_backend(victim: BaseDatabaseWrapper, killer: BaseDatabaseWrapper) -> int:
    """Terminate the server process of ``victim`` (what a restart does to it)."""
    pid = victim.connection.info.backend_pid
    with killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])  # waits until gone
        assert cursor.fetchone() == (True,)
    return pid


def _persistent(health_checks: bool) -> dict[str, Any]:
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict.update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=health_checks)
    return settings_dict


@PG_ONLY
def test_a_dead_persistent_connection_is_replaced_before_the_next_request(db: None) -> None:
    handler, own = WSGIHandler(), connections["default"]  # the test's own connection
    with database(_persistent(health_checks=True)) as persistent:
        assert _wsgi_get(handler, "/healthz")[0] == 200
        killed = _kill_backend(persistent, own)
        assert _wsgi_get(handler, "/healthz")[0] == 200  # the health check reconnected
        assert persistent.connection.info.backend_pid != killed


@PG_ONLY
def test_without_health_checks_one_request_gets_503_then_it_recovers(db: None) -> None:
    """What CONN_HEALTH_CHECKS saves: the lost connection is used once (a clean 503,
    not a 500), closed at the end of that request, and the next one reconnects."""
    handler, own = WSGIHandler(), connections["default"]  # the test's own connection
    with database(_persistent(health_checks=False)) as persistent:
        assert _wsgi_get(handler, "/healthz")[0] == 200
        killed = _kill_backend(persistent, own)
        status, body = _wsgi_get(handler, "/healthz")
        assert (status, b"database_unavailable" in body) == (503, True)
        assert _wsgi_get(handler, "/healthz")[0] == 200
        assert persistent.connection.info.backend_pid != killed
