"""The real-worker harness: Celery worker and beat processes, and Redis servers, started
by a test and stopped by it.

Used by ``tests/integration`` (through its conftest) and ``tests/chaos``. The processes
are pointed at pytest-django's test database (``test_<name>``, so the test commits its
rows with ``django_db(transaction=True)``), at a broker (the run's ``CELERY_BROKER_URL``,
or a Redis server of the test's own) and at a media folder shared with the test.
Nothing sleeps as an assertion: :func:`wait_for` polls a condition with a bounded timeout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

from tests.processes import child_pids, free_port

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).parent / "celery")
START_TIMEOUT = 45.0
STOP_TIMEOUT = 15.0


def real_worker_skip_reason() -> str | None:
    """Why real worker processes cannot run here (None when they can): they need
    PostgreSQL, a ``redis://`` or ``amqp://`` broker, tasks not eager, and ``celery``."""
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


def mark_items_in(folder: Path, items: list[pytest.Item], marker: pytest.MarkDecorator) -> None:
    """Add ``marker`` to the collected items under ``folder`` (a conftest's
    ``pytest_collection_modifyitems``, run ``tryfirst`` so that ``-m`` sees it)."""
    for item in items:
        if folder in Path(str(item.path)).parents:
            item.add_marker(marker)


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
    """A process started for one test, in a process group of its own, its output in a
    log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self, ready: str) -> Process:
        """Start it and wait until its output holds ``ready`` (fails if it exits first)."""
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
            pytest.fail(f"{self.name} exited with {self.returncode}:\n{self.output()}")
        return self

    def _died(self) -> bool:
        return self.popen is not None and self.popen.poll() is not None

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def children(self) -> list[int]:
        """Pids of its pool processes."""
        return child_pids(self.pid)

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
    """Starts workers and beats against the test database and a broker (the run's
    ``CELERY_BROKER_URL`` unless ``broker_url`` is given); stops them all."""

    def __init__(self, tmp_path: Path, *, broker_url: str | None = None) -> None:
        self.tmp_path = tmp_path
        self.broker_url = broker_url or settings.CELERY_BROKER_URL
        self.media_root = tmp_path / "media"
        self.media_root.mkdir(exist_ok=True)
        self.processes: list[Process] = []

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": self.broker_url,
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


# --- a Redis server of the test's own --------------------------------------------------------

REDIS_SERVER = shutil.which("redis-server")


class RedisServer:
    """A throw-away ``redis-server`` on a free loopback port: no persistence, so a
    restart comes back empty (the worst case for queued tasks). ``stop()`` and
    ``start()`` again keep the port, as a broker restarted by its supervisor does."""

    def __init__(self, log_dir: Path, *, port: int | None = None) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not on the PATH")
        self.port = port or free_port()
        self.log_dir = log_dir
        self.starts = 0
        self.process: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        assert self.process is None or not self.process.alive, "already running"
        self.starts += 1
        args = [
            str(REDIS_SERVER),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        log = self.log_dir / f"redis-{self.port}-{self.starts}.log"
        self.process = Process(f"redis :{self.port}", args, dict(os.environ), log)
        self.process.start(ready="Ready to accept connections")
        return self

    def stop(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Take the server away at once (SIGKILL by default: no clean shutdown)."""
        if self.process is None or not self.process.alive:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
            os.killpg(self.process.pid, signal.SIGCONT)  # a frozen one too
        assert self.process.popen is not None
        self.process.popen.wait(timeout=STOP_TIMEOUT)

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its port and its connections but answers nothing (as
        a hung host or a network partition would); :meth:`thaw` resumes it."""
        assert self.process is not None and self.process.alive
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.alive:
            os.killpg(self.process.pid, signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.alive

    def output(self) -> str:
        return self.process.output() if self.process else ""


@contextlib.contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Make this process's Celery app publish to ``url`` (and back afterwards): the
    requests a test sends through Django's test client queue their tasks there."""
    from chatadmin.celery import app

    def drop_pools() -> None:
        with contextlib.suppress(Exception):
            if app._pool is not None:
                app._pool.force_close_all()
        app._pool = None  # the connection pool and the producer pool are made again
        app.amqp._producer_pool = None

    # (``broker_url`` would lose to the CELERY_BROKER_URL environment variable; the
    # write and read URLs are read from the configuration first.)
    before = {key: app.conf.get(key) for key in ("broker_write_url", "broker_read_url")}
    drop_pools()
    app.conf.update(broker_write_url=url, broker_read_url=url)
    try:
        yield
    finally:
        drop_pools()
        app.conf.update(before)
