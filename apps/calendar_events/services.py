"""Writes on calendar events. Each event owns one chatroom of type ``event``: named after
the event, its assigned users follow the event's participants, and its
``scheduled_deletion_at`` is the event's end plus the organization's
``event_chatroom_retention_days`` (the scheduled-deletion sweep purges it then).

Every function is keyword-only and atomic, and records an audit entry
(``calendar_event.*``) and outbox events (through the chatroom's channel) in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.calendar_events.models import CalendarEvent
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.channels.services.chatrooms import (
    chatroom_assign,
    chatroom_event_record,
    chatroom_remove_locked,
    new_chatroom_channel_id,
)
from apps.core.errors import DomainError
from apps.core.sweeps import iso
from apps.events.models import EventType
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.retention.services import channel_scheduled_deletion_write

_TARGET = "calendar_event"
MAX_TITLE_LENGTH = 200
#: Most participants of one event.
MAX_PARTICIPANTS = 1000
#: The longest event accepted (a sanity bound).
MAX_EVENT_DURATION = timedelta(days=366)


def _clean_title(title: str | None, *, required: bool) -> str | None:
    if title is None and not required:
        return None
    title = (title or "").strip()
    if not title:
        raise DomainError("missing_parameter", "title: give the event a title.", field="title")
    if len(title) > MAX_TITLE_LENGTH:
        raise DomainError(
            "invalid_parameter", f"title: at most {MAX_TITLE_LENGTH} characters.", field="title"
        )
    return title


def _check_time(value: datetime, field: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise DomainError(
            "invalid_parameter", f"{field}: a date and time with a timezone (e.g. Z).", field=field
        )


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    _check_time(starts_at, "start")
    _check_time(ends_at, "end")
    if ends_at < starts_at:
        raise DomainError("invalid_parameter", "end: must not be before the start.", field="end")
    if ends_at - starts_at > MAX_EVENT_DURATION:
        raise DomainError(
            "invalid_parameter",
            f"end: an event lasts at most {MAX_EVENT_DURATION.days} days.",
            field="end",
        )


def _clean_participants(organization: Organization, participants: Sequence[Member]) -> list[Member]:
    unique = list({m.pk: m for m in participants}.values())
    if len(unique) > MAX_PARTICIPANTS:
        raise DomainError(
            "invalid_parameter",
            f"participants: at most {MAX_PARTICIPANTS}.",
            field="participants",
        )
    if any(m.organization_id != organization.pk for m in unique):
        raise DomainError(
            "invalid_parameter",
            "participants: members of another organization.",
            field="participants",
        )
    return unique


def event_chatroom_deletion_at(*, organization: Organization, ends_at: datetime) -> datetime:
    """When an event's chatroom is deleted: its end plus the organization's retention."""
    return ends_at + timedelta(days=organization.event_chatroom_retention_days)


def _snapshot(event: CalendarEvent, participants: Sequence[int]) -> dict[str, Any]:
    return {
        "title": event.title,
        "start": iso(event.starts_at),
        "end": iso(event.ends_at),
        "participants": sorted(participants),
    }


def _chatroom_of(event: CalendarEvent) -> Channel | None:
    """The event's chatroom row, locked, while it is not removed, closed or purged."""
    return (
        Channel.objects.select_for_update(of=("self",))
        .select_related("organization")
        .filter(
            calendar_event=event,
            type=Channel.Type.EVENT,
            deleted_at__isnull=True,
            closed_at__isnull=True,
        )
        .first()
    )


@transaction.atomic
def calendar_event_create(
    *,
    organization: Organization,
    actor: Actor,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    participants: Sequence[Member],
) -> CalendarEvent:
    """A new event and its chatroom (type event, named after the event, the participants
    assigned, deleted at the end + retention). Audited as ``calendar_event.create``."""
    title = _clean_title(title, required=True)
    _check_window(starts_at, ends_at)
    people = _clean_participants(organization, participants)
    event = CalendarEvent.objects.create(
        organization=organization, title=title, starts_at=starts_at, ends_at=ends_at
    )
    event.participants.set(people)
    channel = channel_create(
        organization=organization,
        actor=actor,
        channel_id=new_chatroom_channel_id("event"),
        type=Channel.Type.EVENT,
        display_name=title,
        user_ids=[m.user_id for m in people],
    )
    channel.calendar_event = event
    channel_scheduled_deletion_write(
        channel,
        at=event_chatroom_deletion_at(organization=organization, ends_at=ends_at),
        update_fields=["calendar_event"],
    )
    audit_record(
        organization=organization,
        actor=actor,
        action="calendar_event.create",
        target_type=_TARGET,
        target_id=str(event.pk),
        after={
            **_snapshot(event, [m.pk for m in people]),
            "chatroom": channel.pk,
            "scheduledDeletion": iso(channel.scheduled_deletion_at),
        },
    )
    return event


@transaction.atomic
def calendar_event_update(
    *,
    event: CalendarEvent,
    actor: Actor,
    title: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    participants: Sequence[Member] | None = None,
) -> CalendarEvent:
    """Change an event (None: unchanged). A new end moves its chatroom's scheduled
    deletion (end + retention); new participants REPLACE the chatroom's assigned users
    (a member banned from the chatroom stays out); a new title renames the chatroom.
    Audited as ``calendar_event.update``."""
    event = (
        CalendarEvent.objects.select_for_update().select_related("organization").get(pk=event.pk)
    )
    organization = event.organization
    title = _clean_title(title, required=False)
    new_start = starts_at if starts_at is not None else event.starts_at
    new_end = ends_at if ends_at is not None else event.ends_at
    if starts_at is not None or ends_at is not None:
        _check_window(new_start, new_end)
    people = _clean_participants(organization, participants) if participants is not None else None
    before = _snapshot(event, list(event.participants.values_list("pk", flat=True)))
    fields: list[str] = []
    if title is not None and title != event.title:
        event.title = title
        fields.append("title")
    if new_start != event.starts_at:
        event.starts_at = new_start
        fields.append("starts_at")
    if new_end != event.ends_at:
        event.ends_at = new_end
        fields.append("ends_at")
    if fields:
        event.save(update_fields=[*fields, "updated_at"])
    if people is not None:
        event.participants.set(people)
    channel = _chatroom_of(event)
    chatroom_after: dict[str, Any] = {}
    if channel is not None:
        channel_fields: list[str] = []
        if "title" in fields:
            channel.display_name = event.title
            channel_fields.append("display_name")
        if "ends_at" in fields:  # the deletion moves; its writer saves a rename with it
            channel_scheduled_deletion_write(
                channel,
                at=event_chatroom_deletion_at(organization=organization, ends_at=event.ends_at),
                update_fields=channel_fields,
            )
        elif channel_fields:
            channel.save(update_fields=[*channel_fields, "updated_at"])
        if channel_fields or "ends_at" in fields:
            chatroom_event_record(
                channel,
                EventType.CHANNEL_UPDATED,
                actor,
                displayName=channel.display_name,
                scheduledDeletion=iso(channel.scheduled_deletion_at),
            )
        if people is not None:
            chatroom_assign(channel=channel, actor=actor, members=people, skip_banned=True)
        chatroom_after = {
            "chatroom": channel.pk,
            "scheduledDeletion": iso(channel.scheduled_deletion_at),
        }
    after = _snapshot(event, list(event.participants.values_list("pk", flat=True)))
    audit_record(
        organization=organization,
        actor=actor,
        action="calendar_event.update",
        target_type=_TARGET,
        target_id=str(event.pk),
        before=before,
        after={**after, **chatroom_after},
    )
    return event


@transaction.atomic
def calendar_event_delete(*, event: CalendarEvent, actor: Actor) -> None:
    """Delete an event; its chatroom is removed like a deleted custom chatroom (hidden at
    once, purged at now + the organization's grace). Audited as ``calendar_event.delete``."""
    event = (
        CalendarEvent.objects.select_for_update().select_related("organization").get(pk=event.pk)
    )
    before = _snapshot(event, list(event.participants.values_list("pk", flat=True)))
    channel = _chatroom_of(event)
    if channel is not None:
        chatroom_remove_locked(channel, actor, "chatroom.delete")
    audit_record(
        organization=event.organization,
        actor=actor,
        action="calendar_event.delete",
        target_type=_TARGET,
        target_id=str(event.pk),
        before={**before, "chatroom": channel.pk if channel is not None else None},
    )
    event.delete()
