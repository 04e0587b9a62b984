"""Fault tests: the product under a stopped database, a stopped broker, a killed worker.

Everything under ``tests/chaos`` is marked ``chaos``. ``.ci/run`` runs
``-m "chaos and not slow"``; ``make chaos`` runs them all (``-m chaos``). Each test starts
and stops the servers it breaks itself (its own PostgreSQL cluster or Redis server on a
free loopback port), so the machine's services are never touched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import (
    REDIS_SERVER,
    Cluster,
    RedisServer,
    celery_broker,
    mark_items_in,
    real_worker_skip_reason,
)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_items_in(Path(__file__).parent, items, pytest.mark.chaos)


# --- real workers on a Redis server of the test's own (test_broker_outage, test_sweep_kill) --


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A ``redis-server`` of the test's own on a free port (stopped at teardown). Skips
    without PostgreSQL and a real broker (as the integration tests do) or without
    ``redis-server`` on the PATH."""
    reason = real_worker_skip_reason()
    if reason:
        pytest.skip(reason.replace("integration tests", "chaos tests with real workers"))
    if REDIS_SERVER is None:
        pytest.skip("chaos tests with real workers need redis-server on the PATH")
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cluster(
    transactional_db: None, tmp_path: Path, settings: Any, redis_server: RedisServer
) -> Iterator[Cluster]:
    """Workers and beats (``cluster.worker()``, ``cluster.beat()``) on ``redis_server``,
    and this process's Celery app publishing there too (so requests sent with a test
    client queue their tasks on it); everything is stopped and restored at teardown,
    before pytest-django flushes the test database."""
    made = Cluster(tmp_path, broker_url=redis_server.url)
    settings.MEDIA_ROOT = str(made.media_root)
    settings.CELERY_BROKER_URL = redis_server.url
    with celery_broker(redis_server.url):
        try:
            yield made
        finally:
            made.stop_all()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On failure, append the worker, beat and Redis logs to the report."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    made, server = funcargs.get("cluster"), funcargs.get("redis_server")
    if report.failed and made is not None:
        report.sections.append(("celery processes", made.logs()))
    if report.failed and server is not None:
        report.sections.append(("redis-server", server.output()[-2000:]))
    return report
