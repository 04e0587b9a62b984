"""Fault tests: the product under a stopped database, a stopped broker, a killed worker.

Everything under ``tests/chaos`` is marked ``chaos``. ``.ci/run`` runs
``-m "chaos and not slow"``; ``make chaos`` runs them all (``-m chaos``). Each test starts
and stops the servers it breaks itself (its own PostgreSQL cluster or Redis server on a
free loopback port), so the machine's services are never touched.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.chaos)
