"""PostgreSQL restarted under load: clean 503s while it is down, recovery without restarting
the web processes, and no message lost or stored twice.

Each test makes its own world (``tests/chaos/servers.py``): a throwaway PostgreSQL cluster
on a free loopback port, a database migrated with ``manage.py migrate``, an organization
and an admin token made with ``manage.py create_organization`` / ``create_access_token``,
two channels created through the API, and ``gunicorn chatadmin.wsgi`` with 2 sync workers.
It needs neither the suite's database nor ``django_db``: it runs wherever the PostgreSQL
server binaries are (``make test`` on SQLite too), and is skipped with the reason otherwise.

A few clients post messages (each with a unique text) and read pages all along. PostgreSQL
is stopped (``pg_ctl stop -m fast``) for ``CHAOS_OUTAGE_SECONDS`` (default 5; the ``slow``
variant: 60) and started again. Then:

- every answer that was not a 2xx was a 503 ``database_unavailable`` (JSON, with
  ``Retry-After``): no 500, no other status, no connection reset or timeout (10 s);
- there were such 503s while it was down (the outage was really hit, by posts and reads);
- once PostgreSQL accepts connections again, requests succeed again (waited for at most
  ``RECOVERY_TIMEOUT`` seconds, a timeout not a performance target), and after the first
  success no request fails any more;
- the gunicorn workers are the same processes (same pids, none rebooted);
- every message acknowledged with a 2xx is stored exactly once (and none twice).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from . import servers
from .servers import (
    DATABASE_UNAVAILABLE,
    ApiClient,
    Gunicorn,
    LoadRun,
    MixedPlan,
    Result,
    ThrowawayPostgres,
)

OUTAGE_SECONDS = float(os.environ.get("CHAOS_OUTAGE_SECONDS", "5"))
CLIENTS = 4
REQUEST_TIMEOUT = 10.0  # seconds per socket operation: "no hang" means none reaches it
BEFORE_SECONDS = 2.0  # load on a healthy database before the stop
AFTER_SUCCESSES = 40  # successes after the restart before the load stops
RECOVERY_TIMEOUT = 30.0
CHANNELS = ["chaos-1", "chaos-2"]
USERS = [f"member-{i}" for i in range(5)]

_missing = servers.postgres_unavailable_reason() or (
    None if (servers.VENV_BIN / "gunicorn").exists() else "gunicorn is not in .venv/bin"
)
pytestmark = pytest.mark.skipif(_missing is not None, reason=f"fault test skipped: {_missing}")


def stored_markers(pg: ThrowawayPostgres, dbname: str, prefix: str) -> list[tuple[str, str]]:
    """(text, messageId) of every stored message of this run (read with psycopg: the test
    process's Django is configured for the suite's database, not this one)."""
    import psycopg

    from apps.messages.models import Message  # the table's name only; no query through it

    with psycopg.connect(pg.dsn(dbname)) as conn:
        rows = conn.execute(
            f"SELECT data->>'text', public_id::text FROM {Message._meta.db_table} "
            "WHERE data->>'text' LIKE %s",
            [prefix + "-%"],
        ).fetchall()
    return [(text, message_id) for text, message_id in rows]


def _report(results: list[Result], marks: dict[str, float]) -> str:
    start = marks["load"]
    lines = [f"{len(results)} requests; outcomes of the failed ones: "
             f"{dict(servers.outcomes(results))}"]  # fmt: skip
    lines += [f"  {name} at {at - start:.2f} s" for name, at in marks.items()]
    return "\n".join(lines)


def restart_under_load(outage_seconds: float, tmp_path: Path) -> None:
    prefix = f"chaos-{uuid.uuid4().hex[:8]}"
    with ThrowawayPostgres() as pg:
        pg.create_database("chatadmin")
        env = servers.product_env(pg.url("chatadmin"), tmp_path)
        servers.manage(env, "migrate", "--noinput")
        servers.manage(env, "create_organization", "chaos")
        out = servers.manage(
            env, "create_access_token", "--org", "chaos", "--email", "chaos@example.test"
        )
        token = out.strip().splitlines()[-1]

        with Gunicorn(env, workers=2, log=tmp_path / "gunicorn.log") as web:
            servers.seed_channels(ApiClient(web.host, web.port, token), CHANNELS, USERS)
            workers_before = web.worker_pids()
            plan = MixedPlan(
                prefix=prefix,
                channel_ids=CHANNELS,
                user_ids=USERS,
                weights={"post": 3, "read": 2},
            )
            load = LoadRun(
                host=web.host, port=web.port, token=token, plan=plan, clients=CLIENTS,
                seconds=BEFORE_SECONDS + outage_seconds + RECOVERY_TIMEOUT + 60,
                timeout=REQUEST_TIMEOUT, pause=0.01,
            )  # fmt: skip
            marks = {"load": time.monotonic()}
            load.start()
            try:
                time.sleep(BEFORE_SECONDS)
                marks["stop"] = time.monotonic()
                pg.stop("fast")
                marks["stopped"] = time.monotonic()
                time.sleep(outage_seconds)
                marks["start"] = time.monotonic()
                pg.start()
                marks["accepting"] = back = time.monotonic()
                deadline = back + RECOVERY_TIMEOUT
                while time.monotonic() < deadline:
                    after = [r for r in load.snapshot() if r.started >= back and r.ok]
                    if len(after) >= AFTER_SUCCESSES:
                        break
                    time.sleep(0.1)
            finally:
                load.stop()
                results = load.join()
            workers_after = web.worker_pids()
            log = web.log.read_text(errors="replace")
        rows = stored_markers(pg, "chatadmin", prefix)

    report = _report(results, marks)
    print(report)
    stop, back = marks["stop"], marks["accepting"]
    before = [r for r in results if r.ended < stop]
    during = [r for r in results if r.ended >= stop and r.started < back]
    after = [r for r in results if r.started >= back]

    # 1. Healthy before; nothing but clean 503s anywhere.
    assert before and all(r.ok for r in before), report
    unclean = [r for r in results if not r.ok and not _clean_503(r)]
    assert not unclean, f"answers other than 2xx or a clean 503: {unclean[:5]}\n{report}"
    # 2. The outage was hit, by writes and by reads.
    refused = {r.kind for r in during if r.status == 503}
    assert "post" in refused and refused & set(servers.READS), report
    # 3. Recovered, and stays recovered.
    first_ok = next((r for r in after if r.ok), None)
    assert first_ok is not None, f"no success within {RECOVERY_TIMEOUT} s of the restart\n{report}"
    assert sum(r.ok for r in after) >= AFTER_SUCCESSES, report
    late_failures = [r for r in after if r.started >= first_ok.ended and not r.ok]
    assert not late_failures, f"failures after the recovery: {late_failures[:5]}\n{report}"
    print(f"first success {first_ok.ended - back:.2f} s after PostgreSQL accepted connections; "
          f"failures after the restart: {sum(not r.ok for r in after)}")  # fmt: skip
    # 4. The same web processes.
    assert workers_after == workers_before, (workers_before, workers_after, log[-3000:])
    assert "WORKER TIMEOUT" not in log, log[-3000:]
    assert log.count("Booting worker") == 2, log[-3000:]  # none was replaced
    # 5. Exactly once.
    check = servers.check_exactly_once(results, rows)
    print(check.summary())
    assert check.acknowledged > 0 and check.ok, f"{check}\n{report}"


def _clean_503(result: Result) -> bool:
    return (
        result.status == 503
        and result.code == DATABASE_UNAVAILABLE
        and result.content_type.startswith("application/json")
        and result.retry_after is not None
    )


def test_postgresql_restart_under_load(tmp_path: Path) -> None:
    restart_under_load(OUTAGE_SECONDS, tmp_path)


@pytest.mark.slow
def test_postgresql_down_for_a_minute_under_load(tmp_path: Path) -> None:
    restart_under_load(60.0, tmp_path)
