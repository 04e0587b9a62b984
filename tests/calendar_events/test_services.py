"""Calendar events and their chatrooms (apps/calendar_events/services.py, selectors.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.calendar_events.models import CalendarEvent
from apps.calendar_events.selectors import calendar_event_get, calendar_events_of_organization
from apps.calendar_events.services import (
    calendar_event_create,
    calendar_event_delete,
    calendar_event_update,
)
from apps.channels.models import Channel
from apps.channels.selectors.chatrooms import chatroom_assigned_ids, chatroom_for_event
from apps.channels.services.channels import channel_users_ban
from apps.core.errors import DomainError
from apps.events.models import Event
from apps.organizations.services import organization_settings_update
from apps.retention.tasks import channel_scheduled_deletion_sweep
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
END = datetime(2030, 5, 1, 17, 0, tzinfo=UTC)


def _room(org, event) -> Channel:
    return chatroom_for_event(organization=org, event_id=event.pk)


def _assigned(room: Channel) -> list[int]:
    return chatroom_assigned_ids(channels=[room])[room.pk]


@pytest.fixture
def people(org):
    return [MemberFactory(organization=org, user_id=f"p{i}") for i in range(3)]


@pytest.fixture
def event(org, people):
    return calendar_event_create(
        organization=org,
        actor=SYSTEM,
        title="Kick-off",
        starts_at=START,
        ends_at=END,
        participants=people[:2],
    )


def test_create_makes_the_event_and_its_event_chatroom(org, event, people):
    room = _room(org, event)
    assert (room.type, room.display_name, room.calendar_event_id) == ("event", "Kick-off", event.pk)
    assert _assigned(room) == sorted(p.pk for p in people[:2])
    assert room.scheduled_deletion_at == END + timedelta(days=30)
    assert set(event.participants.all()) == set(people[:2])
    entry = AuditEntry.objects.get(action="calendar_event.create")
    assert (entry.target_type, entry.target_id, entry.after["chatroom"]) == (
        "calendar_event",
        str(event.pk),
        room.pk,
    )
    assert Event.objects.filter(type="channel.created").count() == 1


def test_the_retention_comes_from_the_organization(org, people):
    organization_settings_update(organization=org, actor=SYSTEM, event_chatroom_retention_days=2)
    org.refresh_from_db()
    event = calendar_event_create(
        organization=org, actor=SYSTEM, title="t", starts_at=START, ends_at=END, participants=[]
    )
    assert _room(org, event).scheduled_deletion_at == END + timedelta(days=2)


@pytest.mark.parametrize(
    "kwargs, code, field",
    [
        ({"title": ""}, "missing_parameter", "title"),
        ({"title": "x" * 201}, "invalid_parameter", "title"),
        ({"ends_at": START - timedelta(minutes=1)}, "invalid_parameter", "end"),
        ({"starts_at": START.replace(tzinfo=None)}, "invalid_parameter", "start"),
        ({"ends_at": START + timedelta(days=400)}, "invalid_parameter", "end"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(org, kwargs, code, field):
    args = {"title": "t", "starts_at": START, "ends_at": END, **kwargs}
    with pytest.raises(DomainError) as caught:
        calendar_event_create(organization=org, actor=SYSTEM, participants=[], **args)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert not CalendarEvent.objects.exists() and not Channel.objects.exists()


def test_create_refuses_participants_of_another_organization(org, other_org):
    with pytest.raises(DomainError) as caught:
        calendar_event_create(
            organization=org,
            actor=SYSTEM,
            title="t",
            starts_at=START,
            ends_at=END,
            participants=[MemberFactory(organization=other_org)],
        )
    assert caught.value.field == "participants"


def test_moving_the_end_moves_the_scheduled_deletion(org, event):
    new_end = END + timedelta(days=1)
    calendar_event_update(event=event, actor=SYSTEM, ends_at=new_end)
    assert _room(org, event).scheduled_deletion_at == new_end + timedelta(days=30)
    entry = AuditEntry.objects.get(action="calendar_event.update")
    assert entry.before["end"] == "2030-05-01T17:00:00Z"
    assert entry.after["end"] == "2030-05-02T17:00:00Z"


def test_changing_the_participants_resyncs_the_assigned_users(org, event, people):
    calendar_event_update(event=event, actor=SYSTEM, participants=[people[1], people[2]])
    room = _room(org, event)
    assert _assigned(room) == sorted([people[1].pk, people[2].pk])
    assert set(event.participants.all()) == {people[1], people[2]}
    assert Event.objects.get(type="member.left").payload["userIds"] == ["p0"]
    assert Event.objects.filter(type="member.joined").last().payload["userIds"] == ["p2"]


def test_a_participant_banned_from_the_chatroom_stays_out(org, event, people):
    room = _room(org, event)
    channel_users_ban(channel=room, actor=SYSTEM, user_ids=["p2"])
    calendar_event_update(event=event, actor=SYSTEM, participants=people)
    assert _assigned(room) == sorted([people[0].pk, people[1].pk])


def test_a_new_title_renames_the_chatroom(org, event):
    calendar_event_update(event=event, actor=SYSTEM, title="Renamed")
    assert _room(org, event).display_name == "Renamed"


def test_update_refuses_an_end_before_the_start(org, event):
    with pytest.raises(DomainError) as caught:
        calendar_event_update(event=event, actor=SYSTEM, ends_at=START - timedelta(hours=1))
    assert caught.value.field == "end"
    event.refresh_from_db()
    assert event.ends_at == END


def test_the_chatroom_is_purged_by_the_sweep_once_the_retention_is_over(org, people):
    now = timezone.now()
    event = calendar_event_create(
        organization=org,
        actor=SYSTEM,
        title="past",
        starts_at=now - timedelta(days=40),
        ends_at=now - timedelta(days=39),
        participants=people,
    )
    room_pk = Channel.objects.get(calendar_event=event).pk
    with pytest.raises(DomainError):
        chatroom_for_event(organization=org, event_id=event.pk)  # already due: gone
    assert channel_scheduled_deletion_sweep() == 1
    assert not Channel.objects.filter(pk=room_pk).exists()
    assert CalendarEvent.objects.filter(pk=event.pk).exists()  # the event stays
    # moving the end of an event whose chatroom is gone changes the event only
    calendar_event_update(event=event, actor=SYSTEM, ends_at=now)


def test_delete_removes_the_event_and_hides_its_chatroom(org, event):
    room = _room(org, event)
    calendar_event_delete(event=event, actor=SYSTEM)
    assert not CalendarEvent.objects.filter(pk=event.pk).exists()
    room.refresh_from_db()
    assert room.deleted_at is not None and room.scheduled_deletion_at is not None
    assert AuditEntry.objects.filter(action="calendar_event.delete").exists()
    assert channel_scheduled_deletion_sweep() == 1


def test_selectors_are_scoped_to_the_organization(org, other_org, event):
    assert calendar_event_get(organization=org, event_id=event.pk) == event
    with pytest.raises(DomainError) as caught:
        calendar_event_get(organization=other_org, event_id=event.pk)
    assert caught.value.code == "not_found"
    assert list(calendar_events_of_organization(organization=org)) == [event]
    assert list(calendar_events_of_organization(organization=other_org)) == []


def test_the_admin_site_is_read_only(admin_client, event):
    response = admin_client.get("/admin/calendar_events/calendarevent/")
    assert response.status_code == 200 and b"Kick-off" in response.content
    assert admin_client.get("/admin/calendar_events/calendarevent/add/").status_code == 403
