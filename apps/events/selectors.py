"""Reads of the outbox, scoped to an organization (and the dispatcher's backlog)."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.events.models import Event
from apps.organizations.models import Organization


def event_list(*, organization: Organization, types: list[str] | None = None) -> QuerySet[Event]:
    """An organization's events, oldest first (the order they are delivered in)."""
    events = Event.objects.filter(organization=organization)
    if types:
        events = events.filter(type__in=types)
    return events.order_by("id")


def event_pending(*, organization: Organization | None = None) -> QuerySet[Event]:
    """Events not yet delivered (all organizations when none is given: operations)."""
    events = Event.objects.filter(dispatched_at__isnull=True)
    if organization is not None:
        events = events.filter(organization=organization)
    return events.order_by("id")
