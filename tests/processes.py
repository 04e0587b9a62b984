"""Process helpers shared by the test harnesses that start servers (tests/integration,
tests/chaos) and by benchmarks/load.py: standard library only, no Django import."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_pids(parent: int) -> list[int]:
    """The pids whose parent is ``parent`` (a worker pool, gunicorn's workers), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ")"
            after = stat.read_text().rsplit(")", 1)[1].split()
            if int(after[1]) == parent:
                found.append(int(stat.parent.name))
    return found
