"""The SSRF-safe HTTP client of outgoing webhooks (apps.core.egress): which URLs are
refused and why, which addresses are global (our table, whatever Python's ``ipaddress``
says), the allowlist, and real POSTs to local receivers: the checked address is the one
dialled, the URL's host is sent as ``Host`` and TLS SNI, no redirect is followed, no
environment proxy is used, the whole exchange is bounded in time and the body in size.

Every request goes to this machine (127.0.0.1); the private and public addresses below are
only ever checked, never dialled. Name resolution is faked where a test needs a name by
patching ``socket.getaddrinfo`` (the resolver is outside our code)."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import logging
import pickle
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from apps.core import egress
from apps.core.egress import EgressFailed, EgressRefused, Target, is_global_address, url_check

REAL_GETADDRINFO = socket.getaddrinfo


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def configure(settings) -> Callable[..., None]:
    """Set ``CHATADMIN`` keys for one test: configure(WEBHOOK_ALLOWLIST=[...])."""

    def apply(**values: object) -> None:
        settings.CHATADMIN = {**settings.CHATADMIN, **values}

    apply(WEBHOOK_ALLOWLIST=[])
    return apply


@pytest.fixture
def allow_local(configure) -> None:
    configure(WEBHOOK_ALLOWLIST=["127.0.0.1/32"])


class FakeDNS:
    """Answers for some names (a list of addresses, a function of the lookup number, or
    an exception); every other name goes to the real resolver."""

    def __init__(self) -> None:
        self.answers: dict[str, object] = {}
        self.lookups: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return REAL_GETADDRINFO(host, port, family, type, proto, flags)
        self.lookups.append(name)
        answer = self.answers[name]
        if isinstance(answer, BaseException):
            raise answer
        if callable(answer):
            answer = answer(self.lookups.count(name))
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, port or 0, 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port or 0))
            for a in answer
        ]


@pytest.fixture
def dns(monkeypatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


@pytest.fixture(scope="module")
def _receiver_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def receiver(_receiver_server: HTTPServer) -> Iterator[HTTPServer]:
    """A real HTTP server on 127.0.0.1 that records what it receives (cleared each test)."""
    _receiver_server.clear()
    yield _receiver_server
    _receiver_server.clear()


@pytest.fixture
def silent_listener() -> Iterator[socket.socket]:
    """A socket on 127.0.0.1 that accepts connections (in the kernel) and never answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=8)
    yield listener
    listener.close()


def _serve_once(handler: Callable[[socket.socket], None]) -> tuple[int, threading.Thread]:
    """A one-connection TCP server on 127.0.0.1 running ``handler`` in a thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def run() -> None:
        with listener:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                with contextlib.suppress(OSError):
                    handler(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


# --- url_check: refused -----------------------------------------------------------------

HOSTILE = [
    ("http://127.1", "address", "loopback-short-form"),
    ("http://[::ffff:127.0.0.1]", "address", "ipv4-mapped-loopback"),
    ("http://0x7f000001", "address", "hex-loopback"),
    ("http://2130706433", "address", "decimal-loopback"),
    ("http://0177.0.0.1", "address", "octal-loopback"),
    ("http://169.254.169.254/latest/meta-data", "address", "cloud-metadata-link-local"),
    ("http://[::1]", "address", "ipv6-loopback"),
    ("http://localhost", "address", "localhost-resolves-to-loopback"),
    ("http://10.0.0.1", "address", "private-10"),
    ("http://172.16.0.1", "address", "private-172-16"),
    ("http://192.168.1.1", "address", "private-192-168"),
    ("http://100.64.0.1", "address", "cgnat"),
    ("http://224.0.0.1", "address", "multicast"),
    ("http://240.0.0.1", "address", "reserved"),
    ("http://255.255.255.255", "address", "broadcast"),
    ("http://0.0.0.0", "address", "this-network"),
    ("http://[fe80::1]", "address", "ipv6-link-local"),
    ("http://[fe80::1%25eth0]", "address", "ipv6-link-local-with-zone"),
    ("http://[fc00::1]", "address", "ipv6-unique-local"),
    ("http://[64:ff9b::7f00:1]", "address", "nat64-of-loopback"),
    ("http://[2002:7f00:1::]", "address", "6to4-of-loopback"),
    # Teredo: client bits 80ff:fffe XOR ffff:ffff = 7f00:0001 (127.0.0.1); the server
    # 4136:e378 (65.54.227.120) is global, the client is not
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]", "address", "teredo-client-loopback"),
    ("http://[2001:0:a00:1:8000:63bf:f7f7:f7f7]", "address", "teredo-server-private"),
    ("http://[::127.0.0.1]", "address", "ipv4-compatible-loopback"),
    ("http://[ff02::1]", "address", "ipv6-multicast"),
    ("http://[::]", "address", "ipv6-unspecified"),
    ("http://192.0.0.9", "address", "ietf-protocol-assignment"),
    ("ftp://example.com", "scheme", "ftp-scheme"),
    ("file:///etc/passwd", "scheme", "file-scheme"),
    ("gopher://x", "scheme", "gopher-scheme"),
    ("//example.com/hook", "scheme", "no-scheme"),
    ("http://user:pass@example.com", "credentials", "user-and-password"),
    ("http://user@example.com", "credentials", "user-only"),
    ("http://example.com:0", "port", "port-zero"),
    ("http://example.com:65536", "port", "port-too-large"),
    ("http://example.com:http", "port", "port-not-a-number"),
    ("http://", "host", "no-host"),
    ("http://exa mple.com", "host", "space-in-host"),
    ("http://ex%61mple.com", "host", "percent-in-host"),
    ("http://example.com../", "host", "two-trailing-dots"),
    ("http://-example.com/", "host", "label-starts-with-hyphen"),
]


@pytest.mark.parametrize(
    ("url", "reason"), [(u, r) for u, r, _ in HOSTILE], ids=[i for _, _, i in HOSTILE]
)
def test_a_hostile_url_is_refused_with_its_reason(configure, url, reason) -> None:
    with pytest.raises(EgressRefused) as caught:
        url_check(url)

    assert caught.value.reason == reason
    assert caught.value.code == "url_not_allowed"
    assert str(caught.value) == caught.value.message and caught.value.message


@pytest.mark.parametrize(
    ("url", "reason"),
    [(u, r) for u, r, _ in HOSTILE if "localhost" not in u],
    ids=[i for u, _, i in HOSTILE if "localhost" not in u],
)
def test_a_hostile_url_is_refused_without_resolving_too(configure, dns, url, reason) -> None:
    with pytest.raises(EgressRefused) as caught:
        url_check(url, resolve=False)

    assert caught.value.reason == reason
    assert dns.lookups == []


def test_the_errors_survive_pickling() -> None:
    refused = pickle.loads(pickle.dumps(EgressRefused("port", "port 0 is not allowed")))
    failed = pickle.loads(pickle.dumps(EgressFailed("timeout", "too slow")))

    assert (refused.code, refused.reason, str(refused)) == (
        "url_not_allowed",
        "port",
        "port 0 is not allowed",
    )
    assert (failed.kind, failed.message) == ("timeout", "too slow")


def test_the_message_says_what_and_why(configure) -> None:
    with pytest.raises(
        EgressRefused, match=r"^127\.0\.0\.1 is a loopback address, not a public address$"
    ):
        url_check("http://127.0.0.1/")
    with pytest.raises(EgressRefused, match=r"0x7f000001 means 127\.0\.0\.1, a loopback"):
        url_check("http://0x7f000001/")
    with pytest.raises(EgressRefused, match=r"localhost resolves to .*loopback"):
        url_check("http://localhost/")
    with pytest.raises(EgressRefused, match=r"IPv4-mapped address of 169\.254\.169\.254"):
        url_check("http://[::ffff:169.254.169.254]/")


def test_a_name_refused_when_any_of_its_addresses_is_private(configure, dns) -> None:
    dns.answers["mixed.example"] = ["8.8.8.8", "10.0.0.1"]

    with pytest.raises(EgressRefused) as caught:
        url_check("https://mixed.example/hook")

    assert caught.value.reason == "address"
    assert "mixed.example resolves to 10.0.0.1" in caught.value.message


def test_a_name_that_does_not_resolve_is_refused_unless_that_is_ok(configure, dns) -> None:
    dns.answers["later.example"] = socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(EgressRefused) as caught:
        url_check("https://later.example/hook")

    assert caught.value.reason == "unresolvable"
    assert url_check("https://later.example/hook", unresolvable_ok=True) == []


def test_without_resolving_a_name_passes_the_syntax_check_only(configure, dns) -> None:
    assert url_check("https://hook.example/x", resolve=False) == []
    assert dns.lookups == []


# --- url_check: accepted ----------------------------------------------------------------


def test_global_literal_addresses_are_accepted(configure) -> None:
    assert url_check("http://8.8.8.8/hook") == [
        Target("http", "8.8.8.8", 80, "8.8.8.8", "8.8.8.8", "/hook")
    ]
    assert url_check("https://[2606:4700:4700::1111]:8443") == [
        Target(
            "https",
            "2606:4700:4700::1111",
            8443,
            "2606:4700:4700::1111",
            "[2606:4700:4700::1111]:8443",
            "/",
        )
    ]


def test_a_global_name_gives_one_target_per_distinct_address_in_order(configure, dns) -> None:
    dns.answers["public.example"] = ["2606:4700::6810:84e5", "93.184.215.14", "93.184.215.14"]

    targets = url_check("https://Public.Example:8443/hooks/1?a=b c#fragment")

    assert [t.address for t in targets] == ["2606:4700::6810:84e5", "93.184.215.14"]
    assert {(t.scheme, t.host, t.port, t.host_header, t.path) for t in targets} == {
        ("https", "public.example", 8443, "public.example:8443", "/hooks/1?a=b%20c")
    }


@pytest.mark.parametrize(
    ("url", "host_header", "path", "port"),
    [
        ("http://public.example", "public.example", "/", 80),
        ("https://public.example?x=1", "public.example", "/?x=1", 443),
        ("http://public.example:80/a/b", "public.example:80", "/a/b", 80),
        ("http://public.example./a", "public.example.", "/a", 80),
        ("http://public.example/caf\u00e9", "public.example", "/caf%C3%A9", 80),
    ],
    ids=["no-path", "query-only", "explicit-default-port", "trailing-dot", "non-ascii-path"],
)
def test_a_target_keeps_host_header_and_path_as_the_url_had_them(
    configure, dns, url, host_header, path, port
) -> None:
    dns.answers["public.example"] = ["93.184.215.14"]
    dns.answers["public.example."] = ["93.184.215.14"]

    (target,) = url_check(url)

    assert (target.host, target.host_header, target.path, target.port) == (
        "public.example",
        host_header,
        path,
        port,
    )


# --- is_global_address ------------------------------------------------------------------

ADDRESSES = [
    ("8.8.8.8", True),
    ("1.1.1.1", True),
    ("0.1.2.3", False),
    ("10.255.255.255", False),
    ("100.64.0.1", False),
    ("100.128.0.1", True),
    ("127.255.255.254", False),
    ("169.254.169.254", False),
    ("172.31.255.255", False),
    ("172.32.0.1", True),
    ("192.0.0.9", False),
    ("192.0.0.10", False),
    ("192.0.2.1", False),
    ("192.88.99.1", False),
    ("192.168.0.1", False),
    ("198.18.0.1", False),
    ("198.20.0.1", True),
    ("198.51.100.7", False),
    ("203.0.113.9", False),
    ("224.0.0.251", False),
    ("240.0.0.1", False),
    ("255.255.255.255", False),
    ("2606:4700:4700::1111", True),
    ("::", False),
    ("::1", False),
    ("fd12:3456::1", False),
    ("fe80::1", False),
    ("fec0::1", False),
    ("ff02::1", False),
    ("100::1", False),
    ("2001:db8::1", False),
    ("2001:10::1", False),
    ("2001:20::1", False),
    ("4000::1", False),  # outside 2000::/3: unassigned
    ("::ffff:8.8.8.8", True),
    ("::ffff:127.0.0.1", False),
    ("::ffff:192.0.0.9", False),
    ("::8.8.8.8", True),
    ("::10.0.0.1", False),
    ("64:ff9b::808:808", True),
    ("64:ff9b::a9fe:a9fe", False),
    ("64:ff9b:1::808:808", False),
    ("2002:808:808::1", True),
    ("2002:c0a8:101::1", False),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", True),  # server 65.54.227.120, client 8.8.8.8
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # client 127.0.0.1
    ("2001:0:a00:1:8000:63bf:f7f7:f7f7", False),  # server 10.0.0.1
    ("fe80::1%eth0", False),
    ("not an address", False),
]


@pytest.mark.parametrize(("address", "expected"), ADDRESSES, ids=[a for a, _ in ADDRESSES])
def test_is_global_address_follows_the_explicit_table(address, expected) -> None:
    assert is_global_address(address) is expected
    if address != "not an address":
        ip = ipaddress.ip_address(address)
        assert is_global_address(ip) is expected


def test_our_answers_do_not_depend_on_what_ipaddress_says(monkeypatch) -> None:
    """Python 3.12 and 3.13 disagree on e.g. 192.0.0.9 and ::ffff:8.8.8.8; ours are fixed.
    Turn ipaddress's own answers upside down: ours do not move."""
    before = {address: is_global_address(address) for address, _ in ADDRESSES}
    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        monkeypatch.setattr(cls, "is_private", property(lambda self: not is_global_address(self)))
        monkeypatch.setattr(cls, "is_global", property(lambda self: False))
        monkeypatch.setattr(cls, "is_loopback", property(lambda self: True))

    assert {address: is_global_address(address) for address, _ in ADDRESSES} == before
    assert is_global_address("192.0.0.9") is False
    assert is_global_address("::ffff:8.8.8.8") is True


# --- the allowlist ----------------------------------------------------------------------


def test_an_allowlisted_cidr_allows_its_addresses_only(configure) -> None:
    configure(WEBHOOK_ALLOWLIST=["127.0.0.1/32", "10.0.0.0/8"])

    assert [t.address for t in url_check("http://127.0.0.1:8080/")] == ["127.0.0.1"]
    assert [t.address for t in url_check("http://10.1.2.3/")] == ["10.1.2.3"]
    assert [t.address for t in url_check("http://[::ffff:10.1.2.3]/")] == ["::ffff:10.1.2.3"]
    for url in ("http://127.0.0.2/", "http://192.168.1.1/", "http://169.254.169.254/"):
        with pytest.raises(EgressRefused):
            url_check(url)


def test_a_bare_ip_in_the_allowlist_is_one_address(configure) -> None:
    configure(WEBHOOK_ALLOWLIST=["127.0.0.1", "::1"])

    assert url_check("http://127.0.0.1/")
    assert url_check("http://[::1]/")
    with pytest.raises(EgressRefused):
        url_check("http://127.0.0.2/")


def test_an_allowlisted_host_name_allows_that_name_only(configure, dns) -> None:
    configure(WEBHOOK_ALLOWLIST=["localhost", " Internal.Example. "])
    dns.answers["internal.example"] = ["10.0.0.5"]
    dns.answers["internal.example."] = ["10.0.0.6"]
    dns.answers["other.internal.example"] = ["10.0.0.5"]

    assert url_check("http://LocalHost:8000/")
    assert [t.address for t in url_check("http://internal.example/")] == ["10.0.0.5"]
    assert [t.address for t in url_check("http://INTERNAL.example./")] == ["10.0.0.6"]
    with pytest.raises(EgressRefused):
        url_check("http://other.internal.example/")
    with pytest.raises(EgressRefused):
        url_check("http://127.0.0.1/")  # the name, not what it resolves to


def test_without_an_allowlist_the_local_receiver_is_refused(configure) -> None:
    with pytest.raises(EgressRefused):
        url_check("http://127.0.0.1:8080/")


# --- post against real local receivers --------------------------------------------------


def test_post_delivers_body_and_headers(allow_local, receiver) -> None:
    receiver.expect_request("/hook", method="POST").respond_with_data(
        "thanks", status=202, headers={"X-Reply": "yes"}
    )

    response = egress.post(
        receiver.url_for("/hook?x=1"),
        b'{"event":"message"}',
        {"Content-Type": "application/json", "webhook-id": "msg_1"},
    )

    assert (response.status, response.body, response.truncated) == (202, b"thanks", False)
    assert response.headers["x-reply"] == "yes" and response.address == "127.0.0.1"
    assert 0 <= response.elapsed < 10
    (request, _), *_ = receiver.log
    assert request.get_data() == b'{"event":"message"}'
    assert request.query_string == b"x=1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_1"
    assert request.headers["Content-Length"] == "19"
    assert request.headers["User-Agent"] == "chatadmin-webhooks/1"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_the_callers_user_agent_wins_but_not_its_host(allow_local, receiver) -> None:
    receiver.expect_request("/hook").respond_with_data("ok")

    egress.post(receiver.url_for("/hook"), b"", {"User-Agent": "custom/2", "Host": "evil.test"})

    (request, _), *_ = receiver.log
    assert request.headers["User-Agent"] == "custom/2"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.port}"


def test_the_host_header_is_the_urls_host_not_the_address(allow_local, dns, receiver) -> None:
    dns.answers["hook.example"] = ["127.0.0.1"]
    receiver.expect_request("/hook").respond_with_data("ok")

    response = egress.post(f"http://hook.example:{receiver.port}/hook", b"{}", {})

    assert response.status == 200
    (request, _), *_ = receiver.log
    assert request.headers["Host"] == f"hook.example:{receiver.port}"


def test_post_dials_the_checked_address_with_one_lookup(allow_local, dns, receiver) -> None:
    """DNS rebinding: a second lookup would answer 127.0.0.2 (nothing listens there), so
    the request arrives only if the address checked is the address dialled."""
    dns.answers["rebind.example"] = lambda n: ["127.0.0.1"] if n == 1 else ["127.0.0.2"]
    receiver.expect_request("/hook").respond_with_data("ok")

    response = egress.post(f"http://rebind.example:{receiver.port}/hook", b"{}", {})

    assert response.status == 200 and response.address == "127.0.0.1"
    assert dns.lookups == ["rebind.example"]
    assert len(receiver.log) == 1


def test_an_address_that_refuses_is_passed_over_for_the_next_checked_one(
    configure, dns, receiver
) -> None:
    """A name with two addresses, the first one down (nothing listens on 127.0.0.2):
    the request goes to the second, still from the one lookup."""
    configure(WEBHOOK_ALLOWLIST=["127.0.0.0/8"])
    dns.answers["two.example"] = ["127.0.0.2", "127.0.0.1"]
    receiver.expect_request("/hook").respond_with_data("ok")

    response = egress.post(f"http://two.example:{receiver.port}/hook", b"{}", {})

    assert response.status == 200 and response.address == "127.0.0.1"
    assert dns.lookups == ["two.example"]
    assert len(receiver.log) == 1


def test_an_address_that_swallows_the_connection_leaves_time_for_the_next(
    configure, dns, receiver
) -> None:
    """The first address takes the connection attempt and never answers it (a listener
    on 127.0.0.2 whose one-place backlog is full: the kernel drops the next handshake).
    It gets its share of the time limit, not all of it: the second address still
    answers within the limit."""
    configure(WEBHOOK_ALLOWLIST=["127.0.0.0/8"], WEBHOOK_TIMEOUT_SECONDS=2.0)
    dns.answers["slow-first.example"] = ["127.0.0.2", "127.0.0.1"]
    receiver.expect_request("/hook").respond_with_data("ok")
    with socket.create_server(("127.0.0.2", receiver.port), backlog=0):
        queued = socket.create_connection(("127.0.0.2", receiver.port), timeout=1)
        try:
            response = egress.post(f"http://slow-first.example:{receiver.port}/hook", b"{}", {})
        finally:
            queued.close()

    assert response.status == 200 and response.address == "127.0.0.1"
    assert len(receiver.log) == 1


def test_when_no_address_takes_the_connection_it_is_one_connect_failure(configure, dns) -> None:
    configure(WEBHOOK_ALLOWLIST=["127.0.0.0/8"])
    dns.answers["down.example"] = ["127.0.0.2", "127.0.0.3"]
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"http://down.example:{port}/hook", b"{}", {})

    assert caught.value.kind == "connect"
    assert dns.lookups == ["down.example"]


def test_an_address_that_took_the_request_is_never_followed_by_the_next(configure, dns) -> None:
    """Once connected, the request may have been received: a failure then (here a reply
    that is not HTTP) is the answer, never a second send to the next address."""

    def garbage(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    configure(WEBHOOK_ALLOWLIST=["127.0.0.0/8"])
    port, thread = _serve_once(garbage)
    dns.answers["one-try.example"] = ["127.0.0.1", "127.0.0.2"]
    with socket.create_server(("127.0.0.2", port)) as second:
        second.setblocking(False)

        with pytest.raises(EgressFailed) as caught:
            egress.post(f"http://one-try.example:{port}/hook", b"{}", {})

        assert caught.value.kind == "protocol"
        with pytest.raises(BlockingIOError):
            second.accept()  # nobody knocked
    thread.join(5)


def test_a_redirect_comes_back_and_is_not_followed(allow_local, receiver) -> None:
    elsewhere = HTTPServer(host="127.0.0.1", port=0)
    elsewhere.start()
    try:
        elsewhere.expect_request("/latest/meta-data").respond_with_data("secret")
        receiver.expect_request("/hook").respond_with_response(
            Response(status=302, headers={"Location": elsewhere.url_for("/latest/meta-data")})
        )

        response = egress.post(receiver.url_for("/hook"), b"{}", {})

        assert response.status == 302
        assert response.headers["location"] == elsewhere.url_for("/latest/meta-data")
        assert elsewhere.log == []
    finally:
        elsewhere.stop()


def test_a_redirect_to_the_metadata_address_is_returned_as_is(allow_local, receiver) -> None:
    receiver.expect_request("/hook").respond_with_response(
        Response(status=307, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    )

    response = egress.post(receiver.url_for("/hook"), b"{}", {})

    assert response.status == 307
    assert response.headers["location"] == "http://169.254.169.254/latest/meta-data"


def test_the_response_body_is_capped_and_marked_truncated(allow_local, configure, receiver) -> None:
    configure(WEBHOOK_ALLOWLIST=["127.0.0.1/32"], WEBHOOK_RESPONSE_MAX_BYTES=10)
    receiver.expect_request("/big").respond_with_data("x" * 100_000)
    receiver.expect_request("/exact").respond_with_data("y" * 10)

    big = egress.post(receiver.url_for("/big"), b"{}", {})
    exact = egress.post(receiver.url_for("/exact"), b"{}", {})
    again = egress.post(receiver.url_for("/exact"), b"{}", {})  # the pool still works

    assert (big.body, big.truncated) == (b"x" * 10, True)
    assert (exact.body, exact.truncated) == (b"y" * 10, False)
    assert again.body == b"y" * 10


def test_a_receiver_that_never_answers_times_out_within_the_budget(
    configure, silent_listener
) -> None:
    configure(WEBHOOK_ALLOWLIST=["127.0.0.1/32"], WEBHOOK_TIMEOUT_SECONDS=1)
    port = silent_listener.getsockname()[1]
    started = time.monotonic()

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"http://127.0.0.1:{port}/hook", b"{}", {})

    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 10


def _drip(prefix: bytes) -> Callable[[socket.socket], None]:
    """A receiver that sends ``prefix`` and then one byte every 0.1 s (at most 30 s)."""

    def handler(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(prefix)
        for _ in range(300):
            conn.sendall(b"a")
            time.sleep(0.1)

    return handler


@pytest.mark.parametrize(
    "prefix",
    [b"HTTP/1.1 200 OK\r\nX-Slow: ", b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"],
    ids=["dripping-headers", "dripping-body"],
)
def test_a_receiver_that_drips_is_cut_at_the_deadline(configure, prefix) -> None:
    configure(
        WEBHOOK_ALLOWLIST=["127.0.0.1/32"],
        WEBHOOK_TIMEOUT_SECONDS=1,
        WEBHOOK_RESPONSE_MAX_BYTES=1_000_000,
    )
    port, _ = _serve_once(_drip(prefix))
    started = time.monotonic()

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"http://127.0.0.1:{port}/hook", b"{}", {})

    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_silent_receiver_times_out_whatever_the_scheme(
    configure, silent_listener, scheme
) -> None:
    configure(WEBHOOK_ALLOWLIST=["127.0.0.1/32"], WEBHOOK_TIMEOUT_SECONDS=0.5)
    port = silent_listener.getsockname()[1]

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"{scheme}://127.0.0.1:{port}/hook", b"{}", {})

    assert caught.value.kind == "timeout"


def test_environment_proxies_are_ignored(allow_local, monkeypatch, receiver) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    receiver.expect_request("/hook").respond_with_data("ok")

    response = egress.post(receiver.url_for("/hook"), b"{}", {})

    assert response.status == 200
    assert len(receiver.log) == 1


def test_a_refused_url_never_connects(configure, receiver) -> None:
    receiver.expect_request("/hook").respond_with_data("ok")

    with pytest.raises(EgressRefused):
        egress.post(receiver.url_for("/hook"), b"{}", {})

    assert receiver.log == []


def test_a_body_over_one_mebibyte_is_not_sent(allow_local, receiver) -> None:
    receiver.expect_request("/hook").respond_with_data("ok")

    with pytest.raises(EgressFailed) as caught:
        egress.post(receiver.url_for("/hook"), b"x" * (1024 * 1024 + 1), {})

    assert caught.value.kind == "too_large_request"
    assert receiver.log == []
    assert egress.post(receiver.url_for("/hook"), b"x" * (1024 * 1024), {}).status == 200


def test_a_closed_port_is_a_connect_failure(allow_local) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again when the block ends

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"http://127.0.0.1:{port}/hook", b"{}", {})

    assert caught.value.kind == "connect"


def test_a_receiver_that_does_not_speak_http_is_a_protocol_failure(allow_local) -> None:
    def garbage(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    port, thread = _serve_once(garbage)

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"http://127.0.0.1:{port}/hook", b"{}", {})

    assert caught.value.kind == "protocol"
    thread.join(10)


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Evil": "a\r\nHost: other"},
        {"X-Evil": "a\n"},
        {"X Evil": "a"},
        {"X-Evil\n": "a"},
        {"X-Emoji": "\U0001f600"},
    ],
    ids=["crlf-in-value", "newline-at-end", "space-in-name", "newline-in-name", "not-latin-1"],
)
def test_a_header_http_cannot_carry_is_not_sent(allow_local, receiver, headers) -> None:
    with pytest.raises(EgressFailed) as caught:
        egress.post(receiver.url_for("/hook"), b"{}", headers)

    assert caught.value.kind == "protocol"
    assert receiver.log == []


def test_posts_from_several_threads_at_once_all_arrive(allow_local, receiver) -> None:
    receiver.expect_request("/hook").respond_with_data("ok")
    results: list[int] = []
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            results.append(egress.post(receiver.url_for("/hook"), b"%d" % n, {}).status)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == [] and results == [200] * 12
    assert sorted(int(request.get_data()) for request, _ in receiver.log) == list(range(12))


def test_nothing_secret_is_logged(allow_local, caplog, receiver) -> None:
    receiver.expect_request("/hooks/s3cr3t-path").respond_with_data("ok")
    caplog.set_level(logging.DEBUG)

    egress.post(
        receiver.url_for("/hooks/s3cr3t-path?token=t0ken"),
        b'{"password":"b0dy"}',
        {"Authorization": "Bearer h3ader"},
    )

    ours = [r for r in caplog.records if r.name.split(".")[0] in ("urllib3", "apps")]
    assert any(r.name == "urllib3.connectionpool" for r in ours)  # it did log the request
    text = "\n".join(r.getMessage() for r in ours)
    for secret in ("s3cr3t", "t0ken", "b0dy", "h3ader"):
        assert secret not in text


# --- https ------------------------------------------------------------------------------


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) for ``name`` and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_context(cert: Path, key: Path, seen: list[str | None]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, server_name, _context: seen.append(server_name)
    return context


def test_an_untrusted_certificate_is_a_tls_failure_and_sni_is_the_host(
    allow_local, dns, tmp_path
) -> None:
    dns.answers["hook.example"] = ["127.0.0.1"]
    seen: list[str | None] = []
    context = _server_context(*_certificate(tmp_path, "hook.example"), seen)

    def handshake(conn: socket.socket) -> None:
        with contextlib.suppress(ssl.SSLError):
            context.wrap_socket(conn, server_side=True).close()

    port, thread = _serve_once(handshake)

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"https://hook.example:{port}/hook", b"{}", {})

    thread.join(10)
    assert caught.value.kind == "tls"
    assert seen == ["hook.example"]


def test_https_checks_the_certificate_against_the_urls_host(
    allow_local, dns, monkeypatch, tmp_path
) -> None:
    """Trusted through the system store's SSL_CERT_FILE: a certificate for hook.example
    is accepted on the address checked; the same server under another name is not."""
    dns.answers["hook.example"] = ["127.0.0.1"]
    dns.answers["other.example"] = ["127.0.0.1"]
    cert, key = _certificate(tmp_path, "hook.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    seen: list[str | None] = []
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=_server_context(cert, key, seen))
    server.start()
    try:
        server.expect_request("/hook").respond_with_data("ok")

        response = egress.post(f"https://hook.example:{server.port}/hook", b"{}", {})
        with pytest.raises(EgressFailed) as caught:
            egress.post(f"https://other.example:{server.port}/hook", b"{}", {})

        assert response.status == 200 and response.body == b"ok"
        assert caught.value.kind == "tls"
        assert seen == ["hook.example", "other.example"]
        (request, _), *_ = server.log
        assert request.headers["Host"] == f"hook.example:{server.port}"
    finally:
        server.stop()


def test_a_receiver_that_drips_over_tls_is_cut_at_the_deadline(
    configure, dns, monkeypatch, tmp_path
) -> None:
    configure(
        WEBHOOK_ALLOWLIST=["127.0.0.1/32"],
        WEBHOOK_TIMEOUT_SECONDS=1,
        WEBHOOK_RESPONSE_MAX_BYTES=1_000_000,
    )
    dns.answers["hook.example"] = ["127.0.0.1"]
    cert, key = _certificate(tmp_path, "hook.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = _server_context(cert, key, [])
    drip = _drip(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")

    def handler(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as tls:
            drip(tls)

    port, _ = _serve_once(handler)
    started = time.monotonic()

    with pytest.raises(EgressFailed) as caught:
        egress.post(f"https://hook.example:{port}/hook", b"{}", {})

    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 10
