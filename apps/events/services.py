"""Writing domain events. Call inside the transaction of the change (like the audit)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.organizations.models import Organization

from .models import Event


def event_record(*, organization: Organization, type: str, payload: dict[str, Any]) -> Event:
    """Append an event to the outbox, in the caller's transaction; a dispatch is
    requested once the transaction commits (the beat sweep catches up if that is lost)."""
    event = Event.objects.create(organization=organization, type=type, payload=payload)
    transaction.on_commit(_request_dispatch)
    return event


def _request_dispatch() -> None:
    from .tasks import request_dispatch

    request_dispatch()
