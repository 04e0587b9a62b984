"""The API's request path against a bare Django view, on gunicorn and PostgreSQL (issue 15).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/api.py [--rounds 5] [--seconds 3] [--clients 4]
        [--workers 2] [--messages 20000] [--only message_get,messages_query]

It creates its OWN scratch database (Django's test-database machinery: ``test_<NAME>``
next to the database of DATABASE_URL), migrates it, and drops it at the end. PostgreSQL
only (gunicorn's processes share the database). It prints figures and asserts nothing
about wall-clock; the goals are printed next to the ratios.

1. Seeds an organization, an Admin API token and a chatroom-service API-TOKEN, a read
   channel holding ``--messages`` messages (one ``INSERT ... SELECT generate_series``),
   the message that is read (two tags, a parent, a report, reactions), a post channel, a
   few chatrooms; then ``ANALYZE``.
2. Counts the SQL statements of one request of each kind with Django's test client in
   this process (``CaptureQueriesContext``; the connection health check's ``SELECT 1``,
   one per request over HTTP while ``CONN_HEALTH_CHECKS`` is on, is not among them).
3. Starts ``gunicorn chatadmin.wsgi --workers N`` (sync) with the settings
   ``benchmarks.api_settings``: the product's URL map plus the bare view of
   ``benchmarks/api_urls.py`` (the same middleware and Bearer token, one statement that
   checks the token and reads one message row, a ``JsonResponse``; it exists in the
   benchmark only).
4. For ``--rounds`` rounds, each request kind (B) and the bare view (A) run in turn for
   ``--seconds`` each with ``--clients`` client threads (``tests/chaos/servers.py``), the
   order of A and B alternating between rounds; per round the ratio B/A of requests/s and
   of the gunicorn workers' CPU per request. Prints medians and ranges over the rounds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import secrets
import statistics
import sys
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# The benchmark's settings (the bare view's URL map) here and in gunicorn; no broker.
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.api_settings"
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))  # a scratch run

import django

django.setup()

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases
from purge import add_messages  # the scratch channel loader of the purge benchmark

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Message, Reaction
from apps.organizations.models import AccessToken, Organization
from apps.organizations.services import organization_token_issue
from apps.reports.models import Report
from tests.chaos import servers

ORG = "apibench"
EMAIL = "api@bench.chatadmin.test"
READ_CHANNEL = "bench-read"
POST_CHANNEL = "bench-post"
AUTHOR = "bench-author"
CHATROOMS = 10


@dataclass
class Kind:
    """One request kind: its Op for the load and its call for the statement count."""

    name: str
    label: str
    goal: float
    op: Callable[[int, int], servers.Op]
    token: str | None  # the Bearer token of the load (None: the Op carries its header)
    statements: int = 0
    rps: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    bare_rps: list[float] = field(default_factory=list)
    bare_cpu_ms: list[float] = field(default_factory=list)
    errors: int = 0


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0, help="per phase (A or B)")
    parser.add_argument("--clients", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--messages", type=int, default=20_000, help="in the read channel")
    parser.add_argument("--only", default="", help="comma-separated kinds (default: all)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="also profile N requests of each kind (and of the bare view) in this process"
        " (Django's test client, cProfile: CPU, whatever the machine's load)",
    )
    args = parser.parse_args()
    if not (1 <= args.rounds <= 100 and 0 < args.seconds <= 600):
        parser.error("--rounds 1..100, --seconds more than 0, at most 600")
    if not (1 <= args.clients <= 64 and 1 <= args.workers <= 16):
        parser.error("--clients 1..64, --workers 1..16")
    return args


def _database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{quote(s['NAME'], safe='')}"


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class Scene:
    org: Organization
    admin_token: str
    api_token: str
    message_id: str  # the message read by GET /api/v2/message/:id


def _seed_tokens() -> tuple[Organization, str, str]:
    call_command("create_organization", ORG, stdout=io.StringIO())
    out = io.StringIO()
    call_command("create_access_token", org=ORG, email=EMAIL, stdout=out)
    admin_token = out.getvalue().strip().splitlines()[-1]
    org = Organization.objects.get(slug=ORG)
    admin = AccessToken.objects.filter(organization=org, kind=AccessToken.Kind.ADMIN).first()
    issued = organization_token_issue(
        organization=org,
        actor=Actor.system(),
        account=admin.account,
        kind=AccessToken.Kind.API,
        name="api bench",
    )
    return org, admin_token, issued.raw


def _seed(api: servers.ApiClient, org: Organization, api_token: str, size: int) -> str:
    """The channels, ``size`` messages, the read message and the chatrooms; its id."""
    users = [AUTHOR, *(f"bench-member-{i}" for i in range(20))]
    servers.seed_channels(api, [READ_CHANNEL, POST_CHANNEL], users)
    author = Member.objects.get(organization=org, user_id=AUTHOR)
    channel_pk = author.memberships.filter(channel__channel_id=READ_CHANNEL).values_list(
        "channel_id", flat=True
    )[0]
    add_messages(Channel.objects.get(pk=channel_pk), author, size)
    parent = api.call(
        "POST",
        "/api/v2/message",
        {"channelId": READ_CHANNEL, "type": "text", "data": {"text": "the parent"}},
    ).message_id
    message_id = api.call(
        "POST",
        "/api/v2/message",
        {"channelId": READ_CHANNEL, "type": "text", "data": {"text": "the message read"},
         "tags": ["alpha", "beta"], "parentId": parent},
    ).message_id  # fmt: skip
    message = Message.objects.get(public_id=message_id)
    members = list(Member.objects.filter(organization=org, user_id__startswith="bench-member-"))
    Reaction.objects.bulk_create(
        Reaction(organization=org, message=message, member=m, name=name)
        for m, name in zip(members[:6], ["+1", "+1", "+1", "heart", "heart", "eyes"], strict=True)
    )
    Report.objects.create(
        organization=org,
        target_message=message,
        reporter=members[7],
        target_member=author,
        reason="bench",
    )
    for i in range(CHATROOMS):
        body = {"name": f"room {i}", "organizationID": org.pk, "assignedUsers": []}
        op = servers.Op("setup", "POST", "/api/messenger/chatrooms", body,
                        headers={"API-TOKEN": api_token})  # fmt: skip
        result = servers.send(api.host, api.port, op, token=None, timeout=api.timeout)
        if not result.ok:
            raise RuntimeError(f"POST /api/messenger/chatrooms: {result.outcome}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return message_id


# --- the request kinds -----------------------------------------------------------------------


def _kinds(scene: Scene) -> list[Kind]:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    query = {"channelId": READ_CHANNEL, "options": {"last": 25}}
    rooms = f"/api/messenger/chatrooms?organization_id={scene.org.pk}"

    def post(client: int, n: int) -> servers.Op:
        body = {
            "channelId": POST_CHANNEL,
            "type": "text",
            "data": {"text": f"{prefix} {client} {n}"},
        }
        return servers.Op("post", "POST", "/api/v2/message", body)

    return [
        Kind("message_get", "GET /api/v2/message/:id", 0.7,
             lambda c, n: servers.Op("get", "GET", f"/api/v2/message/{scene.message_id}"),
             scene.admin_token),
        Kind("message_post", "POST /api/v2/message", 0.35, post, scene.admin_token),
        Kind("messages_query", "POST /api/v2/messages (25 newest)", 0.35,
             lambda c, n: servers.Op("query", "POST", "/api/v2/messages", query),
             scene.admin_token),
        Kind("chatrooms", "GET /api/messenger/chatrooms", 0.6,
             lambda c, n: servers.Op("rooms", "GET", rooms,
                                     headers={"API-TOKEN": scene.api_token}),
             None),
    ]  # fmt: skip


def _bare(scene: Scene) -> Callable[[int, int], servers.Op]:
    return lambda c, n: servers.Op("bare", "GET", f"/bench/bare/message/{scene.message_id}")


def _caller(op: servers.Op, token: str | None, client: Client | None = None) -> Callable[[], int]:
    """One request of ``op`` through Django's test client in this process; its status."""
    client = client or Client()
    headers = dict(op.headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"

    def call() -> int:
        body = json.dumps(op.body) if op.body is not None else None
        kwargs = {"data": body, "content_type": "application/json"} if body else {}
        response = client.generic(op.method, op.path, headers=headers, **kwargs)
        return response.status_code

    return call


def _count_statements(op: servers.Op, token: str | None) -> int:
    """The statements of one request through Django's test client, after a warm-up one."""
    call = _caller(op, token)
    call()
    with CaptureQueriesContext(connection) as captured:
        status = call()
    if status >= 300:
        raise RuntimeError(f"{op.method} {op.path}: {status}")
    return len(captured)


def _profile(label: str, plan: Callable[[int, int], servers.Op], token: str | None, n: int):
    """CPU per request of ``n`` requests in this process, and where it goes (cProfile)."""
    client = Client()  # (one: a new one loads the middleware, whitenoise scans the files)
    calls = [_caller(plan(0, i), token, client) for i in range(n)]
    calls[0]()  # (warm)
    profiler = cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for call in calls:
        call()
    profiler.disable()
    cpu = (time.process_time() - started) / n * 1000
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(8)
    stats.sort_stats("cumulative").print_stats(r"/apps/", 16)  # the product's own steps
    body = "\n".join(line for line in out.getvalue().splitlines() if "(" in line)
    print(f"\n{label}: {cpu:.2f} ms CPU per request under cProfile ({n} requests)\n{body}")


# --- the load --------------------------------------------------------------------------------


def _phase(web: servers.Gunicorn, plan: Callable, token: str | None, args: argparse.Namespace):
    """(requests/s, gunicorn CPU ms per request, errors) of ``plan`` for ``--seconds``."""
    cpu_before = servers.process_cpu_seconds(web.worker_pids())
    results, elapsed = servers.run_load(
        host=web.host, port=web.port, token=token, plan=plan, clients=args.clients,
        seconds=args.seconds, max_requests=1_000_000, timeout=args.timeout,
    )  # fmt: skip
    cpu = servers.process_cpu_seconds(web.worker_pids()) - cpu_before
    errors = sum(not r.ok for r in results)
    return len(results) / elapsed, 1000 * cpu / max(len(results), 1), errors, results


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} [{min(values):.2f}-{max(values):.2f}]"


def run(args: argparse.Namespace) -> int:
    org, admin_token, api_token = _seed_tokens()
    only = {name for name in args.only.split(",") if name}
    with servers.scratch_folder("chatadmin-api-") as tmp:
        env = servers.product_env(
            _database_url(), tmp, DJANGO_SETTINGS_MODULE="benchmarks.api_settings"
        )
        web = servers.Gunicorn(env, workers=args.workers, log=tmp / "web.log")
        web.start()
        try:
            api = servers.ApiClient(web.host, web.port, admin_token)
            print(f"Seeding {args.messages:,} messages ...", flush=True)
            scene = Scene(org, admin_token, api_token, "")
            scene.message_id = _seed(api, org, api_token, args.messages)
            kinds = [k for k in _kinds(scene) if not only or k.name in only]
            bare = _bare(scene)
            bare_statements = _count_statements(bare(0, 0), admin_token)
            for kind in kinds:
                kind.statements = _count_statements(kind.op(0, 0), kind.token)
            if args.profile:
                _profile("bare view", bare, admin_token, args.profile)
                for kind in kinds:
                    _profile(kind.label, kind.op, kind.token, args.profile)
            print("Warming up ...", flush=True)
            warm = argparse.Namespace(**{**vars(args), "seconds": 1.0})
            _phase(web, bare, admin_token, warm)
            for kind in kinds:
                _phase(web, kind.op, kind.token, warm)
            for round_ in range(args.rounds):
                print(f"Round {round_ + 1}/{args.rounds} ...", flush=True)
                for kind in kinds:
                    order = ["A", "B"] if round_ % 2 == 0 else ["B", "A"]
                    for which in order:
                        if which == "A":
                            rps, cpu, errors, _ = _phase(web, bare, admin_token, args)
                            kind.bare_rps.append(rps)
                            kind.bare_cpu_ms.append(cpu)
                        else:
                            rps, cpu, errors, _ = _phase(web, kind.op, kind.token, args)
                            kind.rps.append(rps)
                            kind.cpu_ms.append(cpu)
                        kind.errors += errors
        finally:
            web.stop()
        web_log = web.log.read_text(errors="replace")

    health = settings.DATABASES["default"].get("CONN_HEALTH_CHECKS")
    load = os.getloadavg()
    print()
    print(
        f"api: gunicorn {args.workers} sync workers, {args.clients} clients, PostgreSQL "
        f"{connection.pg_version // 10000}.{connection.pg_version % 10000}, "
        f"{os.cpu_count()} CPUs shared by clients, gunicorn and PostgreSQL; "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(
        f"{args.rounds} rounds of {args.seconds:g} s per phase, A (bare view, "
        f"{bare_statements} statement(s)) and B alternating; {args.messages:,} messages "
        f"in the read channel; medians [ranges] over the rounds"
    )
    print()
    print(
        f"  {'request':<36}{'req/s B':>9}{'req/s A':>9}  {'B/A req/s':<18}{'goal':>7}"
        f"  {'CPU ms B/A':<18}{'statements':>11}{'errors':>8}"
    )
    errors = 0
    for kind in kinds:
        ratios = [b / a for a, b in zip(kind.bare_rps, kind.rps, strict=True)]
        cpu = [b / a for a, b in zip(kind.bare_cpu_ms, kind.cpu_ms, strict=True)]
        verdict = "ok" if statistics.median(ratios) >= kind.goal else "below"
        print(
            f"  {kind.label:<36}{statistics.median(kind.rps):>9.0f}"
            f"{statistics.median(kind.bare_rps):>9.0f}  {_spread(ratios):<18}"
            f"{'>= ' + format(kind.goal, 'g'):>7}  {_spread(cpu):<18}{kind.statements:>11}"
            f"{kind.errors:>8}  {verdict}"
        )
        errors += kind.errors
    if health:
        print("  (+1 SELECT 1 per request over HTTP: CONN_HEALTH_CHECKS is on)")
    print("  CPU ms B/A: the gunicorn workers' CPU per request, B over A (lower is better)")
    if errors:
        tail = [line for line in web_log.splitlines() if line.strip()][-40:]
        print("\nlast lines of the gunicorn log:\n" + "\n".join(tail))
    return 1 if errors else 0


def main() -> int:
    args = _parse()
    logging.disable(logging.WARNING)  # the seeding's own logs; the figures are the output
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no static here
    if connection.vendor != "postgresql":
        raise SystemExit(
            "benchmarks/api.py needs PostgreSQL (the gunicorn workers share the database): "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench"
        )
    old_config = setup_databases(verbosity=1, interactive=False)
    try:
        return run(args)
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=1)


if __name__ == "__main__":
    sys.exit(main())
