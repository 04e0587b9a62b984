"""Subscribers that record what the dispatcher delivers, and events to deliver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from apps.events.models import Event, EventType
from apps.events.registry import subscribe, unsubscribe
from apps.events.services import event_record
from apps.organizations.models import Organization


class Recorder:
    """A subscriber that records the ids it received; ``fail_on`` makes it raise for
    those event pks (until cleared)."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.fail_on: set[int] = set()

    def __call__(self, event: Event) -> None:
        if event.pk in self.fail_on:
            raise RuntimeError(f"subscriber is down for {event.pk}")
        self.received.append(event.pk)


@pytest.fixture(autouse=True)
def dispatch_requests() -> Iterator[mock.Mock]:
    """The on-commit dispatch requests, recorded instead of sent to the broker."""
    with mock.patch("apps.events.services._request_dispatch") as requests:
        yield requests


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    handler = Recorder()
    subscribe(handler)
    yield handler
    unsubscribe(handler)


def record(organization: Organization, n: int = 1, **payload: Any) -> list[Event]:
    return [
        event_record(
            organization=organization,
            type=EventType.CHANNEL_CREATED,
            payload={"n": i, **payload},
        )
        for i in range(n)
    ]
