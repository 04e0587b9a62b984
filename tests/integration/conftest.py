"""The integration harness: real Celery worker and beat processes on a real broker.

These tests run only on PostgreSQL with a Redis or RabbitMQ broker (``.ci/run`` sets
both); elsewhere they are skipped with the reason. Each test commits its rows
(``django_db(transaction=True)``) in pytest-django's test database, and the processes
started here are pointed at that same database (``test_<name>``), at the same broker,
and at a media folder shared with the test. They are stopped (TERM, then KILL) before
the test database is flushed. Nothing sleeps as an assertion: ``wait_for`` polls a
condition with a bounded timeout. The harness itself lives in ``harness.py`` (the
chaos tests use it too).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import (
    CELERY,
    ROOT,
    START_TIMEOUT,
    STOP_TIMEOUT,
    Cluster,
    Process,
    mark_items_in,
    purge_broker,
    real_worker_skip_reason,
    test_database_url,
    wait_for,
)

__all__ = [
    "CELERY",
    "ROOT",
    "START_TIMEOUT",
    "STOP_TIMEOUT",
    "Cluster",
    "Process",
    "purge_broker",
    "test_database_url",
    "wait_for",
]


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_items_in(Path(__file__).parent, items, pytest.mark.integration)


@pytest.fixture(autouse=True)
def _integration_environment() -> None:
    reason = real_worker_skip_reason()
    if reason:
        pytest.skip(reason)


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
