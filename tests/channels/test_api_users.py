"""POST and DELETE /api/v2/channel/:channelId/users."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from apps.channels.models import Channel
from apps.members.models import Member
from tests.builders import form, joined_user_ids, last_audit, membership, snapshot
from tests.personas import TokenClient

URL = "/api/v2/channel/general/users"


def test_it_adds_users_and_keeps_member_count(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    channel = make_channel("general", user_ids=["alice"])
    response = api.post(URL, {"userIds": ["alice", "bob", "carol"]}, format="json")
    assert response.status_code == 200
    assert response.json()["channel"]["memberCount"] == 3
    channel.refresh_from_db()
    assert channel.member_count == 3
    assert joined_user_ids(channel) == ["alice", "bob", "carol"]
    assert Member.objects.filter(organization=org, user_id="carol").exists()  # provisioned


def test_adding_audits_who_joined(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general", user_ids=["alice"])
    api.post(URL, {"userIds": ["alice", "bob"]}, format="json")
    entry = last_audit(org)
    assert entry.action == "channel.users.add"
    assert entry.target_id == "general"
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.before == {"memberCount": 1}
    assert entry.after == {"memberCount": 2, "userIds": ["bob"]}


@pytest.mark.parametrize(
    "encoded",
    [
        {"userIds[]": ["bob", "carol"]},
        {"userIds": ["bob", "carol"]},
        {"userIds[0]": "bob", "userIds[1]": "carol"},
        {"userIds": '["bob", "carol"]'},
    ],
)
def test_adding_accepts_the_usual_form_encodings(
    api: TokenClient, make_channel: Any, encoded: dict[str, Any]
) -> None:
    channel = make_channel("general")
    response = api.post(
        URL, urlencode(encoded, doseq=True), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.json()
    assert joined_user_ids(channel) == ["bob", "carol"]


def test_adding_to_a_closed_channel_is_refused(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    make_channel("general", user_ids=["alice"])
    api.post("/api/v2/channel/general/close", format="json")
    before = snapshot(org)
    response = api.post(URL, {"userIds": ["bob"]}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"
    assert snapshot(org) == before


def test_a_banned_user_cannot_be_added_and_nothing_is_written(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    api.post("/api/v2/channel/general/users/ban", {"userIds": ["mallory"]}, format="json")
    before = snapshot(org)
    response = api.post(URL, {"userIds": ["newbie", "mallory"]}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "user_banned"
    assert "mallory" in response.json()["message"]
    assert snapshot(org) == before  # newbie was not provisioned nor joined


def test_a_user_whose_ban_expired_can_be_added(api: TokenClient, make_channel: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    channel = make_channel("general")
    api.post("/api/v2/channel/general/users/ban", {"userIds": ["mallory"]}, format="json")
    row = membership(channel, "mallory")
    row.ban_expires_at = timezone.now() - timedelta(seconds=1)
    row.save(update_fields=["ban_expires_at"])
    response = api.post(URL, {"userIds": ["mallory"]}, format="json")
    assert response.status_code == 200
    assert joined_user_ids(channel) == ["mallory"]


def test_it_removes_users_by_detaching_them(org: Any, api: TokenClient, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice", "bob", "carol"])
    response = api.delete(URL, {"userIds": ["alice", "bob", "nobody"]}, format="json")
    assert response.status_code == 200
    assert response.json()["channel"]["memberCount"] == 1
    channel.refresh_from_db()
    assert channel.member_count == 1
    assert joined_user_ids(channel) == ["carol"]
    assert membership(channel, "alice").joined_at is None  # the row stays (mute/ban state)
    entry = last_audit(org)
    assert entry.action == "channel.users.remove"
    assert entry.after == {"memberCount": 1, "userIds": ["alice", "bob"]}


def test_removing_accepts_a_form_body_and_the_query_string(
    api: TokenClient, make_channel: Any
) -> None:
    channel = make_channel("general", user_ids=["alice", "bob"])
    assert form(api, "delete", URL, {"userIds": ["alice"]}).status_code == 200
    assert api.delete(URL + "?userIds[]=bob").status_code == 200
    assert joined_user_ids(channel) == []


def test_removed_users_can_be_added_again(api: TokenClient, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice"])
    api.delete(URL, {"userIds": ["alice"]}, format="json")
    api.post(URL, {"userIds": ["alice"]}, format="json")
    channel.refresh_from_db()
    assert channel.member_count == 1


@pytest.mark.parametrize("method", ["post", "delete"])
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_parameter"),
        ({"userIds": []}, "invalid_parameter"),
        ({"userIds": [""]}, "invalid_parameter"),
        ({"userIds": [{"a": 1}]}, "invalid_parameter"),
        ({"userIds": ["x" * 129]}, "invalid_parameter"),
        ({"userIds": [f"u{i}" for i in range(1001)]}, "invalid_parameter"),
    ],
)
def test_bad_user_ids_are_400(
    org: Any, api: TokenClient, make_channel: Any, method: str, body: dict[str, Any], code: str
) -> None:
    make_channel("general", user_ids=["alice"])
    before = snapshot(org)
    response = getattr(api, method)(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"].startswith("userIds")
    assert snapshot(org) == before


def test_member_count_stays_right_when_the_same_user_is_added_twice(
    api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    api.post(URL, {"userIds": ["a", "a", "b"]}, format="json")
    api.post(URL, {"userIds": ["b"]}, format="json")
    assert Channel.objects.get(channel_id="general").member_count == 2
