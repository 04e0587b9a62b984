"""``POST /api/messaging/activity/``: the caller's activity as an ``activity`` domain event
(never a message), about a channel it sees and a message of it; throttled per member."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.events.models import Event, EventType
from apps.members.models import Member
from apps.messages.models import Message
from apps.permissions.models import Rule
from tests.factories import ChannelFactory, MessageFactory, RoleFactory

URL = "/api/messaging/activity/"


def error_of(response) -> dict:
    return response.json()["error"]


def activities() -> list[Event]:
    return list(Event.objects.filter(type=EventType.ACTIVITY).order_by("pk"))


def join(channel: Channel, member: Member) -> None:
    Membership.objects.create(
        organization=channel.organization, channel=channel, member=member, joined_at=timezone.now()
    )


def deny(member: Member, operation: str, resource: str) -> None:
    role = RoleFactory(organization=member.organization, role_id=f"no-{operation}")
    Rule.objects.create(
        organization=member.organization,
        role=role,
        resource=resource,
        operation=operation,
        access=Rule.Access.DENY,
    )
    member.roles = [role.role_id]
    member.save(update_fields=["roles"])


@pytest.fixture
def public(org) -> Channel:
    return ChannelFactory(organization=org, visibility=Channel.Visibility.PUBLIC)


@pytest.fixture
def private(org, bob) -> Channel:
    channel = ChannelFactory(organization=org, visibility=Channel.Visibility.PRIVATE)
    join(channel, bob)
    return channel


# --- success ---------------------------------------------------------------------------------


def test_global_activity_is_published(as_alice, alice, org) -> None:
    response = as_alice.post(URL, {"kind": "online"})

    assert response.status_code == 200, response.content
    assert response.json() == {"success": {"message": "OK"}}
    (event,) = activities()
    assert event.organization_id == org.pk
    assert event.payload["kind"] == "online"
    assert event.payload["userID"] == str(alice.pk)
    assert event.payload["channelID"] is None


def test_activity_in_a_public_channel_about_a_message(as_alice, public, bob) -> None:
    message = MessageFactory(channel=public, author=bob)
    before = Message.objects.count()

    response = as_alice.post(
        URL, {"channelID": str(public.pk), "messageID": message.pk, "kind": "reading"}
    )

    assert response.status_code == 200, response.content
    (event,) = activities()
    assert event.payload["channelID"] == str(public.pk)
    assert event.payload["messageID"] == str(message.pk)
    assert Message.objects.count() == before  # never stored as a message


def test_a_member_of_a_private_channel_may_send_activity_there(as_bob, private) -> None:
    response = as_bob.post(URL, {"channelID": private.pk, "kind": "typing"})
    assert response.status_code == 200


def test_a_form_body_works_too(as_alice, public) -> None:
    response = as_alice.post(URL, {"channelID": public.pk, "kind": "typing"}, format="multipart")
    assert response.status_code == 200


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "kind"),
        ({"kind": ""}, "invalid_parameter", "kind"),
        ({"kind": "k" * 65}, "invalid_parameter", "kind"),
        ({"kind": 7}, "invalid_parameter", "kind"),
        ({"kind": "typing", "channelID": "abc"}, "invalid_parameter", "channelID"),
        ({"kind": "typing", "channelID": 0}, "invalid_parameter", "channelID"),
        ({"kind": "typing", "channelID": "9" * 30}, "invalid_parameter", "channelID"),
        ({"kind": "typing", "messageID": "5"}, "missing_parameter", "channelID"),
    ],
)
def test_bad_input_is_400_and_publishes_nothing(as_alice, body, code, field) -> None:
    response = as_alice.post(URL, body)

    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == code
    assert error_of(response)["field"] == field
    assert activities() == []


def test_a_private_channel_of_others_is_404_like_a_missing_one(as_alice, private) -> None:
    for channel_id in (private.pk, 987654):
        response = as_alice.post(URL, {"channelID": channel_id, "kind": "typing"})
        assert response.status_code == 404
        assert error_of(response)["code"] == "channel_not_found"
    assert activities() == []


def test_another_organization_s_channel_is_404(as_outsider, public) -> None:
    response = as_outsider.post(URL, {"channelID": public.pk, "kind": "typing"})

    assert response.status_code == 404
    assert error_of(response)["code"] == "channel_not_found"


def test_a_closed_or_deleted_channel_is_404(as_alice, org) -> None:
    closed = ChannelFactory(organization=org, visibility="public", closed_at=timezone.now())
    deleted = ChannelFactory(organization=org, visibility="public", deleted_at=timezone.now())
    for channel in (closed, deleted):
        response = as_alice.post(URL, {"channelID": channel.pk, "kind": "typing"})
        assert response.status_code == 404


def test_a_message_of_another_channel_or_deleted_is_404(as_alice, public, org, bob) -> None:
    elsewhere = MessageFactory(channel=ChannelFactory(organization=org), author=bob)
    deleted = MessageFactory(channel=public, author=bob, deleted_at=timezone.now())
    hidden = MessageFactory(channel=public, author=bob, hidden_at=timezone.now())
    for message in (elsewhere, deleted, hidden):
        response = as_alice.post(
            URL, {"channelID": public.pk, "messageID": message.pk, "kind": "reading"}
        )
        assert response.status_code == 404
        assert error_of(response)["code"] == "message_not_found"
    assert activities() == []


def test_a_channel_the_member_is_denied_reading_is_hidden_like_a_missing_one(
    as_alice, alice, public
) -> None:
    deny(alice, "read", f"messaging:channel:{public.pk}")

    response = as_alice.post(URL, {"channelID": public.pk, "kind": "typing"})

    assert response.status_code == 404  # the channels' one visibility rule
    assert error_of(response)["code"] == "channel_not_found"


def test_an_organization_admin_may_send_activity_in_any_channel(as_admin, private) -> None:
    response = as_admin.post(URL, {"channelID": private.pk, "kind": "moderating"})
    assert response.status_code == 200


def test_a_member_denied_the_messaging_api_is_403(as_alice, alice) -> None:
    deny(alice, "access", "messaging")

    response = as_alice.post(URL, {"kind": "typing"})

    assert response.status_code == 403


def test_without_a_session_it_is_401(anon, org) -> None:
    response = anon.post(URL, {"kind": "typing"})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


# --- throttling -----------------------------------------------------------------------------------


def test_it_is_throttled_per_member(settings, as_alice, as_bob) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "ACTIVITY_PER_MEMBER_MINUTE": 2}

    assert [as_alice.post(URL, {"kind": "typing"}).status_code for _ in range(2)] == [200, 200]
    refused = as_alice.post(URL, {"kind": "typing"})

    assert refused.status_code == 429
    assert error_of(refused)["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 61
    assert len(activities()) == 2
    assert as_bob.post(URL, {"kind": "typing"}).status_code == 200  # bob has his own budget


def test_the_default_budget_is_sixty_a_minute(as_alice) -> None:
    codes = [as_alice.post(URL, {"kind": "typing"}).status_code for _ in range(61)]
    assert codes.count(200) == 60 and codes[-1] == 429
