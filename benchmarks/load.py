"""Load: gunicorn on PostgreSQL under N concurrent API clients, then an exactly-once check.

    DJANGO_SETTINGS_MODULE=chatadmin.settings \\
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chatadmin_bench \\
        .venv/bin/python benchmarks/load.py [--clients 8] [--seconds 30] [--workers 3]
        [--baseline-seconds 10] [--mix post=5,read=4,moderate=1] [--channels 4] [--users 100]

It creates its OWN scratch database (Django's test-database machinery: ``test_<NAME>``
next to the database of DATABASE_URL), migrates it, and drops it at the end, so it never
touches real data. PostgreSQL only (gunicorn's processes must share the database).

1. Seeds an organization and an admin access token (``manage.py create_organization``,
   ``create_access_token``), then ``--channels`` channels with ``--users`` members each
   through the API.
2. Starts ``gunicorn chatadmin.wsgi --workers N`` on a free port of 127.0.0.1 (DEBUG off,
   ``memory://`` broker: the web never needs a worker).
3. ``--clients`` threads (``tests/chaos/servers.py``, the client of the fault tests too),
   one request at a time each, every request with a timeout:
   - a baseline of ``--baseline-seconds`` of ``GET /healthz`` (a bare request through the
     same gunicorn: routing, middleware, one ``SELECT 1``), measured in the same run;
   - the mix for ``--seconds``: post messages (``POST /api/v2/message``, each with a unique
     text), read pages (channels, the newest messages of a channel, users, one message),
     moderation actions on each client's own victim user (mute/unmute and ban/unban in
     its channel, add/remove a blacklist word), in ``--mix`` proportions.
4. Prints requests/s, p50 and p99 (overall and per kind), their ratios to the baseline,
   the errors (non-2xx answers and requests without an answer) by outcome, and then checks
   that every message the API accepted (2xx with a messageId) is stored exactly once;
   stored messages whose request got no 2xx (e.g. a timeout) are counted separately.

Exit status 1 if there was any error, or any message lost or stored twice. It asserts
nothing about wall-clock: the figures are for a person to read (docs/performance.md).
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import resource
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatadmin.settings")

import django

django.setup()

from django.core.management import call_command
from django.db import connection
from django.test.utils import setup_databases, teardown_databases

from apps.messages.models import Message
from apps.organizations.models import Organization
from tests.chaos import servers

ORG = "load"
EMAIL = "load@bench.chatadmin.test"
TARGET = "target: 0 errors, 0 messages lost or duplicated"


def _mix(text: str) -> dict[str, float]:
    weights = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        weights[name.strip()] = float(value)
    return weights


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the mixed load")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--warmup-seconds", type=float, default=3.0)
    parser.add_argument("--mix", type=_mix, default=_mix("post=5,read=4,moderate=1"))
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--users", type=int, default=100, help="members of each channel")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument(
        "--max-requests", type=int, default=200_000, help="per client and phase (a bound)"
    )
    args = parser.parse_args()
    if not (0 < args.seconds <= 3600 and 0 < args.baseline_seconds <= 3600):
        parser.error("--seconds and --baseline-seconds: more than 0, at most 3600")
    if not (1 <= args.clients <= 256 and 1 <= args.workers <= 64):
        parser.error("--clients 1..256, --workers 1..64")
    return args


def _database_url() -> str:
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s["PASSWORD"]:
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{quote(s['NAME'], safe='')}"


def _seed_token() -> str:
    call_command("create_organization", ORG, stdout=io.StringIO())
    out = io.StringIO()
    call_command("create_access_token", org=ORG, email=EMAIL, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


class CpuMeter:
    """CPU seconds used during a phase by this process (the client threads), the gunicorn
    workers and the PostgreSQL backends of the scratch database (all on one machine)."""

    def __init__(self, web: servers.Gunicorn) -> None:
        self.web = web

    def _backends(self) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return [pid for (pid,) in cursor.fetchall()]

    def _now(self) -> tuple[float, float, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return (
            usage.ru_utime + usage.ru_stime,
            servers.process_cpu_seconds(self.web.worker_pids()),
            servers.process_cpu_seconds(self._backends()),
        )

    def __enter__(self) -> CpuMeter:
        self.start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        self.used = tuple(b - a for a, b in zip(self.start, self._now(), strict=True))

    def per_request(self, requests: int) -> str:
        client, web, db = (1000 * used / max(requests, 1) for used in self.used)
        return (
            f"CPU per request: gunicorn {web:.2f} ms, PostgreSQL {db:.2f} ms, "
            f"clients {client:.2f} ms"
        )


def _row(kind: str, f: servers.KindFigures, base_p50: float) -> str:
    ratio = f.p50_ms / base_p50 if base_p50 else float("nan")
    return (
        f"  {kind:<17}{f.count:>9,}{f.errors:>8,}{f.p50_ms:>10.1f}{f.p99_ms:>10.1f}{ratio:>12.1f}"
    )


def run(args: argparse.Namespace) -> int:
    prefix = f"load-{uuid.uuid4().hex[:8]}"
    channel_ids = [f"load-{i}" for i in range(args.channels)]
    user_ids = [f"member-{i}" for i in range(args.users)]
    token = _seed_token()
    org = Organization.objects.get(slug=ORG)
    with servers.scratch_folder("chatadmin-load-") as tmp:
        web = servers.Gunicorn(
            servers.product_env(_database_url(), tmp), workers=args.workers, log=tmp / "web.log"
        )
        web.start()
        try:
            servers.seed_channels(
                servers.ApiClient(web.host, web.port, token), channel_ids, user_ids
            )
            plan = servers.MixedPlan(
                prefix=prefix, channel_ids=channel_ids, user_ids=user_ids, weights=args.mix
            )
            common = dict(
                host=web.host, port=web.port, token=token, clients=args.clients,
                max_requests=args.max_requests, timeout=args.timeout,
            )  # fmt: skip
            print(f"Warming up for {args.warmup_seconds:g} s ...", flush=True)
            warmup, _ = servers.run_load(plan=plan, seconds=args.warmup_seconds, **common)
            print(f"Baseline: GET /healthz for {args.baseline_seconds:g} s ...", flush=True)
            with CpuMeter(web) as base_cpu:
                baseline, base_time = servers.run_load(
                    plan=lambda client, n: servers.Op("healthz", "GET", "/healthz"),
                    seconds=args.baseline_seconds,
                    **common,
                )
            print(f"Mixed load for {args.seconds:g} s ...", flush=True)
            with CpuMeter(web) as mixed_cpu:
                mixed, mixed_time = servers.run_load(plan=plan, seconds=args.seconds, **common)
        finally:
            web.stop()
        web_log = web.log.read_text(errors="replace")

    rows = Message.objects.filter(organization=org, data__text__startswith=prefix + "-")
    check = servers.check_exactly_once(warmup + mixed, rows.values_list("data__text", "public_id"))
    everything = warmup + baseline + mixed
    errors = servers.outcomes(everything)

    base = servers.figures_by_kind(baseline)["all"]
    figures = servers.figures_by_kind(mixed)
    base_rps = len(baseline) / base_time
    mixed_rps = len(mixed) / mixed_time
    posted = sum(r.ok for r in mixed if r.kind == "post")
    weights = ", ".join(f"{k} {v:g}" for k, v in args.mix.items())
    print()
    print(
        f"load: {args.clients} clients, gunicorn {args.workers} sync workers, PostgreSQL "
        f"{connection.pg_version // 10000}.{connection.pg_version % 10000}, "
        f"{os.cpu_count()} CPUs shared by clients, gunicorn and PostgreSQL"
    )
    print(f"mix: {weights}; {args.channels} channels of {args.users} members")
    print(
        f"  baseline GET /healthz  {base_time:6.1f} s {len(baseline):>8,} requests "
        f"{base_rps:>8.1f} req/s  p50 {base.p50_ms:.1f} ms  p99 {base.p99_ms:.1f} ms"
    )
    print(
        f"  mixed load             {mixed_time:6.1f} s {len(mixed):>8,} requests "
        f"{mixed_rps:>8.1f} req/s  ({mixed_rps / base_rps:.2f} x the /healthz rate); "
        f"{posted / mixed_time:.1f} messages/s accepted"
    )
    print(f"  /healthz {base_cpu.per_request(len(baseline))}")
    print(f"  mixed    {mixed_cpu.per_request(len(mixed))}")
    print()
    print(f"  {'kind':<17}{'requests':>9}{'errors':>8}{'p50 ms':>10}{'p99 ms':>10}"
          f"{'p50/healthz':>12}")  # fmt: skip
    print(_row("all", figures.pop("all"), base.p50_ms))
    for kind in sorted(figures, key=lambda k: -figures[k].count):
        print(_row(kind, figures[kind], base.p50_ms))
    print()
    print(f"errors: {sum(errors.values())} (warm-up, baseline and mixed load)")
    for outcome, count in errors.most_common():
        print(f"  {count:>6}  {outcome}")
    print(f"exactly once: {check.summary()}")
    for name in ("lost", "wrong_id", "unknown", "unacknowledged"):
        if values := getattr(check, name):
            print(f"  {name}: {', '.join(sorted(values)[:10])}{' ...' if len(values) > 10 else ''}")
    if check.duplicated:
        print(f"  duplicated: {dict(list(check.duplicated.items())[:10])}")
    print(TARGET)
    if errors:
        tail = [line for line in web_log.splitlines() if line.strip()][-40:]
        print("\nlast lines of the gunicorn log:\n" + "\n".join(tail))
    return 0 if not errors and check.ok else 1


def main() -> int:
    args = _parse()
    logging.disable(logging.WARNING)  # the seeding's own logs; the figures are the output
    if connection.vendor != "postgresql":
        raise SystemExit(
            "benchmarks/load.py needs PostgreSQL (the gunicorn workers share the database): "
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
