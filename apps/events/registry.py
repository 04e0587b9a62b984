"""Subscribers of the outbox: who receives the domain events the dispatcher delivers.

A subscriber is a callable that takes one :class:`~apps.events.models.Event`. It is
called by the dispatcher (in a Celery worker), in event id order, at least once per
event: a subscriber that raises makes the dispatcher deliver the event again later (to
every subscriber), so subscribers must be idempotent (``event.event_id`` is unique) and
quick (push slow work such as HTTP calls into a task of their own).

Register at start-up, from an ``AppConfig.ready()``::

    from apps.events.registry import subscribe

    subscribe(my_handler, types=["message.created", "message.deleted"])
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from apps.events.models import Event, EventType

logger = logging.getLogger("chatadmin.events")

Handler = Callable[[Event], object]


@dataclass(frozen=True)
class Subscription:
    handler: Handler
    types: frozenset[str] | None  # None: every type

    @property
    def name(self) -> str:
        handler = self.handler
        return f"{getattr(handler, '__module__', '?')}.{getattr(handler, '__qualname__', handler)}"

    def wants(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types


_subscriptions: list[Subscription] = []


def subscribe(handler: Handler, types: Iterable[str] | None = None) -> Handler:
    """Deliver events (of these ``types``, or all) to ``handler``. Subscribing the same
    handler again replaces its earlier subscription. Returns the handler."""
    wanted = None if types is None else frozenset(str(t) for t in types)
    if wanted is not None:
        unknown = wanted - set(EventType.values)
        if unknown:
            raise ValueError(f"Unknown event types: {sorted(unknown)}")
    unsubscribe(handler)
    _subscriptions.append(Subscription(handler=handler, types=wanted))
    return handler


def unsubscribe(handler: Handler) -> None:
    _subscriptions[:] = [s for s in _subscriptions if s.handler is not handler]


def subscriptions_for(event_type: str) -> list[Subscription]:
    """The subscriptions that receive an event of this type, in subscription order."""
    return [s for s in _subscriptions if s.wants(event_type)]


def log_event(event: Event) -> None:
    """The built-in subscriber: logs every event at DEBUG (so the path always runs)."""
    logger.debug(
        "event %s %s org=%s id=%s payload=%s",
        event.type,
        event.event_id,
        event.organization_id,
        event.pk,
        event.payload,
    )
