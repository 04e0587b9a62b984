"""Real servers and a real HTTP load, for the fault tests and ``benchmarks/load.py``.

Standard library only, and no Django import: the fault tests run the product in
subprocesses (gunicorn, ``manage.py``) against a database of their own, and
``benchmarks/load.py`` imports this module for its clients (one request loop for both).

- :class:`ThrowawayPostgres`: a PostgreSQL cluster of its own (``initdb`` into a
  temporary folder, a free loopback port, ``pg_ctl`` to start and stop it). As root the
  server binaries run as the ``postgres`` OS user (``runuser``); as anyone else, as that
  user. The machine's own clusters are never touched.
- :class:`Gunicorn`: ``gunicorn chatadmin.wsgi`` on a free loopback port, its worker pids.
- :class:`MixedPlan`, :class:`LoadRun`: N client threads sending Admin API v2 requests
  (post a message with a unique marker text, read pages, moderation actions) for a fixed
  time, every request bounded by a timeout; every answer is kept as a :class:`Result`.
- :func:`check_exactly_once`: every message the API acknowledged is stored exactly once.

Every load is bounded in time AND in count, and only loopback addresses can be targeted.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import math
import os
import pwd
import random
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from tests.processes import child_pids, free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
PG_USER = "postgres"  # the OS user the server runs as (when we are root) and the DB role
#: The error code of a request answered while the database is unreachable.
DATABASE_UNAVAILABLE = "database_unavailable"


def _require_loopback(host: str) -> None:
    if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
        raise ValueError(f"load may only target loopback addresses, not {host!r}")


# --- a throwaway PostgreSQL cluster ------------------------------------------------------


def find_pg_bindir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: ``$PG_BINDIR``, the one of
    ``pg_ctl`` on the PATH (symlinks resolved), or the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    if pg_ctl := shutil.which("pg_ctl"):
        candidates.append(Path(pg_ctl).resolve().parent)
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(debian.glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
        candidates.extend(versions)
    for folder in candidates:
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def postgres_unavailable_reason() -> str | None:
    """Why a :class:`ThrowawayPostgres` cannot be made here, or None if it can."""
    if find_pg_bindir() is None:
        return "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; set PG_BINDIR"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing (PostgreSQL refuses to run as root)"
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"running as root and there is no {PG_USER!r} OS user to run PostgreSQL as"
    return None


class ThrowawayPostgres:
    """A PostgreSQL cluster in a temporary folder, on a free port of 127.0.0.1, trust auth.

    ``with ThrowawayPostgres() as pg:`` initialises and starts it, and at the end stops it
    (immediate mode) and deletes the folder. :meth:`stop` and :meth:`start` may be called
    in between to take it down and bring it back (same data, same port).
    """

    def __init__(self, *, port: int | None = None, bindir: Path | None = None) -> None:
        reason = postgres_unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.bindir = bindir or find_pg_bindir()
        assert self.bindir is not None
        self.port = port or free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="chatadmin-pg-"))
        self.data = self.tmp / "data"
        self.log = self.tmp / "postgres.log"
        self.running = False
        if os.geteuid() == 0:
            user = pwd.getpwnam(PG_USER)
            os.chown(self.tmp, user.pw_uid, user.pw_gid)

    # as root, the server's programs run as the postgres OS user
    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", PG_USER, "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False, cwd=self.tmp
        )

    def _check(self, result: subprocess.CompletedProcess, what: str) -> None:
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{what} failed:\n{result.stdout}\n{result.stderr}\n{log}")

    def init(self) -> None:
        result = self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", PG_USER, "-E", "UTF8",
            "--no-locale", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self._check(result, "initdb")

    def start(self) -> None:
        # Only TCP on 127.0.0.1 (the socket file goes into our folder); fsync off: a clean
        # (fast) shutdown still writes everything, and nothing here must survive a crash.
        options = (
            f"-p {self.port} -h 127.0.0.1 -k {self.tmp} -c fsync=off -c full_page_writes=off "
            "-c max_connections=60 -c shared_buffers=32MB"
        )
        result = self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
            "start",
        )  # fmt: skip
        self._check(result, "pg_ctl start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """``fast``: roll back open transactions, disconnect everyone, shut down cleanly."""
        result = self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        self._check(result, f"pg_ctl stop -m {mode}")
        self.running = False

    def url(self, dbname: str) -> str:
        return f"postgres://{PG_USER}@127.0.0.1:{self.port}/{dbname}"

    def dsn(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={dbname}"

    def create_database(self, name: str) -> None:
        result = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", PG_USER, name)
        self._check(result, f"createdb {name}")

    def destroy(self) -> None:
        if self.running:
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        try:
            self.init()
            self.start()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()


# --- the product in subprocesses ---------------------------------------------------------


def product_env(database_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production-like web process on ``database_url``.

    The broker is ``memory://`` (per process): what the web publishes on commit (outbox
    dispatch requests, channel purges) goes nowhere, and the web never needs a worker.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "CHATADMIN_", "CELERY_", "DB_", "PYTEST_"))
        and key not in ("DATABASE_URL", "CACHE_URL")
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="chatadmin.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="load-and-fault-tests-" + "x" * 40,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        CELERY_BROKER_URL="memory://",
        CHATADMIN_VAR_DIR=str(var_dir),
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    (var_dir / "static").mkdir(parents=True, exist_ok=True)  # else whitenoise warns
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    """``manage.py ARGS`` in a subprocess with ``env``; its stdout (raises on failure)."""
    result = subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Gunicorn:
    """``gunicorn chatadmin.wsgi`` (sync workers) on a free port of 127.0.0.1."""

    def __init__(
        self, env: dict[str, str], *, workers: int = 2, log: Path, timeout: int = 30
    ) -> None:
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.host = "127.0.0.1"
        self.log = log
        self.timeout = timeout
        self.process: subprocess.Popen | None = None

    def start(self, *, ready_within: float = 60.0) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(VENV_BIN / "gunicorn"), "chatadmin.wsgi",
                    "--workers", str(self.workers),
                    "--bind", f"{self.host}:{self.port}",
                    "--timeout", str(self.timeout),
                    "--graceful-timeout", "10",
                    # gunicorn 27's control socket defaults to ONE path per user
                    # (~/.gunicorn/gunicorn.ctl): concurrent servers would fight over it.
                    "--no-control-socket",
                ],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited ({self.process.returncode}):\n{self.log_tail()}"
                )
            status = http_get_status(self.host, self.port, "/healthz", timeout=2)
            if status == 200 and len(self.worker_pids()) == self.workers:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz within {ready_within} s:\n"
                           f"{self.log_tail()}")  # fmt: skip

    def worker_pids(self) -> set[int]:
        """The pids whose parent is the gunicorn master."""
        return set(child_pids(self.process.pid)) if self.process is not None else set()

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session only
            self.process.wait(timeout=10)

    def __enter__(self) -> Gunicorn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- HTTP ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One request to send. ``marker``: the unique text of a posted message."""

    kind: str
    method: str
    path: str
    body: dict[str, Any] | None = None
    marker: str | None = None
    headers: dict[str, str] | None = None  # more request headers (e.g. ``API-TOKEN``)


@dataclass
class Result:
    """One answer (or the lack of one): ``status`` None means no HTTP answer at all
    (connection refused or reset, timeout); ``error`` says what happened then."""

    kind: str
    client: int
    started: float  # time.monotonic() when the request was sent
    elapsed: float  # seconds until the whole answer was read
    status: int | None
    code: str | None = None  # the JSON error code of an error answer
    retry_after: str | None = None
    content_type: str = ""
    error: str | None = None
    marker: str | None = None
    message_id: str | None = None  # the messageId of an accepted message

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def ended(self) -> float:
        return self.started + self.elapsed

    @property
    def outcome(self) -> str:
        """``200``, ``503 database_unavailable``, ``no answer: TimeoutError``..."""
        if self.status is None:
            return f"no answer: {self.error}"
        return f"{self.status} {self.code}" if self.code else str(self.status)


def http_get_status(host: str, port: int, path: str, *, timeout: float) -> int | None:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()
    except OSError:
        return None


def send(
    host: str, port: int, op: Op, *, token: str | None, timeout: float, client: int = 0
) -> Result:
    """Send ``op`` on a new connection (gunicorn's sync workers close it after each
    answer anyway) and read the whole answer, within ``timeout`` seconds per socket call."""
    headers = {"Accept": "application/json", "Host": host}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.update(op.headers or {})
    body = None
    if op.body is not None:
        body = json.dumps(op.body).encode()
        headers["Content-Type"] = "application/json"
    started = time.monotonic()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            conn.request(op.method, op.path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
    except (OSError, http.client.HTTPException) as exc:
        return Result(
            op.kind, client, started, time.monotonic() - started, None,
            error=type(exc).__name__, marker=op.marker,
        )  # fmt: skip
    elapsed = time.monotonic() - started
    result = Result(
        op.kind, client, started, elapsed, response.status,
        retry_after=response.getheader("Retry-After"),
        content_type=response.getheader("Content-Type") or "", marker=op.marker,
    )  # fmt: skip
    if result.content_type.startswith("application/json"):
        with contextlib.suppress(ValueError):
            data = json.loads(raw)
            if isinstance(data, dict):
                if not result.ok:
                    result.code = data.get("code")
                elif isinstance(data.get("message"), dict):
                    result.message_id = data["message"].get("messageId")
    return result


class ApiClient:
    """Sequential calls for setting a scene up (raises on anything but 2xx)."""

    def __init__(self, host: str, port: int, token: str, *, timeout: float = 30) -> None:
        _require_loopback(host)
        self.host, self.port, self.token, self.timeout = host, port, token, timeout

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Result:
        result = send(self.host, self.port, Op("setup", method, path, body),
                      token=self.token, timeout=self.timeout)  # fmt: skip
        if not result.ok:
            raise RuntimeError(f"{method} {path}: {result.outcome}")
        return result


def seed_channels(api: ApiClient, channel_ids: list[str], user_ids: list[str]) -> None:
    """Standard channels with every user of ``user_ids`` as a member, through the API."""
    for channel_id in channel_ids:
        api.call(
            "POST",
            "/api/v2/channel",
            {"channelId": channel_id, "type": "standard", "displayName": channel_id,
             "userIds": user_ids[:1000]},
        )  # fmt: skip


# --- the load ------------------------------------------------------------------------------

#: Operation kinds by group, for ``MixedPlan(weights=...)``.
READS = ("channels", "messages", "message", "users")
MODERATION = ("mute", "unmute", "ban", "unban", "blacklist_add", "blacklist_remove")


class MixedPlan:
    """What each client sends: ``weights`` of ``post``, ``read`` and ``moderate``.

    - post: ``POST /api/v2/message`` (text ``<prefix>-<client>-<seq>``: unique, so every
      stored copy can be counted) in the client's channel;
    - read: a page of channels, of the channel's newest messages, of users, or one message
      the client posted;
    - moderate: on the client's OWN victim user and blacklist words, in pairs that undo each
      other (mute/unmute, ban/unban in the channel, add/remove a blacklist record), so every
      action is valid and posting (by the token's admin) is never refused. The words never
      match a posted text.
    """

    def __init__(
        self,
        *,
        prefix: str,
        channel_ids: list[str],
        user_ids: list[str],
        weights: dict[str, float],
        seed: int = 1,
    ) -> None:
        unknown = set(weights) - {"post", "read", "moderate"}
        if unknown or not any(weights.values()):
            raise ValueError(f"weights: post, read and moderate (got {weights})")
        self.prefix = prefix
        self.channel_ids = channel_ids
        self.user_ids = user_ids
        self.groups = [g for g in ("post", "read", "moderate") if weights.get(g, 0) > 0]
        self.weights = [weights[g] for g in self.groups]
        self.seed = seed
        self._state: dict[int, dict[str, Any]] = {}

    def __call__(self, client: int, n: int) -> Op:
        state = self._state.setdefault(
            client,
            {"rng": random.Random(self.seed * 100_003 + client), "posted": [], "mod": 0, "seq": 0},
        )
        rng: random.Random = state["rng"]
        channel = self.channel_ids[client % len(self.channel_ids)]
        group = rng.choices(self.groups, self.weights)[0]
        if group == "post":
            # unique over every run of this plan (not ``n``: each run counts from 0)
            state["seq"] += 1
            marker = f"{self.prefix}-{client}-{state['seq']}"
            body = {"channelId": channel, "type": "text", "data": {"text": marker}}
            return Op("post", "POST", "/api/v2/message", body, marker)
        if group == "read":
            kind = rng.choice(READS)
            if kind == "message" and state["posted"]:
                return Op(kind, "GET", f"/api/v2/message/{rng.choice(state['posted'][-50:])}")
            if kind == "channels":
                return Op(kind, "GET", "/api/v2/channels?" + urlencode({"limit": 20}))
            if kind == "users":
                return Op(kind, "GET", "/api/v2/users?" + urlencode({"limit": 20}))
            query = urlencode({"channelId": channel, "options[last]": 25})
            return Op("messages", "GET", f"/api/v2/messages?{query}")
        cycle, step = divmod(state["mod"], len(MODERATION))
        kind = MODERATION[step]
        state["mod"] += 1
        victim = f"{self.prefix}-victim-{client}"
        word = f"zq{client}x{cycle}qz"  # added then removed in the same cycle; in no marker
        base = f"/api/v2/channel/{quote(channel, safe='')}/users"
        if kind in ("mute", "unmute"):
            period = 60_000 if kind == "mute" else 0
            return Op(kind, "PUT", f"{base}/mute", {"userIds": [victim], "mutePeriod": period})
        if kind == "ban":
            return Op(kind, "POST", f"{base}/ban", {"userIds": [victim], "banPeriod": 60_000})
        if kind == "unban":
            return Op(kind, "POST", f"{base}/unban", {"userIds": [victim]})
        if kind == "blacklist_add":
            return Op(kind, "POST", "/api/v2/blacklist/records", {"regexs": [word]})
        return Op(kind, "DELETE", "/api/v2/blacklist/records", {"ruleIds": [word]})

    def answered(self, client: int, result: Result) -> None:
        """Remember the client's accepted messages (read back by ``message``)."""
        if result.message_id:
            self._state[client]["posted"].append(result.message_id)


class LoadRun:
    """``clients`` threads, each sending ``plan(client, n)`` one after the other until
    ``seconds`` have passed, ``max_requests`` were sent, or :meth:`stop` is called.

    ``start()`` returns at once; ``join()`` waits and returns every :class:`Result`.
    ``pause``: seconds each client waits between two requests (0: none).
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        token: str | None,
        plan: Callable[[int, int], Op],
        clients: int,
        seconds: float,
        max_requests: int = 100_000,
        timeout: float = 10.0,
        pause: float = 0.0,
    ) -> None:
        _require_loopback(host)
        if seconds <= 0 or max_requests <= 0 or clients <= 0:
            raise ValueError("clients, seconds and max_requests must be positive")
        self.host, self.port, self.token = host, port, token
        self.plan, self.clients, self.seconds = plan, clients, seconds
        self.max_requests, self.timeout, self.pause = max_requests, timeout, pause
        self.results: list[Result] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = self.ended = 0.0

    def _client(self, client: int, deadline: float) -> None:
        answered = getattr(self.plan, "answered", None)
        for n in range(self.max_requests):
            if self._stop.is_set() or time.monotonic() >= deadline:
                break
            result = send(self.host, self.port, self.plan(client, n), token=self.token,
                          timeout=self.timeout, client=client)  # fmt: skip
            with self._lock:
                self.results.append(result)
            if answered:
                answered(client, result)
            if self.pause:
                self._stop.wait(self.pause)

    def snapshot(self) -> list[Result]:
        """The answers so far (the run goes on)."""
        with self._lock:
            return list(self.results)

    def start(self) -> LoadRun:
        self.started = time.monotonic()
        deadline = self.started + self.seconds
        self._threads = [
            threading.Thread(target=self._client, args=(c, deadline), daemon=True)
            for c in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def join(self) -> list[Result]:
        # A client ends at its deadline plus at most one request (bounded by the timeout).
        for thread in self._threads:
            thread.join(self.seconds + 4 * self.timeout + 10)
        self.ended = time.monotonic()
        if any(thread.is_alive() for thread in self._threads):
            raise RuntimeError("a load client did not stop")
        return sorted(self.snapshot(), key=lambda r: r.started)


def run_load(**kwargs: Any) -> tuple[list[Result], float]:
    """A :class:`LoadRun` from start to end: its results and its duration in seconds."""
    run = LoadRun(**kwargs).start()
    results = run.join()
    return results, run.ended - run.started


# --- figures -------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5: the median)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index]


@dataclass
class KindFigures:
    kind: str
    count: int
    errors: int
    p50_ms: float
    p99_ms: float


def figures_by_kind(results: Iterable[Result]) -> dict[str, KindFigures]:
    """Count, errors, p50 and p99 (of the answered requests) for each kind and ``all``."""
    grouped: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        grouped[result.kind].append(result)
        grouped["all"].append(result)
    out = {}
    for kind, items in grouped.items():
        times = [r.elapsed * 1000 for r in items if r.status is not None]
        out[kind] = KindFigures(
            kind,
            len(items),
            sum(not r.ok for r in items),
            percentile(times, 0.50),
            percentile(times, 0.99),
        )
    return out


def outcomes(results: Iterable[Result], *, failed_only: bool = True) -> Counter[str]:
    """``{"post 503 database_unavailable": 12, ...}``."""
    return Counter(f"{r.kind} {r.outcome}" for r in results if not (failed_only and r.ok))


# --- exactly once --------------------------------------------------------------------------


@dataclass
class ExactlyOnce:
    """The accepted messages against the stored ones (rows carrying a marker)."""

    acknowledged: int = 0
    stored: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, not stored
    duplicated: dict[str, int] = field(default_factory=dict)  # stored more than once
    wrong_id: list[str] = field(default_factory=list)  # stored under another messageId
    #: stored, but the request got no 2xx (a timeout, an error after the commit)
    unacknowledged: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # stored, never sent

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong_id or self.unknown)

    def summary(self) -> str:
        return (
            f"acknowledged {self.acknowledged}, stored {self.stored}: lost {len(self.lost)}, "
            f"duplicated {len(self.duplicated)}, wrong messageId {len(self.wrong_id)}, "
            f"never sent {len(self.unknown)}; stored without a 2xx {len(self.unacknowledged)}"
        )


def check_exactly_once(results: Iterable[Result], rows: Iterable[tuple[str, str]]) -> ExactlyOnce:
    """``rows``: (text, messageId) of every stored message whose text starts with the
    run's prefix (deleted or not). Every marker was sent once, so each is stored at most
    once, and exactly once when the API acknowledged it."""
    sent: dict[str, Result] = {r.marker: r for r in results if r.marker}
    stored: dict[str, list[str]] = defaultdict(list)
    for text, message_id in rows:
        stored[text].append(str(message_id))
    check = ExactlyOnce(stored=sum(len(ids) for ids in stored.values()))
    for marker, result in sent.items():
        ids = stored.get(marker, [])
        if result.ok:
            check.acknowledged += 1
            if not ids:
                check.lost.append(marker)
            elif result.message_id not in ids:
                check.wrong_id.append(marker)
        elif ids:
            check.unacknowledged.append(marker)
        if len(ids) > 1:
            check.duplicated[marker] = len(ids)
    check.unknown = sorted(set(stored) - set(sent))
    return check


def process_cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc; processes
    that are gone count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


@contextlib.contextmanager
def scratch_folder(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
