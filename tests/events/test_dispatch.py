"""The outbox dispatcher: order, at-least-once, one dispatcher at a time."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from django.utils import timezone

from apps.events import services
from apps.events.models import DispatchLock, Event, EventType
from apps.events.registry import log_event, subscribe, subscriptions_for, unsubscribe
from apps.events.services import events_dispatch, retry_delay
from apps.events.tasks import dispatch_pending

from .conftest import Recorder, record


def make_due(*events: Event) -> None:
    """Let time pass: the failed events' retry time has come."""
    Event.objects.filter(pk__in=[e.pk for e in events]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


# --- order -------------------------------------------------------------------------------


def test_it_delivers_pending_events_in_id_order_and_stamps_them(
    org, other_org, recorder: Recorder
) -> None:
    events = [*record(org, 2), *record(other_org, 1), *record(org, 2)]

    result = events_dispatch()

    assert result.delivered == 5 and result.failed == 0
    assert recorder.received == [e.pk for e in events]
    for event in Event.objects.all():
        assert event.dispatched_at is not None
        assert event.attempts == 1
        assert event.last_error == ""


def test_it_claims_in_batches_and_still_delivers_everything_in_order(
    org, recorder: Recorder
) -> None:
    events = record(org, 7)

    result = events_dispatch(batch_size=3)

    assert result.delivered == 7
    assert recorder.received == [e.pk for e in events]


def test_it_delivers_only_the_types_a_subscriber_asked_for(org) -> None:
    got: list[str] = []

    def only_messages(event: Event) -> None:
        got.append(event.type)

    subscribe(only_messages, types=[EventType.MESSAGE_CREATED])
    try:
        record(org, 1)
        services.event_record(organization=org, type=EventType.MESSAGE_CREATED, payload={})
        events_dispatch()
    finally:
        unsubscribe(only_messages)
    assert got == ["message.created"]
    assert Event.objects.filter(dispatched_at__isnull=True).count() == 0


def test_it_refuses_a_subscription_to_an_unknown_type() -> None:
    with pytest.raises(ValueError):
        subscribe(lambda event: None, types=["message.exploded"])


def test_the_built_in_subscriber_logs_every_event_at_debug(org, caplog) -> None:
    assert any(s.handler is log_event for s in subscriptions_for("user.created"))
    (event,) = record(org, 1)
    with caplog.at_level(logging.DEBUG, logger="chatadmin.events"):
        events_dispatch()
    assert any(str(event.event_id) in r.getMessage() for r in caplog.records)


# --- at least once -----------------------------------------------------------------------


def test_a_failing_subscriber_leaves_the_event_pending_with_backoff_and_it_is_retried(
    org, recorder: Recorder
) -> None:
    (event,) = record(org, 1)
    recorder.fail_on = {event.pk}

    result = events_dispatch()

    assert result.delivered == 0 and result.failed == 1
    event.refresh_from_db()
    assert event.dispatched_at is None
    assert event.attempts == 1
    assert "subscriber is down" in event.last_error
    assert event.next_attempt_at > timezone.now()

    # not retried before its time has come
    assert events_dispatch().delivered == 0
    event.refresh_from_db()
    assert event.attempts == 1

    recorder.fail_on = set()
    make_due(event)
    assert events_dispatch().delivered == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.attempts == 2
    assert event.last_error == "" and event.next_attempt_at is None
    assert recorder.received == [event.pk]


def test_a_failure_holds_back_the_organizations_later_events_but_not_other_organizations(
    org, other_org, recorder: Recorder
) -> None:
    first, second = record(org, 2)
    (elsewhere,) = record(other_org, 1)
    recorder.fail_on = {first.pk}

    events_dispatch()

    assert recorder.received == [elsewhere.pk]
    second.refresh_from_db()
    assert second.dispatched_at is None and second.attempts == 0  # never tried

    (third,) = record(org, 1)
    events_dispatch()
    assert recorder.received == [elsewhere.pk]  # still waiting behind the failure

    recorder.fail_on = set()
    make_due(first)
    events_dispatch()
    assert recorder.received == [elsewhere.pk, first.pk, second.pk, third.pk]


def test_every_subscriber_gets_the_event_again_when_one_of_them_failed(
    org, recorder: Recorder
) -> None:
    """At least once, not exactly once: subscribers must be idempotent."""
    flaky = Recorder()
    subscribe(flaky)
    try:
        (event,) = record(org, 1)
        flaky.fail_on = {event.pk}
        events_dispatch()
        flaky.fail_on = set()
        make_due(event)
        events_dispatch()
    finally:
        unsubscribe(flaky)
    assert recorder.received == [event.pk, event.pk]
    assert flaky.received == [event.pk]


def test_the_retry_backoff_grows_and_is_capped() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(1, 10)]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == services.RETRY_MAX_SECONDS
    assert delays == sorted(delays)


# --- one dispatcher at a time ------------------------------------------------------------


def test_running_the_dispatcher_twice_delivers_each_event_once(org, recorder: Recorder) -> None:
    events = record(org, 3)

    dispatch_pending.apply()  # the task, run inline
    dispatch_pending.apply()

    assert recorder.received == [e.pk for e in events]


def test_a_second_dispatcher_backs_off_while_the_lease_is_held_and_asks_for_a_rerun(
    org, recorder: Recorder
) -> None:
    record(org, 2)
    DispatchLock.objects.update_or_create(
        pk=1,
        defaults={"holder": "someone-else", "lease_until": timezone.now() + timedelta(minutes=1)},
    )

    result = events_dispatch()

    assert result.ran is False and recorder.received == []
    assert DispatchLock.objects.get(pk=1).rerun is True


def test_the_holder_looks_again_when_a_rerun_was_asked_for_while_it_dispatched(
    org, recorder: Recorder
) -> None:
    """An event committed while the holder was finishing is not left for the beat."""
    (first,) = record(org, 1)
    late: list[Event] = []

    def second_dispatcher_arrives(event: Event) -> None:
        if not late:
            late.extend(record(org, 1))  # committed meanwhile
            assert events_dispatch().ran is False  # sets rerun on the held lease

    subscribe(second_dispatcher_arrives)
    try:
        events_dispatch()
    finally:
        unsubscribe(second_dispatcher_arrives)
    assert recorder.received == [first.pk, late[0].pk]
    lock = DispatchLock.objects.get(pk=1)
    assert lock.holder == "" and lock.rerun is False


def test_an_expired_lease_of_a_dead_dispatcher_is_taken_over(org, recorder: Recorder) -> None:
    events = record(org, 2)
    DispatchLock.objects.update_or_create(
        pk=1, defaults={"holder": "dead", "lease_until": timezone.now() - timedelta(seconds=1)}
    )

    assert events_dispatch().delivered == 2
    assert recorder.received == [e.pk for e in events]
    assert DispatchLock.objects.get(pk=1).holder == ""


def test_it_gives_the_lease_back_when_a_batch_blows_up(org) -> None:
    record(org, 1)
    with (
        mock.patch.object(services, "_claim", side_effect=RuntimeError("db gone")),
        pytest.raises(RuntimeError),
    ):
        events_dispatch()
    assert DispatchLock.objects.get(pk=1).holder == ""


def test_a_dispatcher_out_of_time_hands_over_to_a_fresh_task(org, recorder: Recorder) -> None:
    record(org, 3)
    with (
        mock.patch.object(services, "DISPATCH_TIME_BUDGET_SECONDS", 0.0),
        mock.patch("apps.events.tasks.request_dispatch") as requeue,
    ):
        dispatch_pending.apply()
    requeue.assert_called_once_with()
    assert DispatchLock.objects.get(pk=1).holder == ""


def test_with_nothing_pending_it_does_not_touch_the_lock(org, django_assert_num_queries) -> None:
    with django_assert_num_queries(2):  # backing-off organizations, then EXISTS pending
        assert events_dispatch().delivered == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_deliver_each_event_once(org) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("threads share no in-memory SQLite test database; PostgreSQL runs it")
    events = record(org, 30)
    seen: list[int] = []
    lock = threading.Lock()

    def slow(event: Event) -> None:
        time.sleep(0.01)
        with lock:
            seen.append(event.pk)

    subscribe(slow)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(3):
                events_dispatch(batch_size=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=run) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors
        events_dispatch()  # whatever a backed-off thread left (none expected)
    finally:
        unsubscribe(slow)
    assert sorted(seen) == [e.pk for e in events]
    assert seen == sorted(seen)
