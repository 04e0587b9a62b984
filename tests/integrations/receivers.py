"""Real local HTTP receivers for the outgoing-webhook tests: servers on 127.0.0.1 in
threads of the test process, never mocks of our code.

- :class:`Receiver`: an HTTP/1.1 server (keep-alive, threaded) that records every request
  (:class:`Seen`: method, path, lower-case headers, raw body) and answers from a queue of
  :class:`Answer` values, then with its default answer. An answer may also be a callable
  ``Seen -> Answer`` (e.g. :func:`echo`).
- :class:`Silent`: a socket that accepts connections, reads the requests and never answers
  (a hung endpoint); it counts the requests and the most connections it held at once.
- :class:`Receivers`: owns the servers of one test and stops them all at its end; a test
  module wraps it in a fixture::

      @pytest.fixture
      def receivers(settings):
          allow_local(settings)
          with Receivers() as pool:
              yield pool

      def test_x(receivers):
          hook = receivers.http(Answer(201))
          ...  # deliver to hook.url
          [request] = hook.requests

- :func:`allow_local`: the ``WEBHOOK_ALLOWLIST`` that lets deliveries reach 127.0.0.1
  (apps.core.egress refuses loopback otherwise).
- :func:`outgoing_hook`: a messaging API outgoing webhook to some URLs (it follows
  ``WEBHOOK_RETRY_SCHEDULE``), made through the service.

Nothing here sleeps as an assertion: :meth:`Receiver.wait_for_requests` waits on a
condition with a bounded timeout.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from apps.audit.actor import Actor
from apps.integrations.models import Integration
from apps.integrations.services.integrations import integration_create
from apps.organizations.models import Organization
from tests.factories import OrganizationFactory

#: How long :meth:`Receiver.wait_for_requests` waits by default.
WAIT_SECONDS = 10.0


def allow_local(settings: Any, *extra: str) -> None:
    """Let deliveries reach local receivers: ``settings`` is pytest-django's fixture."""
    settings.CHATADMIN = {
        **settings.CHATADMIN,
        "WEBHOOK_ALLOWLIST": ["127.0.0.1/32", *extra],
    }


def outgoing_hook(*urls: str, org: Organization | None = None, **fields: Any) -> Integration:
    """A messaging API outgoing webhook to ``urls`` (it follows WEBHOOK_RETRY_SCHEDULE),
    of ``org`` or a new organization; the URLs must be allowed (:func:`allow_local`)."""
    return integration_create(
        organization=org or OrganizationFactory(),
        actor=Actor.system(),
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.OUTGOING,
        name="hook",
        urls=list(urls),
        **fields,
    ).integration


@dataclass(frozen=True)
class Seen:
    """One request a receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Answer:
    """What a receiver answers: a status, headers, a body (str is sent as UTF-8)."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, value: Any, **headers: str) -> Answer:
        return cls(status, json.dumps(value), {"Content-Type": "application/json", **headers})


Script = Answer | Callable[[Seen], Answer]


def echo(seen: Seen) -> Answer:
    """Answer 200 with the request's own body (an endpoint that echoes what it got)."""
    return Answer(200, seen.body, {"Content-Type": "application/json"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: Receiver) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.owner._lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-answer (a capped read, a timeout): expected here

    def shutdown_request(self, request: Any) -> None:
        with self.owner._lock:
            self.connections.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        answer = self.server.owner._record(seen)
        payload = answer.body.encode() if isinstance(answer.body, str) else answer.body
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_PUT = do_DELETE = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet


class Receiver:
    """A local HTTP server that records requests and answers from a script (see the
    module docstring). ``url`` is ``http://127.0.0.1:<port>/hook``."""

    def __init__(self, *answers: Script, default: Script | None = None) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._queue: list[Script] = list(answers)
        self.default: Script = default if default is not None else Answer(200)
        self.requests: list[Seen] = []
        self._server = _Server(self)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, *answers: Script) -> None:
        """Queue answers for the next requests (then the default answers again)."""
        with self._lock:
            self._queue.extend(answers)

    def _record(self, seen: Seen) -> Answer:
        with self._lock:
            self.requests.append(seen)
            script = self._queue.pop(0) if self._queue else self.default
            self._arrived.notify_all()
        return script(seen) if callable(script) else script

    def wait_for_requests(self, count: int, timeout: float = WAIT_SECONDS) -> list[Seen]:
        """The requests once at least ``count`` arrived (AssertionError after ``timeout``)."""
        with self._lock:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} requests arrived, not {count}")
            return list(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        with self._lock:
            open_connections = list(self._server.connections)
        for conn in open_connections:  # keep-alive connections the client still holds
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)


class Silent:
    """A socket that accepts connections and never answers (a hung endpoint).

    ``requests`` counts the request heads it read; ``most_open`` is the most connections
    it held open at once (a closed connection is seen when its reader notices, a moment
    after the client gave up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])
        self.requests = 0
        self.open = 0
        self.most_open = 0
        self._conns: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                self.open += 1
                self.most_open = max(self.most_open, self.open)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        # one request per connection: a client waits for an answer that never comes
        buffer = b""
        counted = False
        try:
            while chunk := conn.recv(65536):
                if not counted:
                    buffer += chunk
                    if b"\r\n\r\n" in buffer:
                        counted = True
                        with self._lock:
                            self.requests += 1
        except OSError:
            pass
        finally:
            with self._lock:
                self.open -= 1

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()


class Receivers:
    """The receivers of one test, stopped together (a context manager)."""

    def __init__(self) -> None:
        self._servers: list[Receiver | Silent] = []

    def http(self, *answers: Script, default: Script | None = None) -> Receiver:
        """A new :class:`Receiver` answering ``answers`` in order, then ``default``
        (200 with no body unless given)."""
        server = Receiver(*answers, default=default)
        self._servers.append(server)
        return server

    def silent(self) -> Silent:
        """A new :class:`Silent` endpoint."""
        server = Silent()
        self._servers.append(server)
        return server

    def __enter__(self) -> Receivers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()
