"""Request bodies on a real gunicorn (``gunicorn chatadmin.wsgi``, sync workers, as in
production): a chunked body without Content-Length is read (gunicorn de-chunks it; the
WSGI wrapper of apps.core.bodies gives it its length), within the cap; a Content-Length
over the cap is refused from the header, before the server reads the body.

One gunicorn for the module (tests/chaos/servers.py), on pytest-django's test database:
PostgreSQL only (the test database of SQLite is in this process's memory; those tests
skip there), hence the ``integration`` mark (.ci/run runs ``-m integration`` with
DATABASE_URL set). Each test commits its rows (``transaction=True``). Requests are sent
with ``http.client`` and raw sockets, so the framing on the wire is exactly the one
written here. Last, ``manage.py runserver`` (wsgiref does not de-chunk): 411, and the
connection is closed so the unread chunks are never parsed as a request (any database).
"""

from __future__ import annotations

import http.client
import io
import json
import select
import socket
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from PIL import Image

from apps.audit.actor import Actor
from apps.core.bodies import max_body_bytes
from apps.messages.models import Message
from apps.moderation.models import BlacklistRecord
from apps.moderation.services import blacklist_records_add
from apps.organizations.models import AccessToken, Organization
from tests.builders import image_bytes, make_chatroom
from tests.chaos.servers import Gunicorn, product_env
from tests.factories import AccountFactory, ChannelFactory, OrganizationFactory
from tests.personas import issue_token
from tests.processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MiB = 1024 * 1024
#: The server's limits (its environment): cap = 4 MiB (file) + 1 MiB (other fields).
LIMITS = {
    "CHATADMIN_MAX_FILE_BYTES": 4 * MiB,
    "CHATADMIN_MAX_IMAGE_BYTES": 2 * MiB,
    "CHATADMIN_MAX_AVATAR_BYTES": 2 * MiB,
    "CHATADMIN_MAX_BODY_BYTES": 1 * MiB,
}
CAP = 5 * MiB
TIMEOUT = 15.0
BOUNDARY = "chatadmin-test-boundary"


class Server:
    def __init__(self, web: Gunicorn, media_root: Path) -> None:
        self.web, self.media_root = web, media_root
        self.host, self.port = web.host, web.port

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        pytest.skip("gunicorn shares the test database: PostgreSQL only (DATABASE_URL=...)")
    from tests.integration.harness import test_database_url

    with django_db_blocker.unblock():
        database_url = test_database_url()
    folder = tmp_path_factory.mktemp("gunicorn")
    media_root = folder / "media"
    env = product_env(
        database_url,
        folder / "var",
        DJANGO_MEDIA_ROOT=str(media_root),
        DB_CONN_MAX_AGE="0",  # nothing left connected when the test database is flushed
        **{name: str(value) for name, value in LIMITS.items()},
    )
    with Gunicorn(env, workers=2, log=folder / "gunicorn.log") as web:
        yield Server(web, media_root)


# --- the scene -----------------------------------------------------------------------------


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug=f"bodies-{uuid.uuid4().hex[:8]}")


def token(org: Organization, kind: str) -> str:
    account = AccountFactory(email=f"{kind.lower()}-{uuid.uuid4().hex[:8]}@acme.test")
    return issue_token(kind=kind, account=account, organization=org).raw


@pytest.fixture
def admin_headers(org: Organization) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(org, AccessToken.Kind.ADMIN)}"}


@pytest.fixture
def messenger_headers(org: Organization) -> dict[str, str]:
    return {"API-TOKEN": token(org, AccessToken.Kind.API)}


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# --- the wire ------------------------------------------------------------------------------


def chunked(
    server: Server, method: str, path: str, chunks: Iterable[bytes], headers: dict[str, str]
) -> tuple[int, bytes]:
    """One request whose body goes ``Transfer-Encoding: chunked``, no Content-Length."""
    conn = server.connection()
    try:
        conn.request(
            method,
            path,
            body=iter(chunks),
            headers={**headers, "Transfer-Encoding": "chunked"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def pieces(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def multipart_head(name: str, content_type: str, fields: dict[str, str]) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    )
    return "".join(parts).encode()


MULTIPART_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def upload_chunks(size: int, *, block: int = 256 * 1024) -> Iterator[bytes]:
    """A multipart file upload of ``size`` bytes to channel ``general``, in pieces."""
    yield multipart_head("big.bin", "application/octet-stream", {"channelId": "general"})
    for start in range(0, size, block):
        yield bytes([start // block % 256]) * min(block, size - start)
    yield MULTIPART_TAIL


def send_until_answered(
    server: Server, head: bytes, body: Iterator[bytes], *, stop_after: int | None = None
) -> tuple[http.client.HTTPResponse, bytes, int]:
    """Send ``head``, then ``body`` while the server has not answered (and, with
    ``stop_after``, no more than that many body bytes: then only wait); returns the
    response, its body and the number of body bytes sent."""
    sock = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
    try:
        sock.sendall(head)
        sent, pending = 0, b""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if not pending and (stop_after is None or sent < stop_after):
                pending = next(body, b"")
                if stop_after is not None:
                    pending = pending[: stop_after - sent]
            writers = [sock] if pending else []
            readable, writable, _ = select.select([sock], writers, [], 0.5)
            if readable:
                break
            if writable:
                try:
                    count = sock.send(pending)
                except OSError:  # the server answered and closed: read the answer
                    break
                pending, sent = pending[count:], sent + count
        else:
            pytest.fail(f"no answer within {TIMEOUT} s after {sent} body bytes")
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response, response.read(), sent
    finally:
        sock.close()


# --- chunked bodies are read ---------------------------------------------------------------


def test_a_chunked_avatar_put_sets_the_avatar(
    server: Server, org: Organization, messenger_headers: dict[str, str]
) -> None:
    room = make_chatroom(org, "Team")
    png = image_bytes("PNG", (40, 30))

    status, body = chunked(
        server,
        "PUT",
        f"/api/messenger/chatrooms/{room.pk}/avatar",
        pieces(png),
        {**messenger_headers, "Content-Type": "image/png"},
    )

    assert status == 200, body
    assert json.loads(body)["avatarURL"]  # set, not deleted
    room.refresh_from_db()
    assert room.avatar.name
    conn = server.connection()
    try:
        conn.request("GET", f"/api/messenger/chatrooms/{room.pk}/avatar", headers=messenger_headers)
        served = conn.getresponse()
        assert served.status == 200
        assert Image.open(io.BytesIO(served.read())).size == (40, 30)
    finally:
        conn.close()


def test_a_chunked_delete_deletes_the_records_its_body_names(
    server: Server, org: Organization, admin_headers: dict[str, str]
) -> None:
    blacklist_records_add(organization=org, actor=Actor.system(), patterns=["alpha", "bravo"])

    status, body = chunked(
        server,
        "DELETE",
        "/api/v2/blacklist/records?ruleIds[]=bravo",
        pieces(json.dumps({"ruleIds": ["alpha"]}).encode(), 7),
        {**admin_headers, "Content-Type": "application/json"},
    )

    assert status == 200, body
    left = BlacklistRecord.objects.filter(organization=org).values_list("pattern", flat=True)
    assert list(left) == ["bravo"]  # the body's record, not the query string's


def test_a_chunked_upload_spooled_to_disk_arrives_whole(
    server: Server, org: Organization, admin_headers: dict[str, str]
) -> None:
    ChannelFactory(organization=org, channel_id="general")
    size = 3 * MiB  # over FILE_UPLOAD_MAX_MEMORY_SIZE (2 MiB): the spool goes to disk

    status, body = chunked(
        server,
        "POST",
        "/api/v2/messages/files",
        upload_chunks(size),
        {**admin_headers, "Content-Type": MULTIPART},
    )

    assert status == 201, body[:500]
    message_id = json.loads(body)["message"]["messageId"]
    conn = server.connection()
    try:
        conn.request("GET", f"/api/v2/messages/{message_id}/files", headers=admin_headers)
        served = conn.getresponse()
        assert served.status == 200
        assert served.read() == b"".join(list(upload_chunks(size))[1:-1])
    finally:
        conn.close()


# --- bodies over the cap --------------------------------------------------------------------


def test_a_chunked_body_over_the_cap_is_413_and_nothing_is_written(
    server: Server, org: Organization, admin_headers: dict[str, str]
) -> None:
    ChannelFactory(organization=org, channel_id="general")
    head = (
        "POST /api/v2/messages/files HTTP/1.1\r\n"
        f"Host: {server.host}:{server.port}\r\n"
        f"Authorization: {admin_headers['Authorization']}\r\n"
        f"Content-Type: {MULTIPART}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    framed = (b"%x\r\n%s\r\n" % (len(c), c) for c in upload_chunks(CAP + 2 * MiB))

    response, body, sent = send_until_answered(server, head, framed)

    assert response.status == 413, body[:500]
    assert json.loads(body)["code"] == "payload_too_large"
    assert sent > CAP  # it was read up to the cap, then refused
    assert not Message.objects.filter(channel__organization=org).exists()
    assert not files_in(server.media_root / f"orgs/{org.pk}")


def test_a_fifty_megabyte_upload_is_413_before_the_server_reads_it(
    server: Server, org: Organization, admin_headers: dict[str, str]
) -> None:
    ChannelFactory(organization=org, channel_id="general")
    head = (
        "POST /api/v2/messages/files HTTP/1.1\r\n"
        f"Host: {server.host}:{server.port}\r\n"
        f"Authorization: {admin_headers['Authorization']}\r\n"
        f"Content-Type: {MULTIPART}\r\n"
        f"Content-Length: {50 * 1000 * 1000}\r\n\r\n"
    ).encode()

    # 64 KiB of the 50 MB, then nothing: only a server that did not wait for the body
    # can answer.
    response, body, sent = send_until_answered(
        server, head, upload_chunks(50 * MiB), stop_after=64 * 1024
    )

    assert response.status == 413, body[:500]
    assert json.loads(body)["code"] == "payload_too_large"
    assert sent <= 64 * 1024
    assert not Message.objects.filter(channel__organization=org).exists()


def test_the_module_s_cap_is_max_body_bytes_of_the_server_s_limits(settings: Any) -> None:
    settings.CHATADMIN = {
        **settings.CHATADMIN,
        "MAX_FILE_BYTES": LIMITS["CHATADMIN_MAX_FILE_BYTES"],
        "MAX_IMAGE_BYTES": LIMITS["CHATADMIN_MAX_IMAGE_BYTES"],
        "MAX_AVATAR_BYTES": LIMITS["CHATADMIN_MAX_AVATAR_BYTES"],
    }
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMITS["CHATADMIN_MAX_BODY_BYTES"]
    assert max_body_bytes() == CAP


# --- manage.py runserver ------------------------------------------------------------------


def test_runserver_answers_a_chunked_body_with_411_and_closes_the_connection(
    tmp_path: Path,
) -> None:
    from tests.integration.harness import Process

    port = free_port()
    env = product_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path / "var")
    args = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    runserver = Process("runserver", args, env, tmp_path / "runserver.log")
    runserver.start(ready="Quit the server with")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(
                b"PUT /api/messenger/chatrooms/1/avatar HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n0\r\n\r\n"
            )
            response = http.client.HTTPResponse(sock)
            response.begin()
            body = response.read()
            assert response.status == 411, body
            assert json.loads(body)["code"] == "length_required"
            assert response.getheader("Connection") == "close"
            assert sock.recv(1) == b""  # closed by the server
    finally:
        runserver.stop()
    assert "Bad request syntax" not in runserver.output()  # "5\r\nhello" never parsed
