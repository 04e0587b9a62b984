"""``/api/messaging/status/``: set (every ``expires`` form, in the member's time zone),
clear, and list the organization's current statuses; ended ones are gone at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.members.models import Member
from apps.permissions.models import Rule
from apps.presence.models import Status
from tests.factories import ChannelFactory, MessageFactory, RoleFactory
from tests.personas import MessagingClient, make_member, session_client

URL = "/api/messaging/status/"


def error_of(response) -> dict:
    return response.json()["error"]


def deny(member: Member, operation: str = "access", resource: str = "messaging") -> None:
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


# --- set -------------------------------------------------------------------------------------


def test_a_member_sets_its_status(as_alice, alice) -> None:
    response = as_alice.post(URL, {"icon": ":palm_tree:", "message": "On holiday"})

    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert body["userID"] == str(alice.pk)
    assert (body["icon"], body["message"], body["expires"]) == (":palm_tree:", "On holiday", None)
    assert body["whenActive"] is False
    assert body["createdAt"].endswith("Z")
    assert Status.objects.get(member=alice).message == "On holiday"


@pytest.mark.parametrize(
    "expires",
    ["when-active", "afternoon", "tomorrow", "1h", "30m", "1 PM", "13:00", "2d", "1h30m"],
)
def test_every_form_of_expires_is_accepted(as_alice, expires) -> None:
    response = as_alice.post(URL, {"message": "busy", "expires": expires})

    assert response.status_code == 200, response.content
    body = response.json()["response"]
    if expires == "when-active":
        assert body["expires"] is None and body["whenActive"] is True
    else:
        ends = parse_datetime(body["expires"])
        assert timezone.now() < ends <= timezone.now() + timedelta(days=2, minutes=1)


def test_a_date_lasts_through_that_day_in_the_member_s_time_zone(org) -> None:
    member = make_member(org, user_id="kenji", time_zone="Asia/Tokyo")
    client = session_client(member)
    day = (timezone.now() + timedelta(days=3)).date()

    response = client.post(URL, {"message": "off", "expires": day.isoformat()})

    assert response.status_code == 200
    ends = parse_datetime(response.json()["response"]["expires"])
    assert ends.hour == 15 and ends.minute == 0  # midnight in Tokyo (UTC+9), in UTC
    assert ends.date() == day


def test_a_form_body_works_too(as_alice) -> None:
    response = as_alice.post(URL, {"message": "hi", "expires": "30m"}, format="multipart")
    assert response.status_code == 200


def test_setting_again_replaces_the_status(as_alice, alice) -> None:
    as_alice.post(URL, {"message": "one"})
    as_alice.post(URL, {"message": "two", "icon": "2"})

    assert list(Status.objects.filter(member=alice).values_list("message", "icon")) == [
        ("two", "2")
    ]


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "message"),
        ({"icon": "", "message": ""}, "missing_parameter", "message"),
        ({"icon": "i" * 65, "message": "m"}, "invalid_parameter", "icon"),
        ({"message": "m" * 281}, "invalid_parameter", "message"),
        ({"message": "m", "expires": "x" * 65}, "invalid_parameter", "expires"),
        ({"message": "m", "expires": "whenever"}, "invalid_parameter", "expires"),
        ({"message": "m", "expires": "2019-05-20"}, "invalid_parameter", "expires"),
        ({"message": "m", "expires": "0m"}, "invalid_parameter", "expires"),
        ({"message": 42}, "invalid_parameter", "message"),
        ({"message": ["a"]}, "invalid_parameter", "message"),
        ({"message": "m", "expires": 3600}, "invalid_parameter", "expires"),
    ],
)
def test_bad_input_is_400_and_writes_nothing(as_alice, body, code, field) -> None:
    response = as_alice.post(URL, body)

    assert response.status_code == 400, response.content
    assert error_of(response)["code"] == code
    assert error_of(response)["field"] == field
    assert not Status.objects.exists()


def test_a_malformed_body_is_400(as_alice) -> None:
    response = as_alice.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_body"


# --- clear -------------------------------------------------------------------------------------


def test_a_member_clears_its_status_only(as_alice, as_bob, alice, bob) -> None:
    as_alice.post(URL, {"message": "a"})
    as_bob.post(URL, {"message": "b"})

    response = as_alice.delete(URL)

    assert response.status_code == 200
    assert response.json() == {"success": {"message": "OK"}}
    assert list(Status.objects.values_list("member_id", flat=True)) == [bob.pk]
    assert as_alice.delete(URL).status_code == 200  # nothing to clear: still OK


# --- list --------------------------------------------------------------------------------------


def test_the_list_shows_the_organization_s_current_statuses(
    org, as_alice, as_bob, as_outsider, alice, bob
) -> None:
    as_alice.post(URL, {"message": "lunch", "expires": "1h"})
    as_bob.post(URL, {"message": "call", "icon": ":phone:", "expires": "when-active"})
    as_outsider.post(URL, {"message": "theirs"})

    response = as_alice.get(URL)

    assert response.status_code == 200
    rows = response.json()["response"]
    assert [r["userID"] for r in rows] == sorted([str(alice.pk), str(bob.pk)], key=int)
    assert all(
        set(r) == {"userID", "icon", "message", "expires", "whenActive", "createdAt"} for r in rows
    )
    assert [r["userID"] for r in as_outsider.get(URL).json()["response"]] == [
        str(as_outsider.member.pk)
    ]


def test_an_expired_status_is_gone_at_once(as_alice, as_bob, alice) -> None:
    as_alice.post(URL, {"message": "brb", "expires": "30m"})
    Status.objects.filter(member=alice).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert as_bob.get(URL).json()["response"] == []


def test_a_when_active_status_ends_when_the_member_posts(org, as_alice, as_bob, alice) -> None:
    as_alice.post(URL, {"message": "in a call", "expires": "when-active"})
    Status.objects.filter(member=alice).update(updated_at=timezone.now() - timedelta(minutes=1))
    assert len(as_bob.get(URL).json()["response"]) == 1

    MessageFactory(channel=ChannelFactory(organization=org), author=alice)

    assert as_bob.get(URL).json()["response"] == []


# --- the door ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_without_a_session_it_is_401(anon: MessagingClient, org, method) -> None:
    response = getattr(anon, method)(URL)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_a_member_denied_the_messaging_api_is_403(as_alice, alice, method) -> None:
    deny(alice)

    response = getattr(as_alice, method)(URL, {"message": "x"})

    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def test_other_methods_are_405(as_alice) -> None:
    response = as_alice.put(URL, {"message": "x"})
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
