"""POST /api/v2/channel/:channelId/users/ban and .../users/unban."""

from __future__ import annotations

from typing import Any

import pytest

from apps.channels.rules import check_can_post
from apps.core.errors import DomainError
from apps.members.models import Member
from tests.builders import form, joined_user_ids, last_audit, membership, snapshot
from tests.personas import TokenClient

BAN = "/api/v2/channel/general/users/ban"
UNBAN = "/api/v2/channel/general/users/unban"


def test_ban_removes_the_users_and_keeps_them_out(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    channel = make_channel("general", user_ids=["alice", "bob"])
    response = api.post(BAN, {"userIds": ["alice"], "reason": "abuse"}, format="json")
    assert response.status_code == 200
    assert response.json()["channel"]["memberCount"] == 1
    assert joined_user_ids(channel) == ["bob"]
    row = membership(channel, "alice")
    assert row.is_banned() and row.ban_expires_at is None and row.ban_reason == "abuse"
    again = api.post("/api/v2/channel/general/users", {"userIds": ["alice"]}, format="json")
    assert again.json()["code"] == "user_banned"
    alice = Member.objects.get(organization=org, user_id="alice")
    with pytest.raises(DomainError) as exc:
        check_can_post(channel=channel, member=alice)
    assert exc.value.code == "user_banned"


def test_ban_is_audited_with_who_was_removed(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general", user_ids=["alice", "bob"])
    api.post(BAN, {"userIds": ["alice", "zed"], "reason": "abuse"}, format="json")
    entry = last_audit(org)
    assert entry.action == "channel.users.ban"
    assert (entry.target_type, entry.target_id) == ("channel", "general")
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.reason == "abuse"
    assert entry.before == {"memberCount": 2, "members": ["alice"]}
    assert entry.after == {
        "memberCount": 1,
        "userIds": ["alice", "zed"],
        "banPeriod": -1,
        "banExpiresAt": None,
    }


def test_banning_a_non_member_is_pre_emptive(org: Any, api: TokenClient, make_channel: Any) -> None:
    channel = make_channel("general")
    api.post(BAN, {"userIds": ["future"]}, format="json")
    row = membership(channel, "future")
    assert row.is_banned() and row.joined_at is None
    response = api.post("/api/v2/channel/general/users", {"userIds": ["future"]}, format="json")
    assert response.status_code == 403


def test_unban_lifts_the_ban_without_re_adding(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    channel = make_channel("general", user_ids=["alice"])
    api.post(BAN, {"userIds": ["alice"]}, format="json")
    response = api.post(UNBAN, {"userIds": ["alice"]}, format="json")
    assert response.status_code == 200
    assert response.json()["channel"]["memberCount"] == 0
    assert not membership(channel, "alice").is_banned()
    assert joined_user_ids(channel) == []
    entry = last_audit(org)
    assert entry.action == "channel.users.unban"
    assert entry.before == {"banned": ["alice"]}
    added = api.post("/api/v2/channel/general/users", {"userIds": ["alice"]}, format="json")
    assert added.status_code == 200
    assert joined_user_ids(channel) == ["alice"]


@pytest.mark.parametrize("url", [BAN, UNBAN])
def test_ban_and_unban_accept_a_form_body(api: TokenClient, make_channel: Any, url: str) -> None:
    make_channel("general", user_ids=["alice", "bob"])
    response = form(api, "post", url, {"userIds": ["alice", "bob"]})
    assert response.status_code == 200, response.json()


@pytest.mark.parametrize("url", [BAN, UNBAN])
@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "userIds"),
        ({"userIds": []}, "invalid_parameter", "userIds"),
        ({"userIds": "a\u0000b"}, "invalid_parameter", "userIds"),
        ({"userIds": [f"u{i}" for i in range(1001)]}, "invalid_parameter", "userIds"),
    ],
)
def test_bad_input_is_400(
    org: Any,
    api: TokenClient,
    make_channel: Any,
    url: str,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    make_channel("general", user_ids=["alice"])
    before = snapshot(org)
    response = api.post(url, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"].startswith(field)
    assert snapshot(org) == before


def test_an_oversized_ban_reason_is_400(api: TokenClient, make_channel: Any) -> None:
    make_channel("general", user_ids=["alice"])
    response = api.post(BAN, {"userIds": ["alice"], "reason": "x" * 1001}, format="json")
    assert (response.status_code, response.json()["field"]) == (400, "reason")


@pytest.mark.parametrize("url", [BAN, UNBAN])
def test_ban_and_unban_on_a_closed_channel_are_refused(
    api: TokenClient, make_channel: Any, url: str
) -> None:
    make_channel("general", user_ids=["alice"])
    api.post("/api/v2/channel/general/close", format="json")
    response = api.post(url, {"userIds": ["alice"]}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"
