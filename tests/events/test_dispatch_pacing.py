"""The dispatch request after a commit: at most one per process per interval, none lost
(apps.events.services.DispatchPacer, request_dispatch_soon)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from unittest import mock

import pytest
from celery import current_app
from django.db import transaction

from apps.events import services
from apps.events.services import (
    DISPATCH_REQUEST_INTERVAL_SECONDS,
    DispatchPacer,
    event_record,
    request_dispatch_soon,
)
from apps.events.tasks import dispatch_pending


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pacer(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> DispatchPacer:
    """The process's pacer, on a clock the test moves."""
    pacer = DispatchPacer(DISPATCH_REQUEST_INTERVAL_SECONDS, clock=clock)
    monkeypatch.setattr(services, "dispatch_pacer", pacer)
    return pacer


@pytest.fixture
def published() -> Iterator[mock.Mock]:
    """What reaches the broker (Celery's apply_async of the dispatch task)."""
    with mock.patch.object(dispatch_pending, "apply_async") as apply_async:
        yield apply_async


def countdowns(published: mock.Mock) -> list[float]:
    return [c.kwargs.get("countdown", 0.0) for c in published.call_args_list]


def test_the_first_request_goes_at_once(pacer: DispatchPacer) -> None:
    assert pacer.delay() == 0.0


def test_a_request_within_the_interval_waits_for_its_end(pacer, clock) -> None:
    pacer.delay()
    clock.now += 0.1
    assert pacer.delay() == pytest.approx(DISPATCH_REQUEST_INTERVAL_SECONDS - 0.1)


def test_requests_before_a_waiting_one_runs_are_covered_by_it(pacer, clock) -> None:
    pacer.delay()
    clock.now += 0.1
    pacer.delay()  # queued to run at +interval
    for _ in range(3):
        clock.now += 0.1
        assert pacer.delay() is None


def test_under_steady_commits_one_request_goes_per_interval(pacer, clock) -> None:
    """Commits every 10 ms for 5 s: every commit is followed by a request within the
    interval, and there is one request per interval (plus the first)."""
    step = 0.01
    runs: list[float] = []  # when each queued request runs
    for _ in range(500):
        clock.now += step
        delay = pacer.delay()
        if delay is not None:
            runs.append(clock.now + delay)
        # the commit of now is covered by a request that runs after it, soon enough
        assert any(
            clock.now <= run <= clock.now + DISPATCH_REQUEST_INTERVAL_SECONDS for run in runs
        )
    assert len(runs) <= 1 + 5 / DISPATCH_REQUEST_INTERVAL_SECONDS
    assert all(b - a >= DISPATCH_REQUEST_INTERVAL_SECONDS - 1e-9 for a, b in pairwise(runs))


def test_after_a_quiet_interval_a_request_goes_at_once_again(pacer, clock) -> None:
    pacer.delay()
    clock.now += 0.1
    pacer.delay()
    clock.now += 2 * DISPATCH_REQUEST_INTERVAL_SECONDS
    assert pacer.delay() == 0.0


@pytest.mark.django_db(transaction=True)
def test_commits_in_a_burst_queue_one_task_now_and_one_at_the_intervals_end(
    org, pacer, clock, published, dispatch_requests
) -> None:
    dispatch_requests.side_effect = request_dispatch_soon  # the real request, on commit
    for n in range(5):
        with transaction.atomic():
            event_record(organization=org, type="user.created", payload={"n": n})
        clock.now += 0.01

    assert countdowns(published) == [0.0, pytest.approx(DISPATCH_REQUEST_INTERVAL_SECONDS - 0.01)]


@pytest.mark.django_db(transaction=True)
def test_with_tasks_run_inline_every_commit_dispatches_at_once(
    org, pacer, published, dispatch_requests
) -> None:
    dispatch_requests.side_effect = request_dispatch_soon
    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        for n in range(3):
            with transaction.atomic():
                event_record(organization=org, type="user.created", payload={"n": n})
    finally:
        current_app.conf.task_always_eager = eager

    assert countdowns(published) == [0.0, 0.0, 0.0]
