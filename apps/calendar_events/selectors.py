"""Reads on an organization's calendar events."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.calendar_events.models import CalendarEvent
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.organizations.models import Organization


def calendar_events_of_organization(*, organization: Organization) -> QuerySet[CalendarEvent]:
    """The organization's events, by start, participants prefetched (one extra query)."""
    return (
        CalendarEvent.objects.filter(organization=organization)
        .order_by("starts_at", "pk")
        .prefetch_related(Prefetch("participants", queryset=Member.objects.order_by("pk")))
    )


def calendar_event_get(
    *, organization: Organization, event_id: int, field: str = "event_id"
) -> CalendarEvent:
    """The organization's event (404 ``not_found`` for an unknown id or another
    organization's)."""
    if isinstance(event_id, bool) or not isinstance(event_id, int) or event_id < 1:
        raise DomainError("not_found", "Event not found.", field=field)
    event = CalendarEvent.objects.filter(organization=organization, pk=event_id).first()
    if event is None:
        raise DomainError("not_found", "Event not found.", field=field)
    return event
