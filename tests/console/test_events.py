"""Console pages for an organization's events: list, create, edit; each event's chatroom."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.calendar_events.models import CalendarEvent
from apps.calendar_events.services import calendar_event_create
from apps.channels.models import Channel, Membership
from apps.members.models import Member
from apps.organizations.models import Organization

from ..factories import AccountFactory, MemberFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 5, 1, 10, 0, tzinfo=UTC)
END = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


def flash(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def make_event(
    org: Organization,
    title: str = "Kick-off",
    start: datetime = START,
    end: datetime = END,
    participants: list[Member] | None = None,
) -> CalendarEvent:
    return calendar_event_create(
        organization=org,
        actor=Actor.system(),
        title=title,
        starts_at=start,
        ends_at=end,
        participants=participants or [],
    )


def chatroom_of(event: CalendarEvent) -> Channel:
    return Channel.objects.get(calendar_event=event)


def assigned(channel: Channel) -> set[int]:
    return set(
        Membership.objects.filter(channel=channel, joined_at__isnull=False).values_list(
            "member_id", flat=True
        )
    )


@pytest.fixture
def alice(org: Organization) -> Member:
    account = AccountFactory(email="alice@acme.test")
    return MemberFactory(organization=org, user_id="alice", account=account)


@pytest.fixture
def bob(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="bob")


@pytest.fixture
def globex_member(other_org: Organization) -> Member:
    return MemberFactory(organization=other_org, user_id="carol")


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "title": "Kick-off",
        "starts_at": "2030-05-01T10:00",
        "ends_at": "2030-05-01T12:00",
        "participants": "alice\nbob",
    }
    data.update(overrides)
    return data


# --- Who may open these pages -------------------------------------------------------------


def test_a_moderator_sees_the_list_and_an_event_read_only(
    moderator_client: Client, org, alice
) -> None:
    event = make_event(org, participants=[alice])
    response = moderator_client.get(url("events", org))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Kick-off" in body and url("event_create", org) not in body
    detail = moderator_client.get(url("event", org, event.pk))
    assert detail.status_code == 200
    assert "Only admins and owners edit events" in detail.content.decode()
    assert "alice" in detail.content.decode()


def test_a_moderator_cannot_create_or_edit(moderator_client: Client, org) -> None:
    event = make_event(org)
    assert moderator_client.get(url("event_create", org)).status_code == 403
    assert moderator_client.post(url("event_create", org), form_data()).status_code == 403
    response = moderator_client.post(url("event", org, event.pk), form_data(title="Renamed"))
    assert response.status_code == 403
    assert CalendarEvent.objects.count() == 1
    event.refresh_from_db()
    assert event.title == "Kick-off"


def test_the_outsider_gets_404_everywhere(
    outsider_client: Client, org, other_org, globex_member
) -> None:
    event = make_event(org)
    assert outsider_client.get(url("events", org)).status_code == 404
    assert outsider_client.get(url("event_create", org)).status_code == 404
    assert outsider_client.post(url("event_create", org), form_data()).status_code == 404
    assert outsider_client.get(url("event", org, event.pk)).status_code == 404
    assert outsider_client.post(url("event", org, event.pk), form_data()).status_code == 404


def test_another_organizations_event_id_is_a_404(
    owner_client: Client, org, other_org, globex_member
) -> None:
    theirs = make_event(other_org, title="Globex offsite", participants=[globex_member])
    assert owner_client.get(url("event", org, theirs.pk)).status_code == 404
    response = owner_client.post(url("event", org, theirs.pk), form_data(participants=""))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "Globex offsite"
    assert owner_client.get(url("event", org, 999999)).status_code == 404
    assert "Globex offsite" not in owner_client.get(url("events", org)).content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, org) -> None:
    event = make_event(org)
    for path in (url("events", org), url("event_create", org), url("event", org, event.pk)):
        response = client.get(path)
        assert response.status_code == 302 and reverse("console:login") in response["Location"]
    client.post(url("event_create", org), form_data(participants=""))
    assert CalendarEvent.objects.count() == 1


def test_the_sidebar_links_to_the_events(moderator_client: Client, org) -> None:
    body = moderator_client.get(url("dashboard", org)).content.decode()
    assert f'href="{url("events", org)}"' in body


# --- The list -----------------------------------------------------------------------------


def test_it_lists_upcoming_events_first_with_their_chatroom_and_deletion(
    moderator_client: Client, org, alice, bob
) -> None:
    now = timezone.now()
    later = make_event(org, "Later", now + timedelta(days=10), now + timedelta(days=10, hours=1))
    sooner = make_event(org, "Sooner", now + timedelta(days=1), now + timedelta(days=1, hours=1))
    make_event(
        org, "Long ago", now - timedelta(days=5), now - timedelta(days=5) + timedelta(hours=1)
    )
    response = moderator_client.get(url("events", org))
    items = response.context["page"].items
    assert [e.title for e in items] == ["Sooner", "Later"]
    body = response.content.decode()
    room = chatroom_of(sooner)
    assert url("channel", org, room.channel_id) in body
    assert room.scheduled_deletion_at.strftime("%Y-%m-%d %H:%M") in body
    assert room.scheduled_deletion_at == sooner.ends_at + timedelta(days=30)
    past = moderator_client.get(url("events", org), {"when": "past"}).context["page"].items
    assert [e.title for e in past] == ["Long ago"]
    every = moderator_client.get(url("events", org), {"when": "all"}).context["page"].items
    assert len(every) == 3
    assert later in every


def test_it_searches_by_title(moderator_client: Client, org) -> None:
    make_event(org, "Quarterly review")
    make_event(org, "Team lunch")
    response = moderator_client.get(url("events", org), {"q": "REVIEW"})
    assert [e.title for e in response.context["page"].items] == ["Quarterly review"]


def test_bad_filters_fall_back_to_the_upcoming_events(moderator_client: Client, org) -> None:
    make_event(org)
    response = moderator_client.get(url("events", org), {"when": "tomorrow", "sort": "x"})
    assert response.status_code == 200
    assert len(response.context["page"].items) == 1


def test_the_list_costs_the_same_queries_for_1_and_30_events(
    moderator_client: Client, org, alice, bob
) -> None:
    make_event(org, participants=[alice, bob])
    with CaptureQueriesContext(connection) as one:
        moderator_client.get(url("events", org))
    for i in range(29):
        make_event(org, f"Event {i}", participants=[alice])
    with CaptureQueriesContext(connection) as thirty:
        moderator_client.get(url("events", org))
    # 5: session, account, the organizations (the switcher's list, which holds this
    # one), role, the page of events joined with their chatrooms and counting their
    # participants.
    assert len(one) == len(thirty) == 5


# --- Create -------------------------------------------------------------------------------


def test_the_create_form_renders_for_an_admin(admin_client_: Client, org) -> None:
    response = admin_client_.get(url("event_create", org))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'for="id_participants"' in body and 'type="datetime-local"' in body


def test_an_admin_creates_an_event_with_its_chatroom(
    admin_client_: Client, org, alice, bob, org_admin: Account
) -> None:
    response = admin_client_.post(
        url("event_create", org),
        form_data(participants="alice\nALICE@acme.test\n\n  bob  \n"),
        follow=True,
    )
    event = CalendarEvent.objects.get(organization=org)
    assert response.redirect_chain[-1][0] == url("event", org, event.pk)
    assert "Created the event “Kick-off” and its chatroom." in flash(response)
    assert (event.title, event.starts_at, event.ends_at) == ("Kick-off", START, END)
    assert set(event.participants.values_list("pk", flat=True)) == {alice.pk, bob.pk}
    room = chatroom_of(event)
    assert room.type == Channel.Type.EVENT
    assert assigned(room) == {alice.pk, bob.pk}
    assert room.scheduled_deletion_at == END + timedelta(days=30)
    body = response.content.decode()
    assert url("channel", org, room.channel_id) in body
    entry = AuditEntry.objects.get(action="calendar_event.create")
    assert entry.actor_account == org_admin and entry.target_id == str(event.pk)


def test_it_accepts_iso_times_with_an_offset(owner_client: Client, org) -> None:
    owner_client.post(
        url("event_create", org),
        form_data(
            starts_at="2030-05-01T12:00:00+02:00",
            ends_at="2030-05-01T14:00:00+02:00",
            participants="",
        ),
    )
    event = CalendarEvent.objects.get()
    assert (event.starts_at, event.ends_at) == (START, END)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"starts_at": "soon"}, "starts_at"),
        ({"ends_at": ""}, "ends_at"),
        ({"ends_at": "2030-05-01T09:00"}, "ends_at"),
        ({"ends_at": "2032-05-01T09:00"}, "ends_at"),  # longer than the services allow
        ({"participants": "alice\nnobody"}, "participants"),
        ({"participants": "carol"}, "participants"),  # a member of another organization
        ({"participants": "x" * 255}, "participants"),
    ],
)
def test_bad_input_creates_nothing(
    owner_client: Client, org, alice, bob, globex_member, overrides, field
) -> None:
    response = owner_client.post(url("event_create", org), form_data(**overrides))
    assert response.status_code == 400
    assert response.context["form"].errors.get(field), response.context["form"].errors
    assert any("was not created" in m for m in flash(response))
    assert not CalendarEvent.objects.exists()
    assert not Channel.objects.filter(type=Channel.Type.EVENT).exists()


def test_too_many_participants_are_refused(owner_client: Client, org) -> None:
    from apps.calendar_events.services import MAX_PARTICIPANTS

    lines = "\n".join(f"user-{i}" for i in range(MAX_PARTICIPANTS + 1))
    response = owner_client.post(url("event_create", org), form_data(participants=lines))
    assert response.status_code == 400
    assert not CalendarEvent.objects.exists()


# --- Edit ---------------------------------------------------------------------------------


def test_the_edit_form_shows_the_event(admin_client_: Client, org, alice, bob) -> None:
    event = make_event(org, participants=[alice, bob])
    response = admin_client_.get(url("event", org, event.pk))
    assert response.status_code == 200
    initial = response.context["form"].initial
    assert initial["title"] == "Kick-off" and initial["participants"] == "alice\nbob"
    body = response.content.decode()
    assert 'value="2030-05-01T10:00"' in body
    assert url("channel", org, chatroom_of(event).channel_id) in body


def test_an_admin_edits_an_event_moving_its_chatrooms_deletion(
    admin_client_: Client, org, alice, bob, org_admin: Account
) -> None:
    event = make_event(org, participants=[alice])
    response = admin_client_.post(
        url("event", org, event.pk),
        form_data(title="Kick-off 2", ends_at="2030-05-02T12:00", participants="bob"),
        follow=True,
    )
    assert "Saved the event “Kick-off 2”." in flash(response)
    event.refresh_from_db()
    assert event.title == "Kick-off 2" and event.ends_at == END + timedelta(days=1)
    room = chatroom_of(event)
    assert room.scheduled_deletion_at == END + timedelta(days=31)
    assert room.display_name == "Kick-off 2"
    assert assigned(room) == {bob.pk}
    entry = AuditEntry.objects.get(action="calendar_event.update")
    assert entry.actor_account == org_admin


def test_bad_edits_change_nothing(owner_client: Client, org, alice) -> None:
    event = make_event(org, participants=[alice])
    response = owner_client.post(
        url("event", org, event.pk), form_data(ends_at="2030-04-01T00:00", participants="nobody")
    )
    assert response.status_code == 400
    assert any("was not saved" in m for m in flash(response))
    event.refresh_from_db()
    assert event.ends_at == END
    assert set(event.participants.values_list("pk", flat=True)) == {alice.pk}
    assert not AuditEntry.objects.filter(action="calendar_event.update").exists()
