"""Webhooks, ratios in one run: incoming (issue 13) and outgoing (issue 14).

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/webhooks.py [--posts 40] [--rounds 5] [--events 1000]
        [--endpoints 10] [--latency-seconds 10] [--rate 0] [--timeout 2] [--quick]
        [--skip-incoming] [--skip-outgoing] [--parts 1,2] [--processes N] [--profile]
        [--keepdb]

**Incoming** (target <= 1.3x). Each door's incoming URL posts one text message into the
same kind of channel as ``POST /api/v2/message`` (an admin access token): Rocket.Chat's
``/hooks/{id}/{token}``, Stackfield's ``/apiwh/<uuid>`` (a chat-message URL) and the
messaging API's ``/api/messaging/webhooks/{id}/{token}``. Django's test client in this
process, DEBUG off, the broker kept out (as benchmarks/messaging.py, whose helpers this
uses), ``--rounds`` rounds of ``--posts`` posts per door, the doors' order rotating; the
median per post and the statements per post. The per-URL rate limit stays on (its guarded
UPDATE is part of the cost) with an interval short enough for back-to-back posts; the
double-request check stays on (every body differs).

**Outgoing.** Local receivers on 127.0.0.1 (``ThreadingHTTPServer``, keep-alive, answering
200 at once; one more that reads each request and never answers), in a process of their
own forked at the start, allowed by ``WEBHOOK_ALLOWLIST``; one Rocket.Chat outgoing
integration (``sendMessage``) per endpoint. The engine is the worker's code path without
Celery or a broker, which a ratio does not need: ``deliveries_create`` in this process,
then ``deliveries_run(threads=True)`` (its thread pool of ``WEBHOOK_DELIVERY_CONCURRENCY``)
in each of ``--processes`` engine processes at once, forked at the start as a Celery
worker forks its pool (default: the CPU count, a worker's default pool); ``--processes 1``
runs it in this process.

1. ``--events`` events x ``--endpoints`` endpoints: deliveries per second, from the first
   ``deliveries_create`` until every row is finished, against as many raw signed POSTs
   (``apps.core.egress.post`` with ``signing.sign_headers``) sent one after the other from
   this process. Target: engine / raw >= 0.5. The engine's CPU per delivery is every
   engine process's. ``--profile`` then times the engine's steps in this process and runs
   it one by one (``threads=False``) under cProfile, with the statements per delivery.
2. Events for ``--latency-seconds`` at ``--rate`` per second (default: a quarter of the
   engine's pace measured in 1, so that the figure is a latency, not a queue) to
   ``--endpoints - 1`` healthy endpoints, a runner thread making the attempts as a worker
   does (one run at a time, woken by each fan-out's request): the healthy deliveries'
   median latency (arrival at the receiver minus the row's ``created_at``) without, with,
   and again without one more endpoint that never answers (``WEBHOOK_TIMEOUT_SECONDS``
   = ``--timeout``). Target: with / without <= 1.2.

``--quick``: ``--posts 10 --rounds 2 --events 200 --latency-seconds 5``. Scratch
database as benchmarks/messaging.py; on SQLite the outgoing figures use a scratch file
(the engine's threads write at once, which the shared in-memory test database refuses).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import http.server
import itertools
import json
import logging
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases
from django.utils import timezone
from messaging import no_task_dispatch, organization, statements
from rest_framework.test import APIClient

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.core import egress
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import delivery, delivery_sql
from apps.integrations.services.delivery import NewDelivery, deliveries_create, deliveries_run
from apps.integrations.services.integrations import integration_create
from apps.integrations.services.signing import sign_headers
from apps.members.models import Member
from apps.organizations.services import organization_token_issue

TARGET = 1.3


def _doors(args: argparse.Namespace) -> dict[str, Callable[[str], None]]:
    """door name -> post(text), each into its own channel of one organization."""
    org, _ = organization("bench-webhooks")
    stamp = time.time_ns()
    system = Actor.system()

    def channel(name: str) -> Channel:
        return Channel.objects.create(
            organization=org, channel_id=f"{name}-{stamp}", visibility="public"
        )

    v2_channel = channel("v2")
    poster = Member.objects.create(organization=org, user_id=f"poster-{stamp}")
    Membership.objects.create(
        organization=org, channel=v2_channel, member=poster, joined_at=timezone.now()
    )
    account = Account.objects.create_user(
        email=f"bench-{stamp}@chatadmin.test", password="bench-pass-123"
    )
    token = organization_token_issue(
        organization=org, actor=system, name="bench", account=account
    ).raw
    v2 = APIClient()
    v2.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    plain = APIClient()

    def create(flavor: str, kind: str, target: Channel) -> tuple[Integration, str]:
        fields = {"targets": [f"#{target.channel_id}"]} if flavor == "rocketchat" else {}
        if flavor != "rocketchat":
            fields["channel"] = target
        issued = integration_create(
            organization=org,
            actor=system,
            flavor=flavor,
            direction="incoming",
            kind=kind,
            username=f"{flavor}-bot-{stamp}",
            **fields,
        )
        return issued.integration, issued.token or ""

    rc, rc_token = create("rocketchat", "message", channel("rc"))
    _, sf_token = create("stackfield", "chat-message", channel("sf"))
    mw, mw_token = create("messaging", "message", channel("mw"))

    def check(response, name: str, ok: tuple[int, ...]) -> None:  # type: ignore[no-untyped-def]
        if response.status_code not in ok:
            raise SystemExit(f"{name}: {response.status_code} {response.content[:300]!r}")

    def post_v2(text: str) -> None:
        body = {"channelId": v2_channel.channel_id, "type": "text", "data": {"text": text}}
        check(v2.post("/api/v2/message", body, format="json"), "v2", (201,))

    def post_rc(text: str) -> None:
        url = f"/hooks/{rc.pk}/{rc_token}"
        check(plain.post(url, {"text": text}, format="json"), "rocketchat", (200,))

    def post_sf(text: str) -> None:
        check(
            plain.post(f"/apiwh/{sf_token}", {"Title": text}, format="json"), "stackfield", (200,)
        )

    def post_mw(text: str) -> None:
        url = f"/api/messaging/webhooks/{mw.pk}/{mw_token}"
        check(plain.post(url, {"content": text}, format="json"), "messaging", (200, 201))

    return {"v2": post_v2, "rocketchat": post_rc, "stackfield": post_sf, "messaging": post_mw}


def bench_incoming(args: argparse.Namespace) -> None:
    doors = _doors(args)
    counter = itertools.count()

    def runner(fn: Callable[[str], None]) -> Callable[[], None]:
        return lambda: fn(f"benchmark message {next(counter)} with a few ordinary words")

    runs: dict[str, list[float]] = {name: [] for name in doors}
    with no_task_dispatch():
        for fn in list(doors.values()) * 5:  # warm up every path
            runner(fn)()
        counts = {name: statements(runner(fn)) for name, fn in doors.items()}
        names = list(doors)
        for n in range(args.rounds):
            order = names[n % len(names) :] + names[: n % len(names)]
            for name in order:
                fn = runner(doors[name])
                for _ in range(args.posts):
                    started = time.perf_counter()
                    fn()
                    runs[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(times) * 1000 for name, times in runs.items()}
    base = medians["v2"]
    print(f"\n{args.rounds} rounds of {args.posts} posts per door, the order rotating")
    for name in names:
        ratio = medians[name] / base
        target = "" if name == "v2" else f"   (target <= {TARGET})"
        print(
            f"  {name:<11} {medians[name]:7.2f} ms  {counts[name]:>2} statements  "
            f"ratio {ratio:5.2f}{target}"
        )


# --- outgoing webhooks (issue 14) ---------------------------------------------------------

#: Targets of the outgoing figures.
THROUGHPUT_TARGET = 0.5
LATENCY_TARGET = 1.2


class _ReceiverHandler(http.server.BaseHTTPRequestHandler):
    """Answers every POST 200 at once (keep-alive), or, on the hanging server, reads the
    request and never answers (until the client gives up and closes)."""

    protocol_version = "HTTP/1.1"
    server: _ReceiverServer

    def do_POST(self) -> None:
        arrived = time.time()
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.record(self.headers.get("webhook-id", ""), arrived)
        if self.server.hang:
            self.close_connection = True
            self.connection.settimeout(120)
            with contextlib.suppress(OSError):
                while self.connection.recv(4096):
                    pass
            return
        self.send_response_only(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ReceiverServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, hang: bool, arrivals: list[tuple[int, str, float]], lock: Any) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.hang, self.arrivals, self.lock = hang, arrivals, lock
        self.port = int(self.server_address[1])

    def record(self, webhook_id: str, arrived: float) -> None:
        with self.lock:
            self.arrivals.append((self.port, webhook_id, arrived))


def _serve_receivers(healthy: int, hanging: int, conn: Any) -> None:
    """The receivers' process: ``healthy`` + ``hanging`` servers on 127.0.0.1; answers
    ``"arrivals"`` (every (port, webhook-id, time) since the last ask) and ``"stop"``."""
    arrivals: list[tuple[int, str, float]] = []
    lock = threading.Lock()
    servers = [_ReceiverServer(n >= healthy, arrivals, lock) for n in range(healthy + hanging)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    conn.send([s.port for s in servers])
    while True:
        command = conn.recv()
        if command == "arrivals":
            with lock:
                taken = list(arrivals)
                arrivals.clear()
            conn.send(taken)
        else:
            break
    for server in servers:
        server.shutdown()
        server.server_close()
    conn.send("stopped")


class Receivers:
    """Local receivers in a process of their own (forked before any database connection),
    so that they do not share this process's interpreter lock with the engine."""

    def __init__(self, healthy: int, hanging: int = 1) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=_serve_receivers, args=(healthy, hanging, child), daemon=True
        )
        self.process.start()
        ports = self.conn.recv()
        self.healthy = [f"http://127.0.0.1:{p}/hook" for p in ports[:healthy]]
        self.hanging = [f"http://127.0.0.1:{p}/hook" for p in ports[healthy:]]

    def arrivals(self) -> list[tuple[str, str, float]]:
        """(url, webhook-id, arrival time) of every request since the last call."""
        self.conn.send("arrivals")
        return [(f"http://127.0.0.1:{p}/hook", w, t) for p, w, t in self.conn.recv()]

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.conn.send("stop")
            self.conn.recv()
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


def _serve_runs(conn: Any) -> None:
    """An engine process (a worker's pool process): at each ``(database name,)`` it makes
    the due attempts (``deliveries_run(threads=True)``, as the run task does) and answers
    the CPU seconds it spent; ``None`` ends it."""
    while (command := conn.recv()) is not None:
        (name,) = command
        if connection.settings_dict["NAME"] != name:  # (the scratch database, made later)
            connection.close()
            connection.settings_dict["NAME"] = name
        cpu = time.process_time()
        deliveries_run(budget=600, threads=True)
        conn.send(time.process_time() - cpu)
    connection.close()


class Engines:
    """``count`` engine processes, forked before any database connection or thread exists,
    as a Celery worker forks its pool: each run in each of them at once, the claims
    sharing the due rows as the worker's processes do."""

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("fork")
        self.conns = []
        self.processes = []
        for _ in range(count):
            conn, child = context.Pipe()
            process = context.Process(target=_serve_runs, args=(child,), daemon=True)
            process.start()
            self.conns.append(conn)
            self.processes.append(process)

    def run(self) -> float:
        """One run in every process at once, until each found nothing due; their CPU
        seconds."""
        for conn in self.conns:
            conn.send((connection.settings_dict["NAME"],))
        return sum(conn.recv() for conn in self.conns)

    def stop(self) -> None:
        for conn, process in zip(self.conns, self.processes, strict=True):
            with contextlib.suppress(OSError, EOFError):
                conn.send(None)
            process.join(10)
            if process.is_alive():
                process.kill()


_engines: Engines | None = None


def _rc_payload(n: int) -> dict[str, Any]:
    """A Rocket.Chat ``sendMessage`` body of ordinary size (the token is added at send)."""
    return {
        "bot": False,
        "channel_id": "bench-room",
        "channel_name": "bench-room",
        "message_id": f"msg-{n}",
        "timestamp": timezone.now().isoformat(),
        "user_id": "12345",
        "user_name": "alice",
        "text": f"benchmark message {n} with a few ordinary words",
        "siteUrl": "https://chat.example.com",
    }


def _outgoing_integrations(urls: list[str]) -> list[Integration]:
    """One Rocket.Chat outgoing integration (``sendMessage``) per URL."""
    org, _ = organization("bench-outgoing")
    stamp = time.time_ns()
    made = []
    for n, url in enumerate(urls):
        issued = integration_create(
            organization=org,
            actor=Actor.system(),
            flavor=Integration.Flavor.ROCKETCHAT,
            direction=Integration.Direction.OUTGOING,
            name=f"bench {n}",
            event="sendMessage",
            urls=[url],
            username=f"out-bot-{stamp}",
        )
        made.append(
            Integration.objects.select_related("organization", "bot").get(pk=issued.integration.pk)
        )
    return made


def _create(integrations: list[Integration], first: int, count: int) -> None:
    """``count`` events (numbered from ``first``), each to every integration."""
    for n in range(first, first + count, 100):
        deliveries_create(
            NewDelivery(integration, "sendMessage", _rc_payload(m))
            for m in range(n, min(n + 100, first + count))
            for integration in integrations
        )


def _unfinished(integrations: list[Integration]) -> int:
    return Delivery.objects.filter(
        integration__in=integrations, status=Delivery.Status.PENDING
    ).count()


def _raw_posts(integrations: list[Integration], events: int) -> float:
    """``events`` x endpoints signed POSTs, one after the other; seconds."""
    payload = _rc_payload(0)
    started = time.perf_counter()
    for n in range(events):
        for integration in integrations:
            body = json.dumps(
                {"token": integration.outgoing_token, **payload, "message_id": f"raw-{n}"},
                separators=(",", ":"),
            ).encode()
            headers = {
                "Content-Type": "application/json",
                **sign_headers(integration, webhook_id=f"msg_raw{n}", body=body),
            }
            response = egress.post(integration.urls[0], body, headers)
            if response.status != 200:
                raise SystemExit(f"raw post: HTTP {response.status}")
    return time.perf_counter() - started


def _engine_run(integrations: list[Integration], first: int, events: int) -> dict[str, Any]:
    """``events`` events to every integration, created and run until every row is finished:
    seconds, CPU seconds, creation seconds, and how many succeeded at the first attempt."""
    cpu = time.process_time()
    started = time.perf_counter()
    wall_start = timezone.now()
    _create(integrations, first, events)
    created = time.perf_counter() - started
    child_cpu = 0.0
    if _engines is not None:
        child_cpu = _engines.run()
    else:
        deliveries_run(budget=600, threads=True)
    while _unfinished(integrations):  # (only if an attempt failed: its retry)
        time.sleep(0.05)
        deliveries_run(budget=600, threads=True)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu + child_cpu
    rows = Delivery.objects.filter(integration__in=integrations, created_at__gte=wall_start)
    return {
        "seconds": seconds,
        "cpu": cpu,
        "created": created,
        "first_attempt": rows.filter(status=Delivery.Status.SUCCEEDED, attempts=1).count(),
    }


def bench_throughput(args: argparse.Namespace, receivers: Receivers) -> float:
    """Outgoing 1, ``--repeat`` rounds of raw POSTs then the engine (the same run's figures:
    this machine's load moves between minutes); returns the engine's median deliveries per
    second."""
    endpoints = receivers.healthy[: args.endpoints]
    integrations = _outgoing_integrations(endpoints)
    total = args.events * len(endpoints)
    _raw_posts(integrations, max(1, 20 // len(endpoints)))  # warm up the pools
    _engine_run(integrations, 0, 20)
    receivers.arrivals()

    print(
        f"\nOutgoing 1: {args.events} events x {len(endpoints)} endpoints = {total} deliveries"
        f" (receivers on 127.0.0.1 in another process), {args.repeat} round(s);"
        f" engine: {args.processes} process(es) x {args.concurrency} threads"
    )
    print("  round   raw POSTs /s (CPU ms each)   engine /s (CPU ms each; create s)   ratio")
    ratios, paces = [], []
    for round_ in range(args.repeat):
        cpu = time.process_time()
        raw = _raw_posts(integrations, args.events)
        raw_cpu = time.process_time() - cpu
        receivers.arrivals()
        ours = _engine_run(integrations, 1000 + round_ * args.events, args.events)
        arrivals = receivers.arrivals()
        ids = Counter(webhook for _, webhook, _ in arrivals)
        ratios.append(raw / ours["seconds"])
        paces.append(total / ours["seconds"])
        print(
            f"  {round_ + 1:>5}   {total / raw:11.0f} ({raw_cpu / total * 1000:.2f})"
            f"            {total / ours['seconds']:9.0f} ({ours['cpu'] / total * 1000:.2f};"
            f" {ours['created']:.2f})          {ratios[-1]:5.2f}"
        )
        twice = sum(1 for c in ids.values() if c > 1)
        if ours["first_attempt"] != total or len(arrivals) != total or twice:
            print(
                f"  check FAILED: {ours['first_attempt']}/{total} succeeded at the first"
                f" attempt, {len(arrivals)} arrivals, {twice} webhook-ids twice"
            )
    print(
        f"  ratio engine / raw, median   {statistics.median(ratios):5.2f}"
        f"   (target >= {THROUGHPUT_TARGET}; every delivery succeeded at its first attempt"
        " and arrived once unless said)"
    )
    if args.profile:
        _profile(integrations, min(args.events, 100))
    return statistics.median(paces)


#: The engine's steps whose CPU time ``--profile`` shows, per delivery.
PROFILED = (
    ("delivery_sql.py", "due"),
    ("delivery_sql.py", "claim"),
    ("delivery.py", "attach"),
    ("delivery_send.py", "send"),
    ("signing.py", "sign_headers"),
    ("egress.py", "post"),
    ("delivery.py", "_record_successes"),
    ("delivery.py", "_reply"),
)
#: The engine's steps ``--profile`` times in the threaded run (module, attribute, where:
#: the run's own thread or the pool's), in each thread's own CPU time.
TIMED = (
    (delivery_sql, "due", "run"),
    (delivery_sql, "claim", "run"),
    (delivery._Integrations, "attach", "run"),
    (delivery, "_record_successes", "run"),
    (delivery, "_send_attempt", "pool"),
    (egress, "post", "pool"),
)


def _profile(integrations: list[Integration], events: int) -> None:
    """Two looks at where the CPU goes. The threaded engine as the worker runs it, each step
    timed in its own thread's CPU time (``time.thread_time``), with the sizes of its
    batches; then the engine one by one in this thread (``threads=False``: batches of
    one) under cProfile, timed in CPU seconds of this process (the database's own time
    is not in it), with the statements per delivery."""
    spent: Counter[str] = Counter()
    batches: Counter[str] = Counter()
    lock = threading.Lock()

    def timed(owner: Any, name: str) -> Callable[..., Any]:
        real = getattr(owner, name)

        def step(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                result = real(*args, **kwargs)
            finally:
                with lock:
                    spent[name] += time.thread_time() - started
            if name in ("claim", "_record_successes"):
                with lock:
                    batches[name] += 1
                    batches[f"{name} rows"] += len(result)
            return result

        return step

    global _engines
    engines, _engines = _engines, None  # (timed here, in this process)
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in TIMED]
    for owner, name, _ in TIMED:
        setattr(owner, name, timed(owner, name))
    try:
        total = events * len(integrations)
        run_cpu = time.thread_time()
        _engine_run(integrations, 10**5, events)
        run_cpu = time.thread_time() - run_cpu
    finally:
        _engines = engines
        for owner, name, real in originals:
            setattr(owner, name, real)
    print(f"\n  profile, threaded ({total} deliveries; each thread's own CPU, per delivery):")
    print(f"    the run's thread (creates, claims, records)  {run_cpu / total * 1000:6.3f} ms")
    for _, name, where in TIMED:
        print(f"      {where:<4} {name:<20} {spent[name] / total * 1000:6.3f} ms")
    for name in ("claim", "_record_successes"):
        rows = batches[f"{name} rows"] / max(1, batches[name])
        print(f"    {name}: {batches[name]} statements, {rows:.1f} rows each")

    _create(integrations, 10**6, events)
    profiler = cProfile.Profile(time.process_time)
    with CaptureQueriesContext(connection) as captured:
        profiler.enable()
        result = deliveries_run(budget=600, threads=False)
        profiler.disable()
    count = max(1, result.attempted)
    kinds = Counter(q["sql"].split(" ", 1)[0] for q in captured.captured_queries)
    print(
        f"\n  profile, one by one (threads=False, {count} deliveries, CPU of this process):"
        f" {len(captured) / count:.1f} statements per delivery ("
        + ", ".join(f"{k} {v / count:.1f}" for k, v in kinds.most_common())
        + ")"
    )
    stats = pstats.Stats(profiler)
    total_cpu = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    print(f"  all         {total_cpu / count * 1000:6.2f} ms per delivery")
    for (path, _line, name), row in sorted(stats.stats.items()):  # type: ignore[attr-defined]
        for suffix, wanted in PROFILED:
            if name == wanted and path.endswith(suffix):
                print(f"  {name:<18} {row[3] / count * 1000:6.2f} ms  ({row[1]} calls)")
    stats.stream = sys.stdout  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(15)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _paced_latencies(
    integrations: list[Integration],
    healthy: set[str],
    rate: float,
    events: int,
    first: int,
    receivers: Receivers,
) -> list[float]:
    """``events`` events at ``rate`` per second to every integration, a runner thread making the
    attempts as a worker does (one run at a time, woken by each fan-out); the healthy
    deliveries' latencies (arrival minus created_at), seconds."""
    wake = threading.Event()
    stop = threading.Event()

    def runner() -> None:
        try:
            while not stop.is_set():
                if wake.wait(0.1):
                    wake.clear()
                    deliveries_run(budget=10, threads=True)
        finally:
            connection.close()

    thread = threading.Thread(target=runner, daemon=True)
    thread.start()
    receivers.arrivals()
    wall_start = timezone.now()
    started = time.monotonic()
    for n in range(events):
        _create(integrations, first + n, 1)
        wake.set()
        pause = started + (n + 1) / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    rows = Delivery.objects.filter(
        integration__in=integrations, url__in=healthy, created_at__gte=wall_start
    )
    deadline = time.monotonic() + 120
    while rows.filter(status=Delivery.Status.PENDING).exists():
        if time.monotonic() > deadline:
            raise SystemExit("the healthy deliveries did not finish within 2 minutes")
        wake.set()
        time.sleep(0.05)
    stop.set()
    thread.join(30)
    # the endpoint that never answers: forget its rows (its attempts in flight time out)
    Delivery.objects.filter(integration__in=integrations, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.CANCELLED, next_attempt_at=None
    )
    time.sleep(settings.CHATADMIN["WEBHOOK_TIMEOUT_SECONDS"] + 0.5)  # its attempts in flight end
    created = dict(rows.values_list("webhook_id", "created_at"))
    arrived: dict[str, float] = {}
    for url, webhook, at in receivers.arrivals():
        if url in healthy and webhook in created:
            arrived.setdefault(webhook, at)
    missing = len(created) - len(arrived)
    if missing:
        print(f"  ({missing} healthy deliveries without an arrival)")
    return [at - created[w].timestamp() for w, at in arrived.items()]


def bench_latency(args: argparse.Namespace, receivers: Receivers, capacity: float) -> None:
    """Outgoing 2. ``capacity``: the engine's deliveries per second (from outgoing 1): the
    events come at a quarter of it unless ``--rate`` says otherwise, so that a latency is
    a latency, not a queue."""
    healthy_urls = receivers.healthy[: max(1, args.endpoints - 1)]
    hanging_urls = receivers.hanging[:1]
    healthy = _outgoing_integrations(healthy_urls)
    hanging = _outgoing_integrations(hanging_urls)
    rate = args.rate or capacity / 4 / len(healthy)
    events = max(10, round(rate * args.latency_seconds))
    figures: dict[str, list[float]] = {}
    for n, (name, integrations) in enumerate(
        (("without", healthy), ("with", healthy + hanging), ("without again", healthy))
    ):
        figures[name] = _paced_latencies(
            integrations, set(healthy_urls), rate, events, 10**7 * (n + 1), receivers
        )
    timeout = settings.CHATADMIN["WEBHOOK_TIMEOUT_SECONDS"]
    print(
        f"\nOutgoing 2: {events} events at {rate:.1f}/s ({rate * len(healthy):.0f} deliveries/s)"
        f" to {len(healthy)} healthy endpoints, without and with one more that never answers"
        f" (timeout {timeout:g} s)"
    )
    for name, values in figures.items():
        ordered = sorted(values)
        p90 = ordered[int(len(ordered) * 0.9)] if ordered else float("nan")
        print(
            f"  {name:<14} median {_median(values) * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms"
            f"   ({len(values)} deliveries)"
        )
    base = _median(figures["without"] + figures["without again"])
    ratio = _median(figures["with"]) / base
    print(f"  ratio with / without          {ratio:5.2f}   (target <= {LATENCY_TARGET})")


def _close_other_sessions() -> None:
    """The engine's pool threads keep their connections (CONN_MAX_AGE): end them, so that
    the scratch database can be dropped."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def bench_outgoing(args: argparse.Namespace, receivers: Receivers) -> None:
    with no_task_dispatch():
        capacity = 0.0
        if "1" in args.parts:
            capacity = bench_throughput(args, receivers)
        if "2" in args.parts:
            if not capacity and not args.rate:  # a short run to learn the engine's pace
                quick = argparse.Namespace(
                    **{**vars(args), "events": 30, "profile": False, "repeat": 1}
                )
                capacity = bench_throughput(quick, receivers)
            bench_latency(args, receivers, capacity)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=40, help="posts per door per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=1000, help="outgoing 1: events")
    parser.add_argument("--endpoints", type=int, default=10, help="outgoing: endpoints")
    parser.add_argument(
        "--latency-seconds", type=float, default=10.0, help="outgoing 2: seconds per case"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="outgoing 2: events/s (default: a quarter of"
        " the engine's pace measured by outgoing 1)",
    )
    parser.add_argument(
        "--timeout", type=float, default=2.0, help="WEBHOOK_TIMEOUT_SECONDS (outgoing)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a quick look")
    parser.add_argument("--skip-incoming", action="store_true")
    parser.add_argument("--skip-outgoing", action="store_true")
    parser.add_argument("--parts", default="1,2", help="outgoing figures to measure: 1, 2")
    parser.add_argument("--repeat", type=int, default=1, help="outgoing 1: rounds")
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="outgoing 1: engine processes (default: the CPU count, a Celery worker's"
        " default pool); 1: in this process",
    )
    parser.add_argument("--profile", action="store_true", help="outgoing 1 under cProfile")
    parser.add_argument("--keepdb", action="store_true", help="keep (and reuse) the scratch DB")
    args = parser.parse_args()
    if args.quick:
        args.posts, args.rounds, args.events, args.latency_seconds = 10, 2, 200, 5.0
    args.concurrency = settings.CHATADMIN["WEBHOOK_DELIVERY_CONCURRENCY"]

    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.CHATADMIN = {
        **settings.CHATADMIN,
        # The per-URL limit stays on (its UPDATE is part of a post) but admits back-to-back
        # posts.
        "WEBHOOK_MIN_INTERVAL_SECONDS": 1e-6,
        # the local receivers
        "WEBHOOK_ALLOWLIST": ["127.0.0.1/32"],
        "WEBHOOK_TIMEOUT_SECONDS": args.timeout,
    }
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", message="No directory at")
    started = time.perf_counter()
    # forked before any database connection or thread exists
    receivers = None if args.skip_outgoing else Receivers(healthy=max(1, args.endpoints))
    if receivers is not None and connection.vendor == "sqlite":
        # the engine's threads write at once: a database file, as the embedded mode runs
        # (the shared in-memory test database refuses concurrent writers outright)
        connection.settings_dict["TEST"]["NAME"] = str(
            Path(tempfile.gettempdir()) / "chatadmin-bench-webhooks.sqlite3"
        )
    global _engines
    if receivers is not None and "1" in args.parts and args.processes > 1:
        _engines = Engines(args.processes)  # (forked before any database connection too)
    old_config = setup_databases(
        verbosity=0, interactive=False, keepdb=args.keepdb, serialized_aliases=set()
    )
    try:
        print(f"database: {connection.vendor}, scratch {connection.settings_dict['NAME']!r}")
        if not args.skip_incoming:
            bench_incoming(args)
        if receivers is not None:
            bench_outgoing(args, receivers)
    finally:
        if _engines is not None:
            _engines.stop()
        if receivers is not None:
            receivers.stop()
            _close_other_sessions()
        if not args.keepdb:
            teardown_databases(old_config, verbosity=0)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
