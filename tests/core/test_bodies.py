"""Request bodies at the door (apps.core.bodies): a chunked body is read, within the cap,
or refused (411); it is never taken for an empty one. A Content-Length over the cap is 413
before a byte of the body is read; a malformed one is 400.

In process: Django's test client (which does not go through chatadmin.wsgi, so what it
sends with ``Transfer-Encoding: chunked`` and no Content-Length is what a server that did
not de-chunk hands over), and the WSGI wrapper called with a WSGI environ as gunicorn
builds it (``wsgi.input_terminated``: the input is already de-chunked). A real gunicorn:
tests/core/test_bodies_gunicorn.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.servers.basehttp import get_internal_wsgi_application
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from apps.channels.models import Channel
from apps.core.bodies import ChunkedBodyMiddleware, max_body_bytes, transfer_codings
from apps.messages.models import Message
from apps.moderation.models import BlacklistRecord
from apps.organizations.models import Organization
from tests.builders import image_bytes, make_chatroom
from tests.factories import ChannelFactory
from tests.personas import MessengerClient, TokenClient, api_token_client

RECORDS = "/api/v2/blacklist/records"
FILES = "/api/v2/messages/files"
CHUNKED = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked"}

#: Small limits (``small_cap``): the cap is 3000 (file) + 1000 (other fields) = 4000.
FILE_LIMIT, BODY_LIMIT, CAP = 3000, 1000, 4000


@pytest.fixture
def small_cap(settings: Any) -> int:
    settings.CHATADMIN = {
        **settings.CHATADMIN,
        "MAX_FILE_BYTES": FILE_LIMIT,
        "MAX_IMAGE_BYTES": 2000,
        "MAX_AVATAR_BYTES": 2000,
    }
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = BODY_LIMIT
    assert max_body_bytes() == CAP
    return CAP


@pytest.fixture
def channel(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


@pytest.fixture
def api_token(org: Organization) -> MessengerClient:
    return api_token_client(org)


@pytest.fixture
def room(org: Organization) -> Channel:
    return make_chatroom(org, "Team")


@pytest.fixture
def records(api: TokenClient) -> None:
    response = api.post(RECORDS, {"regexs": ["alpha", "bravo"]}, format="json")
    assert response.status_code == 201, response.content


def patterns(org: Organization) -> set[str]:
    return set(BlacklistRecord.objects.filter(organization=org).values_list("pattern", flat=True))


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response.json()["code"] == code


class CountingInput(io.RawIOBase):
    """``wsgi.input``: ``data`` (or endless bytes), counting what was read."""

    def __init__(self, data: bytes | None = None) -> None:
        self.source = io.BytesIO(data) if data is not None else None
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self.source is not None:
            block = self.source.read(size)
        else:
            block = b"x" * (size if size >= 0 else 1 << 20)
        self.bytes_read += len(block)
        return block

    def readline(self, size: int = -1) -> bytes:
        raise AssertionError("nothing reads a body line by line here")


def file_upload(size: int) -> dict[str, Any]:
    return {
        "channelId": "general",
        "file": SimpleUploadedFile("a.bin", b"x" * size, content_type="application/pdf"),
    }


# --- the cap ---------------------------------------------------------------------------------


def test_the_cap_is_the_largest_upload_limit_plus_the_body_limit(settings: Any) -> None:
    settings.CHATADMIN = {
        **settings.CHATADMIN,
        "MAX_FILE_BYTES": 3000,
        "MAX_IMAGE_BYTES": 5000,
        "MAX_AVATAR_BYTES": 1000,
    }
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 700
    assert max_body_bytes() == 5700
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_AVATAR_BYTES": 9000}
    assert max_body_bytes() == 9700


@pytest.mark.parametrize(
    "header,codings",
    [
        ("chunked", ["chunked"]),
        ("Chunked", ["chunked"]),
        (" gzip ,CHUNKED", ["gzip", "chunked"]),
        ("", []),
    ],
)
def test_transfer_codings_are_a_case_insensitive_list(header: str, codings: list[str]) -> None:
    assert transfer_codings({"HTTP_TRANSFER_ENCODING": header}) == codings


# --- the Django middleware (any entry point): chunked without a length -----------------------


def test_a_chunked_avatar_the_server_did_not_de_chunk_is_411_and_the_avatar_is_kept(
    api_token: MessengerClient, room: Channel
) -> None:
    url = f"/api/messenger/chatrooms/{room.pk}/avatar"
    assert api_token.put(url, image_bytes(), content_type="image/png").status_code == 200
    room.refresh_from_db()
    before = room.avatar.name
    assert before

    response = api_token.put(url, image_bytes(), content_type="image/png", **CHUNKED)

    assert_error(response, 411, "length_required")
    room.refresh_from_db()
    assert room.avatar.name == before  # not taken for an empty body (which deletes it)


def test_a_chunked_delete_the_server_did_not_de_chunk_is_411_and_deletes_nothing(
    api: TokenClient, org: Organization, records: None
) -> None:
    response = api.delete(
        f"{RECORDS}?ruleIds[]=bravo",
        json.dumps({"ruleIds": ["alpha"]}),
        content_type="application/json",
        **CHUNKED,
    )

    assert_error(response, 411, "length_required")
    assert patterns(org) == {"alpha", "bravo"}


def test_a_chunked_body_outside_the_api_is_411_in_html(client: Any, db: None) -> None:
    response = client.post("/console/login/", {"email": "a@b.test"}, **CHUNKED)

    assert response.status_code == 411
    assert response["Content-Type"].startswith("text/html")
    assert b"Length required" in response.content


def test_chunked_with_a_content_length_and_no_de_chunking_server_is_400(
    api: TokenClient, org: Organization, records: None
) -> None:
    body = json.dumps({"ruleIds": ["alpha"]})
    response = api.delete(
        RECORDS, body, content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )

    assert_error(response, 400, "malformed_body")
    assert patterns(org) == {"alpha", "bravo"}


def test_a_transfer_coding_other_than_chunked_is_400(api: TokenClient, records: None) -> None:
    body = json.dumps({"ruleIds": ["alpha"]})
    response = api.delete(
        RECORDS,
        body,
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="gzip, chunked",
        **{"wsgi.input_terminated": True},
    )

    assert_error(response, 400, "malformed_body")
    assert "chunked" in response.json()["message"]


# --- the Django middleware: Content-Length -----------------------------------------------


def test_a_content_length_over_the_cap_is_413_before_the_body_is_read(
    api: TokenClient, channel: Channel, small_cap: int
) -> None:
    body = CountingInput(b"x" * 100)

    response = api.post(
        FILES,
        file_upload(100),
        format="multipart",
        CONTENT_LENGTH=str(small_cap + 1),
        **{"wsgi.input": body},
    )

    assert_error(response, 413, "payload_too_large")
    assert body.bytes_read == 0
    assert not Message.objects.exists()


def test_a_multipart_upload_over_the_cap_is_413_and_nothing_is_written(
    api: TokenClient, channel: Channel, small_cap: int, settings: Any
) -> None:
    response = api.post(FILES, file_upload(small_cap), format="multipart")

    assert_error(response, 413, "payload_too_large")
    assert "field" not in response.json()  # the door's answer, not the service's
    assert not Message.objects.exists()
    media = Path(settings.MEDIA_ROOT)
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_a_file_over_its_limit_in_a_body_under_the_cap_is_still_413_from_the_service(
    api: TokenClient, channel: Channel, small_cap: int
) -> None:
    response = api.post(FILES, file_upload(FILE_LIMIT + 1), format="multipart")

    assert_error(response, 413, "payload_too_large")
    assert response.json()["field"] == "file"
    assert not Message.objects.exists()


def test_a_file_at_its_limit_passes_the_door(
    api: TokenClient, channel: Channel, small_cap: int
) -> None:
    response = api.post(FILES, file_upload(FILE_LIMIT), format="multipart")

    assert response.status_code == 201, response.content
    assert Message.objects.count() == 1


def test_a_content_length_of_exactly_the_cap_passes_the_door(
    api_token: MessengerClient, room: Channel, small_cap: int
) -> None:
    # The avatar view reads at most MAX_AVATAR_BYTES + 1 bytes of whatever is sent.
    png = image_bytes()
    response = api_token.put(
        f"/api/messenger/chatrooms/{room.pk}/avatar",
        png,
        content_type="image/png",
        CONTENT_LENGTH=str(small_cap),
        **{"wsgi.input": io.BytesIO(png)},
    )

    assert response.status_code == 200, response.content
    room.refresh_from_db()
    assert room.avatar


@pytest.mark.parametrize("length", ["abc", "-1", "+5", "1.5", "1e3", "0x10", "\uff11\uff12", "5 5"])
def test_a_malformed_content_length_is_400_and_the_body_is_not_read(
    api: TokenClient, org: Organization, records: None, length: str
) -> None:
    body = CountingInput(json.dumps({"ruleIds": ["alpha"]}).encode())

    response = api.delete(
        RECORDS, content_type="application/json", CONTENT_LENGTH=length, **{"wsgi.input": body}
    )

    assert_error(response, 400, "malformed_body")
    assert body.bytes_read == 0
    assert patterns(org) == {"alpha", "bravo"}


@pytest.mark.parametrize("length", ["9" * 5000, "1" + "0" * 30])
def test_a_content_length_of_thousands_of_digits_is_413(
    api: TokenClient, org: Organization, records: None, length: str
) -> None:
    body = CountingInput(b"{}")

    response = api.delete(
        RECORDS, content_type="application/json", CONTENT_LENGTH=length, **{"wsgi.input": body}
    )

    assert_error(response, 413, "payload_too_large")
    assert body.bytes_read == 0


def test_a_content_length_with_leading_zeros_is_its_value(
    api: TokenClient, org: Organization, records: None
) -> None:
    body = json.dumps({"ruleIds": ["alpha"]}).encode()

    response = api.delete(
        RECORDS,
        content_type="application/json",
        CONTENT_LENGTH="0" * 40 + str(len(body)),
        CONTENT_TYPE="application/json",
        **{"wsgi.input": io.BytesIO(body)},
    )

    assert response.status_code == 200, response.content
    assert patterns(org) == {"bravo"}


def test_an_empty_content_length_without_chunked_is_no_body(
    api: TokenClient, records: None
) -> None:
    response = api.get(RECORDS, CONTENT_LENGTH="")

    assert response.status_code == 200
    assert len(response.json()["records"]) == 2


# --- the WSGI wrapper --------------------------------------------------------------------------


class RecordingApp:
    """An inner WSGI application that reads the whole body, as Django would."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.body = b""
        self.closed = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.calls.append(environ)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.body = environ["wsgi.input"].read(length)
        self.input = environ["wsgi.input"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        app = self

        class Result(list):
            def close(self) -> None:
                app.closed = True

        return Result([b"ok"])


def wsgi_environ(
    path: str = "/api/v2/blacklist/records",
    body: CountingInput | None = None,
    *,
    method: str = "POST",
    query: str = "",
    transfer_encoding: str | None = "chunked",
    terminated: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A WSGI environ as gunicorn builds it (no CONTENT_LENGTH for a chunked body)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "wsgi.input": body if body is not None else CountingInput(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        **extra,
    }
    if transfer_encoding is not None:
        environ["HTTP_TRANSFER_ENCODING"] = transfer_encoding
    if terminated:
        environ["wsgi.input_terminated"] = True
    return environ


def call(app: Any, environ: dict[str, Any]) -> tuple[int, dict[str, str], bytes, Any]:
    """(status, headers, body, the result iterable) of one WSGI call (closed after)."""
    started: list[Any] = []
    result = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, headers = started[0]
    return int(status.split()[0]), dict(headers), body, result


def test_a_de_chunked_body_is_passed_on_with_its_length() -> None:
    inner = RecordingApp()
    data = bytes(range(256)) * 400  # 102,400 bytes: several read blocks
    status, _headers, _body, _result = call(
        ChunkedBodyMiddleware(inner), wsgi_environ(body=CountingInput(data))
    )

    assert status == 200
    assert inner.calls[0]["CONTENT_LENGTH"] == str(len(data))
    assert inner.body == data


def test_a_de_chunked_body_over_the_memory_size_is_spooled_to_disk_and_closed_after(
    settings: Any,
) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    inner = RecordingApp()
    data = b"y" * 5000
    status, _headers, _body, _result = call(
        ChunkedBodyMiddleware(inner), wsgi_environ(body=CountingInput(data))
    )

    assert status == 200
    assert inner.body == data
    assert isinstance(inner.input, tempfile.SpooledTemporaryFile)
    assert inner.input._rolled  # on disk, not in memory
    assert inner.closed  # the application's own close() ran ...
    assert inner.input.closed  # ... and the spooled body is gone


def test_a_de_chunked_body_of_exactly_the_cap_is_passed_on(small_cap: int) -> None:
    inner = RecordingApp()
    status, *_ = call(
        ChunkedBodyMiddleware(inner), wsgi_environ(body=CountingInput(b"z" * small_cap))
    )

    assert status == 200
    assert inner.calls[0]["CONTENT_LENGTH"] == str(small_cap)


def test_a_de_chunked_body_over_the_cap_is_413_after_reading_cap_plus_one_bytes(
    small_cap: int,
) -> None:
    inner = RecordingApp()
    endless = CountingInput()  # a client that never stops sending

    status, headers, body, _result = call(ChunkedBodyMiddleware(inner), wsgi_environ(body=endless))

    assert status == 413
    assert json.loads(body)["code"] == "payload_too_large"
    assert headers["Content-Type"] == "application/json"
    assert endless.bytes_read == small_cap + 1
    assert not inner.calls


def test_a_chunked_body_the_server_did_not_de_chunk_is_411_and_nothing_is_read() -> None:
    inner = RecordingApp()
    body = CountingInput(b"5\r\nhello\r\n0\r\n\r\n")

    status, _headers, content, _result = call(
        ChunkedBodyMiddleware(inner), wsgi_environ(body=body, terminated=False)
    )

    assert status == 411
    assert json.loads(content)["code"] == "length_required"
    assert body.bytes_read == 0
    assert not inner.calls


def test_the_wrapper_answers_in_html_outside_the_api() -> None:
    status, headers, content, _result = call(
        ChunkedBodyMiddleware(RecordingApp()), wsgi_environ("/console/login/", terminated=False)
    )

    assert status == 411
    assert headers["Content-Type"].startswith("text/html")
    assert b"Length required" in content


def test_a_transfer_coding_other_than_chunked_is_refused_by_the_wrapper() -> None:
    inner = RecordingApp()
    body = CountingInput(b"\x1f\x8b")
    status, _headers, content, _result = call(
        ChunkedBodyMiddleware(inner), wsgi_environ(body=body, transfer_encoding="gzip, chunked")
    )

    assert status == 400
    assert json.loads(content)["code"] == "malformed_body"
    assert body.bytes_read == 0 and not inner.calls


@pytest.mark.parametrize(
    "extra",
    [
        {"transfer_encoding": None},  # no Transfer-Encoding
        {"transfer_encoding": None, "CONTENT_LENGTH": "5"},
        {"CONTENT_LENGTH": "5"},  # both: BodyFramingMiddleware judges
    ],
)
def test_other_requests_pass_through_untouched(extra: dict[str, Any]) -> None:
    inner = RecordingApp()
    body = CountingInput(b"hello")
    environ = wsgi_environ(body=body, **extra)
    before = dict(environ)

    status, *_ = call(ChunkedBodyMiddleware(inner), environ)

    assert status == 200
    assert inner.calls[0] is environ and environ == before
    assert inner.body == (b"hello" if "CONTENT_LENGTH" in extra else b"")


def test_gunicorn_and_runserver_load_the_wrapper() -> None:
    # runserver serves get_internal_wsgi_application(): settings.WSGI_APPLICATION.
    application = get_internal_wsgi_application()
    assert isinstance(application, ChunkedBodyMiddleware)
    from chatadmin import wsgi

    assert isinstance(wsgi.application, ChunkedBodyMiddleware)


# --- the whole stack in process: chatadmin.wsgi.application --------------------------------


@contextlib.contextmanager
def connection_kept() -> Iterator[None]:
    """Keep the test's connection (and its transaction) across a WSGI call, as Django's
    test client does: the request signals would close it."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_through_the_wsgi_application_a_chunked_delete_acts_on_its_body(
    api: TokenClient, org: Organization, records: None
) -> None:
    from chatadmin.wsgi import application

    environ = wsgi_environ(
        RECORDS,
        CountingInput(json.dumps({"ruleIds": ["alpha"]}).encode()),
        method="DELETE",
        query="ruleIds[]=bravo",
        CONTENT_TYPE="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api.raw_token}",
    )
    with connection_kept():
        status, _headers, body, _result = call(application, environ)

    assert status == 200, body
    assert patterns(org) == {"bravo"}  # the body's record, not the query string's


def test_through_the_wsgi_application_a_chunked_avatar_is_set(
    api_token: MessengerClient, room: Channel
) -> None:
    from chatadmin.wsgi import application

    environ = wsgi_environ(
        f"/api/messenger/chatrooms/{room.pk}/avatar",
        CountingInput(image_bytes()),
        method="PUT",
        CONTENT_TYPE="image/png",
        HTTP_API_TOKEN=api_token.raw_token,
    )
    with connection_kept():
        status, _headers, body, _result = call(application, environ)

    assert status == 200, body
    assert json.loads(body)["avatarURL"]
    room.refresh_from_db()
    assert room.avatar
