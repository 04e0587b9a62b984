"""Outgoing HTTP to URLs that organization admins configure (outgoing webhooks), safely.

An admin who can type a URL must not make this server reach what only it can reach
(SSRF): loopback services, the cloud metadata endpoint (169.254.169.254), the private
network. So a URL is checked before every request, and the request goes to the very
address that was checked:

* :func:`url_check` allows only ``http``/``https`` URLs without credentials, with a port
  in 1-65535 and a host. A literal IP host, in any spelling the resolver accepts
  (``127.1``, ``0x7f000001``, ``[::ffff:127.0.0.1]``), is the address it means. A name
  is resolved (every family) and refused if ANY of its addresses is not global.
* :func:`is_global_address` decides "global" from an explicit table (never from
  ``ipaddress``'s ``is_private``/``is_global`` alone: their answers changed between
  Python 3.12 and 3.13), and looks inside the IPv6 forms that embed an IPv4 address
  (mapped, compatible, NAT64, 6to4, Teredo).
* ``CHATADMIN["WEBHOOK_ALLOWLIST"]`` names hosts and CIDRs allowed although not global
  (a self-hoster's internal services, and tests).
* :func:`post` checks again, connects to the checked addresses themselves, in order, the
  next only when no connection could be made to the one before (no second DNS lookup
  that a rebinding name could answer differently), sends the URL's host as
  ``Host``, TLS SNI and the name the certificate must carry, never follows redirects,
  never uses a proxy from the environment, bounds the whole exchange by
  ``CHATADMIN["WEBHOOK_TIMEOUT_SECONDS"]`` and reads at most
  ``CHATADMIN["WEBHOOK_RESPONSE_MAX_BYTES"]`` of the response body.

Nothing secret is logged: at most the host and the status, at DEBUG.
See docs/api/outgoing-webhooks-egress.md.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import ipaddress
import itertools
import logging
import math
import os
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, quote, urlsplit

import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError

logger = logging.getLogger(__name__)

#: The largest request body :func:`post` sends (callers keep webhook payloads small).
MAX_REQUEST_BYTES = 1024 * 1024
#: ``User-Agent`` of every request unless the caller gives one.
USER_AGENT = "chatadmin-webhooks/1"
#: Keep-alive pools kept at once (least recently used dropped first), connections per pool.
POOL_CACHE_SIZE = 256
POOL_MAXSIZE = 4

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(Exception):
    """The URL may not be requested. ``code`` is always ``"url_not_allowed"`` (the
    DomainError code callers raise); ``reason`` is one of ``"scheme"``,
    ``"credentials"``, ``"port"``, ``"host"``, ``"address"``, ``"unresolvable"``;
    ``message`` (also ``str(exc)``) says what and why."""

    code = "url_not_allowed"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (a Celery result, a log record)
        return (type(self), (self.reason, self.message))


class EgressFailed(Exception):
    """The request was allowed but produced no response. ``kind`` is one of
    ``"timeout"``, ``"connect"``, ``"tls"``, ``"protocol"``, ``"too_large_request"``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.kind, self.message))


@dataclass(frozen=True)
class Target:
    """One checked destination of a URL.

    ``host`` is the URL's host in its ASCII form, lower-case, without brackets or a
    trailing dot (for a literal IP host: the address it means); ``address`` is the IP
    connected to; ``host_header`` is ``host`` or ``host:port`` as the URL had it (IPv6
    bracketed); ``path`` is path and query (``/`` when empty), never the fragment."""

    scheme: str
    host: str
    port: int
    address: str
    host_header: str
    path: str


@dataclass(frozen=True)
class EgressResponse:
    """What came back: ``headers`` with lower-case names, ``body`` at most
    ``WEBHOOK_RESPONSE_MAX_BYTES`` (``truncated`` when there was more), ``elapsed``
    seconds of the whole call, ``address`` the IP it went to."""

    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    elapsed: float
    address: str


# --- which addresses are global ---------------------------------------------------------


def _networks(rows: list[tuple[str, str]]) -> list[tuple[Any, str]]:
    return [(ipaddress.ip_network(cidr), label) for cidr, label in rows]


_PRIVATE = "a private address"
_DOCUMENTATION = "a documentation address"

#: IPv4 networks that are not global (the first match names the reason).
_NON_GLOBAL_V4 = _networks(
    [
        ("255.255.255.255/32", "the broadcast address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", _PRIVATE),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", _PRIVATE),
        ("192.0.0.0/24", "an IETF protocol assignment address"),
        ("192.0.2.0/24", _DOCUMENTATION),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", _PRIVATE),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", _DOCUMENTATION),
        ("203.0.113.0/24", _DOCUMENTATION),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),
    ]
)

#: IPv6 networks that are not global, besides the IPv4-embedding forms below.
_NON_GLOBAL_V6 = _networks(
    [
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("fc00::/7", "a unique local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
        ("100::/64", "a discard-only address"),
        ("2001:db8::/32", _DOCUMENTATION),
        ("3fff::/20", _DOCUMENTATION),
        ("2001:10::/28", "an ORCHID address"),
        ("2001:20::/28", "an ORCHIDv2 address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ]
)

_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def _v4(bits: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(bits & 0xFFFFFFFF)


def _embedded(ip: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the name of the form."""
    bits = int(ip)
    if ip in _MAPPED:
        return [("an IPv4-mapped address of", _v4(bits))]
    if ip in _COMPATIBLE:
        return [("an IPv4-compatible address of", _v4(bits))]
    if ip in _NAT64:
        return [("a NAT64 address of", _v4(bits))]
    if ip in _SIX_TO_FOUR:
        return [("a 6to4 address of", _v4(bits >> 80))]
    if ip in _TEREDO:
        return [
            ("a Teredo address of the server", _v4(bits >> 64)),
            ("a Teredo address of the client", _v4(bits ^ 0xFFFFFFFF)),
        ]
    return []


def _as_ip(address: str | IPAddress) -> IPAddress | None:
    if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        ip = address
    else:
        text = str(address).strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])  # no IPv6 zone
        except ValueError:
            return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(int(ip))
    return ip


def non_global_reason(address: str | IPAddress) -> str | None:
    """Why ``address`` is not global (e.g. ``"a loopback address"``), or None if it is.
    A string that is not an IP address is "not an IP address"."""
    ip = _as_ip(address)
    if ip is None:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv4Address):
        for network, label in _NON_GLOBAL_V4:
            if ip in network:
                return label
        return None
    for network, label in _NON_GLOBAL_V6:
        if ip in network:
            return label
    for form, inner in _embedded(ip):
        reason = non_global_reason(inner)
        if reason is not None:
            return f"{form} {inner}, {reason}"
    if _embedded(ip) or ip in _GLOBAL_UNICAST:
        return None
    return "an unassigned (reserved) address"


def is_global_address(address: str | IPAddress) -> bool:
    """Whether ``address`` may be reached from the public internet, by our explicit
    table (not ``ipaddress``'s version-dependent answers). An IPv6 form that embeds an
    IPv4 address is global only if every embedded address is. A string that is not an IP
    address is not global."""
    return non_global_reason(address) is None


# --- the allowlist ----------------------------------------------------------------------


def _config() -> Mapping[str, Any]:
    return getattr(settings, "CHATADMIN", {}) or {}


def _allowlist() -> tuple[set[str], list[Any]]:
    """The allowlisted host names (lower-case, no trailing dot) and networks."""
    entries = _config().get("WEBHOOK_ALLOWLIST") or []
    if isinstance(entries, str):
        entries = entries.split(",")
    names: set[str] = set()
    networks: list[Any] = []
    for entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text.strip("[]"), strict=False))
        except ValueError:
            names.add(text.lower().rstrip("."))
    return names, networks


def _allowlisted(ip: IPAddress, networks: list[Any]) -> bool:
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(
        candidate.version == network.version and candidate in network
        for candidate in candidates
        for network in networks
    )


# --- url_check --------------------------------------------------------------------------

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_NAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*\Z")
_NOT_IN_TARGET = re.compile(r"[^\x21-\x7e]")


def _quote_target(text: str) -> str:
    """Percent-encode what may not stand in a request line (controls, space, non-ASCII);
    leave everything else exactly as the URL had it."""
    return _NOT_IN_TARGET.sub(lambda match: quote(match.group(), safe=""), text)


def _literal_ip(host: str) -> IPAddress | None:
    """The address a literal host means, in any spelling the resolver accepts."""
    if ":" in host:
        return _as_ip(host)
    try:
        packed = socket.inet_aton(host)  # 127.1, 0x7f000001, 2130706433, 0177.0.0.1
    except (OSError, ValueError):
        return None
    return ipaddress.IPv4Address(packed)


def _split(url: str) -> SplitResult:
    if not isinstance(url, str):
        raise TypeError("url must be a str")
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise EgressRefused("host", f"{url!r} is not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        shown = parts.scheme or "no scheme"
        raise EgressRefused("scheme", f"the scheme {shown} is not allowed: only http and https")
    if "@" in parts.netloc:
        raise EgressRefused("credentials", "a URL with user name or password is not allowed")
    return parts


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise EgressRefused("port", f"the port of {parts.netloc!r} is not valid") from exc
    if port is None:
        return 443 if parts.scheme == "https" else 80
    if not 1 <= port <= 65535:
        raise EgressRefused("port", f"port {port} is not allowed (1-65535)")
    return port


def _host(parts: SplitResult) -> tuple[str, IPAddress | None]:
    """The ASCII, lower-case host (no brackets) and, for a literal, the IP it means."""
    raw = parts.hostname or ""
    if not raw:
        raise EgressRefused("host", "the URL has no host")
    if parts.netloc.rpartition("@")[2].startswith("["):
        ip = _as_ip(raw)
        if ip is None or ip.version != 6:
            raise EgressRefused("host", f"[{raw}] is not an IPv6 address")
        return str(ip), ip
    try:
        host = raw.encode("idna").decode("ascii").lower() if not raw.isascii() else raw
    except UnicodeError as exc:
        raise EgressRefused("host", f"{raw!r} is not a valid host name") from exc
    if not _NAME.match(host.removesuffix(".")):
        raise EgressRefused("host", f"{raw!r} is not a valid host name")
    ip = _literal_ip(host)
    return host, ip


def _refuse_address(shown: str, ip: IPAddress, reason: str, *, resolved: bool) -> EgressRefused:
    if resolved:
        what = f"{shown} resolves to {ip}, {reason}"
    elif shown.strip("[]") != str(ip):
        what = f"{shown} means {ip}, {reason}"
    else:
        what = f"{ip} is {reason}"
    return EgressRefused("address", f"{what}, not a public address")


def _resolve(name: str, port: int) -> list[IPAddress]:
    """Every address ``name`` resolves to (every family), distinct, in resolver order."""
    try:
        infos = socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise EgressRefused("unresolvable", f"{name} does not resolve") from exc
    found: list[IPAddress] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        ip = _as_ip(sockaddr[0])
        if ip is not None and ip not in found:
            found.append(ip)
    if not found:
        raise EgressRefused("unresolvable", f"{name} does not resolve to an IP address")
    return found


def url_check(url: str, *, resolve: bool = True, unresolvable_ok: bool = False) -> list[Target]:
    """Check ``url`` and return one :class:`Target` per distinct address (resolver order).

    Raises :class:`EgressRefused`. ``resolve=False`` checks the syntax and a literal IP
    host only (a name then gives ``[]``). ``unresolvable_ok=True`` returns ``[]`` for a
    name that does not resolve (a name may appear later; every delivery checks again).
    """
    parts = _split(url)
    port = _port(parts)
    host, literal = _host(parts)
    names, networks = _allowlist()
    bare = host.removesuffix(".")
    explicit_port = parts.port is not None
    shown_host = f"[{host}]" if ":" in host else host
    host_header = f"{shown_host}:{port}" if explicit_port else shown_host
    path = _quote_target(parts.path or "/") + (
        f"?{_quote_target(parts.query)}" if parts.query else ""
    )
    if not path.startswith("/"):
        path = "/" + path

    def target(ip: IPAddress) -> Target:
        return Target(
            scheme=parts.scheme,
            host=str(literal) if literal is not None else bare,
            port=port,
            address=str(ip),
            host_header=host_header,
            path=path,
        )

    if literal is not None:
        reason = non_global_reason(literal)
        if reason is not None and not _allowlisted(literal, networks):
            raise _refuse_address(host, literal, reason, resolved=False)
        return [target(literal)]
    if not resolve:
        return []
    try:
        addresses = _resolve(host, port)
    except EgressRefused:
        if unresolvable_ok:
            return []
        raise
    if bare not in names:
        for ip in addresses:
            reason = non_global_reason(ip)
            if reason is not None and not _allowlisted(ip, networks):
                raise _refuse_address(bare, ip, reason, resolved=True)
    return [target(ip) for ip in addresses]


# --- post -------------------------------------------------------------------------------


class _Deadline:
    """The end of one :func:`post`. When it passes, the process's watcher thread
    (:class:`_Watcher`) shuts the connection's socket down, so no blocked read (a receiver
    that drips its headers or body byte by byte) outlives it; each socket operation is
    also bounded by the remaining time."""

    def __init__(self, at: float) -> None:
        self.at = at
        self._lock = threading.Lock()
        self._conn: Any = None
        self._socks: list[socket.socket] = []
        self._fired = False
        self.done = False

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def start(self) -> None:
        _watcher.watch(self)

    def attach(self, conn: Any, sock: socket.socket | None = None) -> None:
        """Called by the connection when it opens its socket (``sock``), is about to
        send, and is about to read the response: its socket then too, as a response that
        closes the connection reads on after the connection forgot the socket."""
        sock = sock if sock is not None else getattr(conn, "sock", None)
        with self._lock:
            self._conn = conn
            if sock is not None and sock not in self._socks:
                self._socks.append(sock)
            fired = self._fired
        if fired:
            self._cut()

    def fire(self) -> None:
        """The deadline passed (the watcher calls this): cut the exchange unless it ended."""
        with self._lock:
            if self.done:
                return
            self._fired = True
        self._cut()

    def _cut(self) -> None:
        with self._lock:
            socks = [*self._socks, getattr(self._conn, "sock", None)]
        for sock in socks:
            if sock is not None:
                # the plain socket's shutdown, also under TLS: it wakes a blocked recv at
                # once and leaves the SSL object alone (its reader is in another thread)
                with contextlib.suppress(OSError, ValueError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def finish(self) -> bool:
        """End the exchange (the watcher forgets it); whether the deadline passed (the
        exchange was cut)."""
        with self._lock:
            self.done = True
            fired = self._fired
            self._conn, self._socks = None, []
        return fired or self.remaining() <= 0


class _Watcher:
    """One thread per process that fires every :func:`post`'s deadline: a heap of
    deadlines and a condition variable (a ``threading.Timer`` per request cost half of a
    request's CPU: a thread started and stopped each time). Started at the first request;
    a forked child makes its own (:func:`_clear_pools`)."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()  # ties: first come, first fired
        self._thread: threading.Thread | None = None
        #: when the thread wakes next by itself (it is woken sooner only for an earlier
        #: deadline: a notify per request would cost a thread switch per request)
        self._wakes_at = math.inf

    def watch(self, deadline: _Deadline) -> None:
        with self._changed:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="egress-deadlines", daemon=True
                )
                self._thread.start()
            self._forget_done()
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if deadline.at < self._wakes_at:
                self._changed.notify()

    def _forget_done(self) -> None:
        """Drop the finished deadlines at the front. Requests mostly end in the order
        they started, so the heap stays about as large as the requests in flight (behind
        a request that hangs, those that ended wait for it: at most a timeout's worth)."""
        while self._heap and self._heap[0][2].done:
            heapq.heappop(self._heap)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._forget_done()
                self._wakes_at = self._heap[0][0] if self._heap else math.inf
                wait_for = self._wakes_at - time.monotonic()
                if wait_for > 0:
                    self._changed.wait(None if self._wakes_at == math.inf else wait_for)
                    continue
                _, _, passed = heapq.heappop(self._heap)
            try:
                passed.fire()
            except Exception:  # the watcher must outlive any one request
                logger.exception("cutting a request at its deadline failed")


_watcher = _Watcher()
_local = threading.local()


class _Guarded:
    """Registers the connection with the current :func:`post`'s deadline."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        _attach(self, sock)  # before the TLS handshake, which the deadline bounds too
        return sock

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _attach(self)
        return super().getresponse(*args, **kwargs)  # type: ignore[misc]


def _attach(conn: Any, sock: socket.socket | None = None) -> None:
    deadline = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.attach(conn, sock)


class _HTTPConnection(_Guarded, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_Guarded, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_pools: OrderedDict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = OrderedDict()
_pools_lock = threading.Lock()


def _clear_pools() -> None:
    """Forget every pool (a forked child must not share its parent's sockets) and the
    deadline watcher (its thread is not in the child)."""
    global _pools_lock, _watcher
    _pools_lock = threading.Lock()
    _pools.clear()
    _watcher = _Watcher()


os.register_at_fork(after_in_child=_clear_pools)


def _new_pool(target: Target) -> urllib3.HTTPConnectionPool:
    common: dict[str, Any] = {"maxsize": POOL_MAXSIZE, "block": False, "retries": False}
    if target.scheme == "http":
        return _HTTPPool(target.address, target.port, **common)
    # the system's CA store (SSL_CERT_FILE / SSL_CERT_DIR are honoured); the URL's host
    # is the SNI and the name the certificate must carry, whatever address we dial
    return _HTTPSPool(
        target.address,
        target.port,
        server_hostname=target.host,
        assert_hostname=target.host,
        cert_reqs="CERT_REQUIRED",
        ssl_context=ssl.create_default_context(),
        **common,
    )


def _pool_for(target: Target) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host)
    evicted: list[urllib3.HTTPConnectionPool] = []
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return pool
        pool = _pools[key] = _new_pool(target)
        while len(_pools) > POOL_CACHE_SIZE:
            evicted.append(_pools.popitem(last=False)[1])
    for old in evicted:
        old.close()
    return pool


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_FIELD_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*\Z")  # no controls; Latin-1
_OURS = {"host", "content-length", "transfer-encoding", "connection"}


def _request_headers(target: Target, headers: Mapping[str, str], length: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not _TOKEN.match(name) or not _FIELD_VALUE.match(value):
            raise EgressFailed("protocol", f"the header {name!r} cannot be sent in HTTP")
        if name.lower() not in _OURS:
            out[name] = value
    if not any(name.lower() == "user-agent" for name in out):
        out["User-Agent"] = USER_AGENT
    out["Host"] = target.host_header
    out["Content-Length"] = str(length)
    return out


def _failure(exc: BaseException) -> EgressFailed:
    if isinstance(exc, SSLError | ssl.SSLError | ssl.CertificateError):
        return EgressFailed("tls", f"TLS failed: {exc}")
    if isinstance(exc, NewConnectionError | ConnectionRefusedError):
        return EgressFailed("connect", f"could not connect: {exc}")
    if isinstance(exc, Urllib3TimeoutError | TimeoutError):
        return EgressFailed("timeout", f"timed out: {exc}")
    if isinstance(exc, ProtocolError | HTTPError | http.client.HTTPException):
        return EgressFailed("protocol", f"the receiver broke HTTP: {exc}")
    return EgressFailed("connect", f"the connection failed: {exc}")


def _settings_number(key: str, default: float) -> float:
    return float(_config().get(key, default))


def _not_connected(exc: BaseException) -> bool:
    """Whether ``exc`` came before a connection was made (refused, unreachable, timed out
    connecting): nothing was sent, another address of the name may be tried."""
    return isinstance(exc, ConnectTimeoutError | ConnectionRefusedError)


def post(url: str, body: bytes, headers: Mapping[str, str]) -> EgressResponse:
    """POST ``body`` to ``url`` with the caller's ``headers`` (plus ``Host``,
    ``Content-Length`` and a ``User-Agent`` unless given), after :func:`url_check`.

    Connects to the checked addresses themselves (never a second DNS lookup), in the
    resolver's order: the next one only when no connection could be made to the one
    before (nothing was sent), each connection given an equal share of the time left.
    Never follows a redirect (a 3xx is
    returned), never uses an environment proxy. The whole call is bounded by
    ``WEBHOOK_TIMEOUT_SECONDS``; the body is read up to ``WEBHOOK_RESPONSE_MAX_BYTES``.
    Raises :class:`EgressRefused` (the URL is not allowed) or :class:`EgressFailed` (no
    response; ``protocol`` also for a header that HTTP cannot carry, before connecting).
    Thread-safe; connections are kept alive between calls."""
    started = time.monotonic()
    deadline = _Deadline(started + _settings_number("WEBHOOK_TIMEOUT_SECONDS", 15.0))
    cap = int(_settings_number("WEBHOOK_RESPONSE_MAX_BYTES", 65536))
    targets = url_check(url)
    if len(body) > MAX_REQUEST_BYTES:
        raise EgressFailed(
            "too_large_request", f"the body is {len(body)} bytes, over {MAX_REQUEST_BYTES}"
        )
    # (every target has the URL's Host)
    request_headers = _request_headers(targets[0], headers, len(body))
    if deadline.remaining() <= 0:
        raise EgressFailed("timeout", "no time was left to connect")
    response: Any = None
    data = b""
    error: BaseException | None = None
    deadline.start()
    _local.deadline = deadline
    try:
        for tried, target in enumerate(targets, start=1):
            remaining = max(deadline.remaining(), 0.001)
            # an address that swallows the connection (no answer at all) may take its
            # share of the time, not all of it: the addresses after it get theirs
            connect = remaining / (len(targets) - tried + 1)
            try:
                response = _pool_for(target).urlopen(
                    "POST",
                    target.path,
                    body=body,
                    headers=request_headers,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=urllib3.Timeout(connect=connect, read=remaining),
                    preload_content=False,
                    decode_content=False,
                    release_conn=False,
                )
                data = response.read(cap + 1, decode_content=False)
                error = None
                break
            except (HTTPError, OSError, http.client.HTTPException, ValueError) as exc:
                # (ValueError: an operation on a socket the deadline closed)
                error = exc
                if not (tried < len(targets) and _not_connected(exc) and deadline.remaining() > 0):
                    break
                logger.debug("webhook POST to %s: no connection, next address", target.host)
    finally:
        _local.deadline = None
        cut = deadline.finish()
    truncated = len(data) > cap
    if response is not None:
        if error is not None or cut or truncated:
            response.close()  # unread or broken: the connection is not reused
        response.release_conn()
    if cut:
        raise EgressFailed("timeout", "no full response within the time limit") from error
    if error is not None:
        raise _failure(error) from error
    logger.debug("webhook POST to %s: %s", target.host, response.status)
    return EgressResponse(
        status=response.status,
        headers={name.lower(): response.headers[name] for name in response.headers},
        body=data[:cap],
        truncated=truncated,
        elapsed=time.monotonic() - started,
        address=target.address,
    )


class _HidePaths(logging.Filter):
    """urllib3 logs each request's path at DEBUG; a webhook URL's path or query may hold
    a secret, so during :func:`post` the path is left out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            getattr(_local, "deadline", None) is not None
            and isinstance(record.args, tuple)
            and len(record.args) >= 5
            and str(record.msg).startswith('%s://%s:%s "%s %s')
        ):
            args = list(record.args)
            args[4] = "<path hidden>"
            record.args = tuple(args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HidePaths())
