"""The limits of a Stackfield URL hold across web processes: two gunicorn servers (one sync
worker each, production settings) on pytest-django's test database, the same URL called
through both. One call per interval per URL is claimed in the database, and a double
request is decided by a unique row in the work's own transaction, so neither depends on
which process a call reaches, nor on calls arriving at the same moment.

PostgreSQL only (SQLite's test database is this process's), hence the ``integration``
mark (.ci/run runs ``-m integration`` with DATABASE_URL set), as tests/core/
test_bodies_gunicorn.py. Each test commits its rows (``transaction=True``). Calls that
must meet are started together behind a barrier; the assertions count outcomes, never
times.
"""

from __future__ import annotations

import http.client
import json
import threading
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.integrations.models import IntegrationRequest
from apps.integrations.services.stackfield import stackfield_url_create
from apps.messages.models import Message
from apps.organizations.models import Organization
from tests.chaos.servers import VENV_BIN, Gunicorn, product_env
from tests.factories import ChannelFactory, OrganizationFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TIMEOUT = 20.0


class Pair:
    """Two gunicorn servers on the same database: calls go to ``a`` or ``b``."""

    def __init__(self, a: Gunicorn, b: Gunicorn) -> None:
        self.servers = (a, b)

    def post(self, which: int, uuid: str, body: dict[str, Any]) -> tuple[int, dict, str | None]:
        server = self.servers[which]
        conn = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)
        try:
            conn.request(
                "POST",
                f"/apiwh/{uuid}",
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Host": server.host},
            )
            response = conn.getresponse()
            return response.status, json.loads(response.read()), response.getheader("Retry-After")
        finally:
            conn.close()

    def together(self, uuid: str, bodies: tuple[dict, dict]) -> list[tuple[int, dict, Any]]:
        """``bodies[0]`` to server a and ``bodies[1]`` to server b, sent at the same moment."""
        barrier = threading.Barrier(2)
        results: list[Any] = [None, None]

        def send(which: int) -> None:
            barrier.wait(timeout=TIMEOUT)
            results[which] = self.post(which, uuid, bodies[which])

        threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT * 2)
        assert all(r is not None for r in results), "a call got no answer"
        return results


def _pair(
    tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any, interval: str
) -> Iterator[Pair]:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("the servers share the test database: PostgreSQL only (DATABASE_URL=...)")
    if not (VENV_BIN / "gunicorn").exists():
        pytest.skip("no .venv/bin/gunicorn")
    from tests.integration.harness import test_database_url

    with django_db_blocker.unblock():
        database_url = test_database_url()
    folder: Path = tmp_path_factory.mktemp("stackfield-gunicorn")
    env = product_env(
        database_url,
        folder / "var",
        DB_CONN_MAX_AGE="0",  # nothing left connected when the test database is flushed
        CHATADMIN_WEBHOOK_MIN_INTERVAL_SECONDS=interval,
    )
    with (
        Gunicorn(env, workers=1, log=folder / "a.log") as a,
        Gunicorn(env, workers=1, log=folder / "b.log") as b,
    ):
        yield Pair(a, b)


@pytest.fixture(scope="module")
def limited(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """Servers allowing one call per hour per URL."""
    yield from _pair(tmp_path_factory, django_db_blocker, "3600")


@pytest.fixture(scope="module")
def unlimited(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    """Servers without the interval (the double-request window stays: 60 s)."""
    yield from _pair(tmp_path_factory, django_db_blocker, "0")


@pytest.fixture
def scene() -> tuple[Organization, Channel]:
    org = OrganizationFactory(slug=f"sf-{uuidlib.uuid4().hex[:8]}")
    return org, ChannelFactory(organization=org, channel_id="general")


def url(org: Organization, kind: str, channel: Channel | None = None) -> str:
    issued = stackfield_url_create(
        organization=org, actor=Actor.system(), kind=kind, channel=channel
    )
    assert issued.token is not None
    return issued.token


def test_the_call_limit_holds_across_two_processes(
    limited: Pair, scene: tuple[Organization, Channel]
) -> None:
    org, general = scene
    uuid = url(org, "chat-message", general)
    status, body, _ = limited.post(0, uuid, {"Title": "through a"})
    assert (status, body) == (200, {"Result": "ok"})
    status, body, retry_after = limited.post(1, uuid, {"Title": "through b"})
    assert (status, body["Result"]) == (429, "4040")
    assert retry_after is not None and 1 <= int(retry_after) <= 3600
    assert list(Message.objects.filter(channel=general).values_list("data__text", flat=True)) == [
        "through a"
    ]


def test_two_calls_at_once_through_two_processes_admit_one(
    limited: Pair, scene: tuple[Organization, Channel]
) -> None:
    org, general = scene
    uuid = url(org, "chat-message", general)
    results = limited.together(uuid, ({"Title": "one"}, {"Title": "two"}))
    outcomes = sorted((status, body["Result"]) for status, body, _ in results)
    assert outcomes == [(200, "ok"), (429, "4040")]
    assert Message.objects.filter(channel=general).count() == 1


def test_a_double_request_through_the_other_process_is_4057(
    unlimited: Pair, scene: tuple[Organization, Channel]
) -> None:
    org, general = scene
    uuid = url(org, "chat-message", general)
    assert unlimited.post(0, uuid, {"Title": "Hello"})[:2] == (200, {"Result": "ok"})
    status, body, _ = unlimited.post(1, uuid, {"Title": "Hello"})
    assert (status, body["Result"]) == (409, "4057")
    assert Message.objects.filter(channel=general).count() == 1


def test_the_same_body_at_once_through_two_processes_acts_once(
    unlimited: Pair, scene: tuple[Organization, Channel]
) -> None:
    org, _general = scene
    uuid = url(org, "organization")
    body = {"Command": "CreateRoom", "Name": "Only once"}
    results = unlimited.together(uuid, (body, body))
    outcomes = sorted((status, body["Result"]) for status, body, _ in results)
    assert outcomes == [(200, "ok"), (409, "4057")]
    assert Channel.objects.filter(organization=org, display_name="Only once").count() == 1
    assert IntegrationRequest.objects.filter(integration__organization=org).count() == 1
