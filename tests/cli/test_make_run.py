"""``make run`` stops cleanly when its process group gets a TERM (issue 16).

The defect: a TERM to make's process group (what a terminal's window close, a process
supervisor or ``kill -- -PGID`` sends) reached the Celery worker's pool processes as well;
one killed while it held the pool's queue lock left the worker waiting for that lock at
exit, forever ("beat: Shutting down..." was its last word), until a SIGKILL. The worker
now runs in a session of its own and is stopped by the recipe's EXIT trap only: a warm
shutdown, with a cold one and then a KILL as the trap's fallbacks, each announced.

The test runs the real ``make run`` (embedded mode: SQLite and the filesystem broker in a
temporary folder, ``CHATADMIN_VAR_DIR``), TERMs the group once the web server answers and
the worker is ready, and checks that everything is gone, that the worker stopped by its
warm shutdown (the trap's fallbacks never needed; the trap is given ample time, so a slow
machine cannot fail it) and that no pool process was killed by a signal. It takes 20-60 s
(migrations and the demo data first), so it is marked ``integration``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.harness import wait_for
from tests.processes import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
#: Generous bounds (polled, never slept): the first run migrates a fresh SQLite file.
START_TIMEOUT = 240.0
STOP_TIMEOUT = 60.0
#: The trap's warm-shutdown wait, far above what a warm shutdown takes, so that only a
#: hang (the defect) reaches the fallbacks.
RUN_STOP_SECONDS = 45


def _environment(var_dir: Path) -> dict[str, str]:
    """The test run's environment minus what would point ``make run`` elsewhere: its own
    var folder, SQLite, the filesystem broker, the product's settings in debug."""
    dropped = ("DATABASE_URL", "CELERY_", "CHATADMIN_", "DJANGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["CHATADMIN_VAR_DIR"] = str(var_dir)
    return env


def _session_alive(sid: int) -> list[int]:
    """The pids of the live (non-zombie) processes of session or process group ``sid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            after = stat.read_text().rsplit(")", 1)[1].split()
            state, pgrp, session = after[0], int(after[2]), int(after[3])
            if state != "Z" and sid in (pgrp, session):
                found.append(int(stat.parent.name))
    return found


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.skipif(not shutil.which("make"), reason="needs make")
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_term_to_the_process_group_stops_web_and_worker_by_a_warm_shutdown(
    tmp_path: Path,
) -> None:
    port = free_port()
    output = tmp_path / "make.log"
    var_dir = tmp_path / "var"
    command = [
        "make",
        "--no-print-directory",
        "-o",
        str(VENV / ".installed"),  # the test's own venv is installed: never pip here
        "run",
        f"VENV={VENV}",
        f"PORT={port}",
        f"RUN_STOP_SECONDS={RUN_STOP_SECONDS}",
    ]
    with output.open("wb") as sink:
        make = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_environment(var_dir),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make leads a process group, as in a terminal
        )
    worker = 0
    try:
        wait_for(
            lambda: _answers(f"http://127.0.0.1:{port}/healthz") or make.poll() is not None,
            timeout=START_TIMEOUT,
            what="make run's web server",
        )
        assert make.poll() is None, output.read_text(errors="replace")
        started = re.search(r"Celery worker with beat started, pid (\d+)", output.read_text())
        assert started, output.read_text(errors="replace")
        worker = int(started.group(1))
        worker_log = var_dir / "worker.log"
        wait_for(
            lambda: worker_log.exists() and " ready." in worker_log.read_text(errors="replace"),
            timeout=START_TIMEOUT,
            what="the Celery worker's 'ready'",
        )
        # The worker has a session of its own: the group TERM does not reach it directly.
        assert worker not in _session_alive(make.pid)

        os.killpg(make.pid, signal.SIGTERM)

        make.wait(timeout=STOP_TIMEOUT)
        wait_for(
            lambda: not _session_alive(make.pid) and not _session_alive(worker),
            timeout=STOP_TIMEOUT,
            what="every process of make run to be gone",
        )
        said = output.read_text(errors="replace")
        log = worker_log.read_text(errors="replace")
        assert "Celery worker stopped." in said
        assert "did not stop" not in said  # no cold shutdown, no KILL
        assert "Warm shutdown" in log
        assert "exited with 'signal" not in log  # no pool process killed by a signal
    finally:
        for group in (make.pid, worker):
            if group:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            make.wait(timeout=5)
