"""The integration harness: real Celery worker and beat processes on a real broker.

These tests run only on PostgreSQL with a Redis or RabbitMQ broker (``.ci/run`` sets
both); elsewhere they are skipped with the reason. Each test commits its rows
(``django_db(transaction=True)``) in pytest-django's test database, and the processes
started here are pointed at that same database (``test_<name>``), at the same broker,
and at a media folder shared with the test. They are stopped (TERM, then KILL) before
the test database is flushed. Nothing sleeps as an assertion: ``wait_for`` polls a
condition with a bounded timeout.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")
START_TIMEOUT = 45.0
STOP_TIMEOUT = 15.0


def _skip_reason() -> str | None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        return "integration tests need PostgreSQL (DATABASE_URL=postgres://...); .ci/run sets it"
    broker = str(getattr(settings, "CELERY_BROKER_URL", ""))
    if not broker.startswith(("redis://", "rediss://", "amqp://", "amqps://")):
        return (
            "integration tests need a real broker (CELERY_BROKER_URL=redis://... or amqp://...);"
            " .ci/run sets it"
        )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "integration tests need CELERY_TASK_ALWAYS_EAGER off"
    if not os.access(CELERY, os.X_OK):
        return f"no celery executable at {CELERY}"
    return None


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(autouse=True)
def _integration_environment() -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)


def wait_for[T](
    condition: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll ``condition`` until it returns something truthy (returned), or fail after
    ``timeout`` seconds saying what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what or condition!r}")
        time.sleep(interval)


def test_database_url() -> str:
    """DATABASE_URL with the database name of pytest-django's test database."""
    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


test_database_url.__test__ = False  # type: ignore[attr-defined]  # not a test


class Process:
    """A Celery process started for one test, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, ready: str) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop it and its children
            )
        wait_for(
            lambda: ready in self.output() or self._died(),
            timeout=START_TIMEOUT,
            what=f"{self.name} to log {ready!r}",
        )
        if self._died():
            pytest.fail(f"{self.name} exited with {self.popen.returncode}:\n{self.output()}")
        return self

    def _died(self) -> bool:
        return self.popen is not None and self.popen.poll() is not None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def children(self) -> list[int]:
        """Pids of its pool processes (from /proc)."""
        found = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            ppid = next((ln.split()[1] for ln in text.splitlines() if ln.startswith("PPid:")), "")
            if ppid == str(self.pid):
                found.append(int(status.parent.name))
        return found

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and pool): no clean-up at all."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_TIMEOUT)

    def stop(self) -> None:
        """TERM (warm shutdown), then KILL if it does not end in time."""
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
            self.popen.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
        except ProcessLookupError:
            pass


class Cluster:
    """Starts workers and beats against the test database and broker; stops them all."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.media_root = tmp_path / "media"
        self.media_root.mkdir(exist_ok=True)
        self.processes: list[Process] = []

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "DJANGO_SETTINGS_MODULE": "chatadmin.settings",
            "DJANGO_MEDIA_ROOT": str(self.media_root),
            "CHATADMIN_VAR_DIR": str(self.tmp_path / "var"),
            "CHATADMIN_SWEEP_INTERVAL_SECONDS": "1",
            "DB_CONN_MAX_AGE": "0",
            "PYTHONUNBUFFERED": "1",
        }
        env.update(extra or {})
        return env

    def worker(
        self,
        *,
        beat: bool = False,
        env: dict[str, str] | None = None,
        loglevel: str = "INFO",
        concurrency: int = 1,
    ) -> Process:
        name = f"w{len(self.processes)}-{uuid.uuid4().hex[:6]}"
        args = [
            CELERY,
            "-A",
            "chatadmin",
            "worker",
            f"--loglevel={loglevel}",
            f"--concurrency={concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname={name}@%h",
        ]
        if beat:
            args += ["--beat", f"--schedule={self.tmp_path / f'{name}-beat-schedule'}"]
        process = Process(f"worker {name}", args, self.env(env), self.tmp_path / f"{name}.log")
        self.processes.append(process)
        return process.start(ready=" ready.")

    def beat(self, *, env: dict[str, str] | None = None) -> Process:
        name = f"b{len(self.processes)}-{uuid.uuid4().hex[:6]}"
        args = [
            CELERY,
            "-A",
            "chatadmin",
            "beat",
            "--loglevel=DEBUG",  # logs each "Sending due task"
            f"--schedule={self.tmp_path / f'{name}-beat-schedule'}",
        ]
        process = Process(f"beat {name}", args, self.env(env), self.tmp_path / f"{name}.log")
        self.processes.append(process)
        return process.start(ready="beat: Starting")

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.output()[-4000:]}" for p in self.processes)


def purge_broker() -> int:
    """Drop every message left in the default queue by an earlier run."""
    from chatadmin.celery import app

    return app.control.purge() or 0


@pytest.fixture
def cluster(transactional_db: None, tmp_path: Path, settings: Any) -> Iterator[Cluster]:
    """Start processes with ``cluster.worker()`` / ``cluster.beat()``; all are stopped at
    teardown, before pytest-django flushes the test database. The test process's own
    MEDIA_ROOT is the processes' one, so files written here are seen there."""
    purge_broker()
    made = Cluster(tmp_path)
    settings.MEDIA_ROOT = str(made.media_root)
    try:
        yield made
    finally:
        made.stop_all()
        purge_broker()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On failure, append the processes' logs to the report."""
    report = yield
    made = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and made is not None:
        report.sections.append(("celery processes", made.logs()))
    return report
