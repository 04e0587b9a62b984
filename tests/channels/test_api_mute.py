"""PUT /api/v2/channel/:channelId/mute and PUT /api/v2/channel/:channelId/users/mute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.channels.models import Channel
from tests.builders import form, joined_user_ids, last_audit, membership, snapshot
from tests.personas import TokenClient

URL = "/api/v2/channel/general/mute"
USERS_URL = "/api/v2/channel/general/users/mute"


def test_it_mutes_a_channel_for_a_period(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    start = timezone.now()
    response = api.put(URL, {"mutePeriod": 60_000}, format="json")
    assert response.status_code == 200
    body = response.json()["channel"]
    assert body["isMuted"] is True
    assert body["muteTimeout"].endswith("Z")
    channel = Channel.objects.get(channel_id="general")
    expected = start + timedelta(minutes=1)
    assert abs((channel.mute_expires_at - expected).total_seconds()) < 5


def test_minus_one_mutes_until_unmuted(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    body = api.put(URL, {"mutePeriod": -1}, format="json").json()["channel"]
    assert (body["isMuted"], body["muteTimeout"]) == (True, None)


def test_zero_unmutes(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.put(URL, {"mutePeriod": -1}, format="json")
    body = api.put(URL, {"mutePeriod": 0}, format="json").json()["channel"]
    assert (body["isMuted"], body["muteTimeout"]) == (False, None)
    channel = Channel.objects.get(channel_id="general")
    assert channel.muted_at is None and channel.mute_expires_at is None
    entry = last_audit(org)
    assert entry.action == "channel.unmute"
    assert entry.before["isMuted"] is True
    assert entry.after["isMuted"] is False


def test_muting_is_audited_with_the_reason(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.put(URL, {"mutePeriod": 1000, "reason": "spam wave"}, format="json")
    entry = last_audit(org)
    assert entry.action == "channel.mute"
    assert (entry.target_type, entry.target_id) == ("channel", "general")
    assert entry.reason == "spam wave"
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.before == {"isMuted": False, "muteTimeout": None}
    assert entry.after["isMuted"] is True and entry.after["mutePeriod"] == 1000


def test_an_expired_mute_reads_as_unmuted_at_once(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.put(URL, {"mutePeriod": 1000}, format="json")
    Channel.objects.filter(channel_id="general").update(
        mute_expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = api.post("/api/v2/channels", {}, format="json")
    assert response.json()["channels"][0]["isMuted"] is False
    assert response.json()["channels"][0]["muteTimeout"] is None


def test_mute_accepts_a_form_body(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    response = form(api, "put", URL, {"mutePeriod": "-1"})
    assert response.status_code == 200
    assert response.json()["channel"]["isMuted"] is True


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_parameter"),
        ({"mutePeriod": -2}, "invalid_parameter"),
        ({"mutePeriod": "soon"}, "invalid_parameter"),
        ({"mutePeriod": 1.5}, "invalid_parameter"),
        ({"mutePeriod": 10**15}, "invalid_parameter"),
        ({"mutePeriod": None}, "invalid_parameter"),
    ],
)
def test_bad_mute_periods_are_400(
    org: Any, api: TokenClient, make_channel: Any, body: dict[str, Any], code: str
) -> None:
    make_channel("general")
    before = snapshot(org)
    response = api.put(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert (response.json()["code"], response.json()["field"]) == (code, "mutePeriod")
    assert snapshot(org) == before


def test_an_oversized_reason_is_400(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    response = api.put(URL, {"mutePeriod": -1, "reason": "x" * 1001}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "reason"


def test_muting_a_closed_channel_is_refused(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.post("/api/v2/channel/general/close", format="json")
    response = api.put(URL, {"mutePeriod": -1}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"


# --- members ------------------------------------------------------------------------------


def test_it_mutes_members_for_a_period(org: Any, api: TokenClient, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice", "bob"])
    response = api.put(USERS_URL, {"userIds": ["alice"], "mutePeriod": 60_000}, format="json")
    assert response.status_code == 200
    assert response.json()["channel"]["channelId"] == "general"
    assert membership(channel, "alice").is_muted()
    assert not membership(channel, "bob").is_muted()
    assert membership(channel, "alice").mute_expires_at is not None
    entry = last_audit(org)
    assert entry.action == "channel.users.mute"
    assert entry.target_id == "general"
    assert entry.after["userIds"] == ["alice"]
    assert entry.before == {"isMuted": {"alice": False}}


def test_minus_one_mutes_members_until_unmuted_and_zero_unmutes(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    channel = make_channel("general", user_ids=["alice"])
    api.put(USERS_URL, {"userIds": ["alice"], "mutePeriod": -1}, format="json")
    row = membership(channel, "alice")
    assert row.is_muted() and row.mute_expires_at is None
    api.put(USERS_URL, {"userIds": ["alice"], "mutePeriod": 0}, format="json")
    assert not membership(channel, "alice").is_muted()
    assert last_audit(org).action == "channel.users.unmute"


def test_muting_a_non_member_keeps_a_row_without_joining(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    channel = make_channel("general", user_ids=["alice"])
    api.put(USERS_URL, {"userIds": ["stranger"], "mutePeriod": -1}, format="json")
    row = membership(channel, "stranger")
    assert row.is_muted()
    assert row.joined_at is None
    assert joined_user_ids(channel) == ["alice"]
    channel.refresh_from_db()
    assert channel.member_count == 1


def test_member_mute_accepts_a_form_body(api: TokenClient, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice", "bob"])
    response = form(api, "put", USERS_URL, {"userIds": ["alice", "bob"], "mutePeriod": "-1"})
    assert response.status_code == 200
    assert membership(channel, "bob").is_muted()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"mutePeriod": -1}, "missing_parameter", "userIds"),
        ({"userIds": ["alice"]}, "missing_parameter", "mutePeriod"),
        ({"userIds": ["alice"], "mutePeriod": -5}, "invalid_parameter", "mutePeriod"),
        ({"userIds": [], "mutePeriod": -1}, "invalid_parameter", "userIds"),
        ({"userIds": ["x" * 129], "mutePeriod": -1}, "invalid_parameter", "userIds"),
        (
            {"userIds": [f"u{i}" for i in range(1001)], "mutePeriod": -1},
            "invalid_parameter",
            "userIds",
        ),
    ],
)
def test_bad_member_mute_input_is_400(
    org: Any, api: TokenClient, make_channel: Any, body: dict[str, Any], code: str, field: str
) -> None:
    make_channel("general", user_ids=["alice"])
    before = snapshot(org)
    response = api.put(USERS_URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"].startswith(field)
    assert snapshot(org) == before


@pytest.mark.parametrize("spelling", ["1e-400", "0.0", "1e3", "1.5", "true"])
def test_a_mute_period_that_is_not_an_integer_is_refused_and_does_not_unmute(
    api: TokenClient, make_channel: Any, spelling: str
) -> None:
    make_channel("general")
    api.put(URL, {"mutePeriod": -1}, format="json")
    body = f'{{"mutePeriod": {spelling}}}'
    response = api.generic("PUT", URL, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == "mutePeriod"
    assert Channel.objects.get(channel_id="general").is_muted()


@pytest.mark.parametrize("spelling", ["\u0661", "\uff11", "1_0", " 1 "])
def test_a_query_limit_in_odd_digits_is_refused(
    api: TokenClient, make_channel: Any, spelling: str
) -> None:
    response = api.post("/api/v2/channels", {"options": {"limit": spelling}}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "options.limit"
