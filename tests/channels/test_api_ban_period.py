"""Timed channel bans: POST /api/v2/channel/:channelId/users/ban with banPeriod (ms)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.channels.models import Membership
from apps.channels.rules import check_can_post
from apps.channels.services.channels import MAX_MUTE_PERIOD_MS
from apps.events.models import Event
from apps.members.models import Member
from tests.builders import form, last_audit, membership, snapshot
from tests.personas import TokenClient

BAN = "/api/v2/channel/general/users/ban"


def test_a_timed_ban_ends_by_itself_without_a_sweep(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    channel = make_channel("general", user_ids=["alice"])
    before = timezone.now()
    response = api.post(
        BAN, {"userIds": ["alice"], "banPeriod": 60_000, "reason": "cool off"}, format="json"
    )
    assert response.status_code == 200
    row = membership(channel, "alice")
    assert row.is_banned() and row.ban_reason == "cool off"
    assert (
        before + timedelta(seconds=60)
        <= row.ban_expires_at
        <= timezone.now() + timedelta(seconds=60)
    )
    refused = api.post("/api/v2/channel/general/users", {"userIds": ["alice"]}, format="json")
    assert refused.json()["code"] == "user_banned"
    # time passes: the ban no longer counts, though no sweep ran
    Membership.objects.filter(pk=row.pk).update(ban_expires_at=timezone.now())
    alice = Member.objects.get(organization=org, user_id="alice")
    added = api.post("/api/v2/channel/general/users", {"userIds": ["alice"]}, format="json")
    assert added.status_code == 200
    check_can_post(channel=channel, member=alice)


def test_a_timed_ban_is_audited_and_emits_events(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    make_channel("general", user_ids=["alice"])
    api.post(BAN, {"userIds": ["alice"], "banPeriod": 1000}, format="json")
    entry = last_audit(org)
    assert entry.action == "channel.users.ban"
    assert entry.after["banPeriod"] == 1000 and entry.after["banExpiresAt"].endswith("Z")
    banned = Event.objects.get(type="member.banned")
    assert banned.payload["userIds"] == ["alice"]
    assert banned.payload["banExpiresAt"] == entry.after["banExpiresAt"]
    assert banned.payload["actor"].endswith("admin@acme.test")
    left = Event.objects.get(type="member.left")
    assert left.payload["userIds"] == ["alice"]


@pytest.mark.parametrize("period", [-1, None])
def test_absent_or_minus_one_bans_until_unbanned(
    api: TokenClient, make_channel: Any, period: int | None
) -> None:
    channel = make_channel("general", user_ids=["alice"])
    body: dict[str, Any] = {"userIds": ["alice"]}
    if period is not None:
        body["banPeriod"] = period
    assert api.post(BAN, body, format="json").status_code == 200
    row = membership(channel, "alice")
    assert row.is_banned() and row.ban_expires_at is None


def test_a_form_body_takes_a_ban_period(api: TokenClient, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice"])
    response = form(api, "post", BAN, {"userIds": ["alice"], "banPeriod": "5000"})
    assert response.status_code == 200
    assert membership(channel, "alice").ban_expires_at is not None


@pytest.mark.parametrize(
    "period", [0, -2, -1000, MAX_MUTE_PERIOD_MS + 1, "soon", 1.5, "", [1000], True]
)
def test_bad_ban_periods_are_400_and_change_nothing(
    org: Any, api: TokenClient, make_channel: Any, period: Any
) -> None:
    make_channel("general", user_ids=["alice"])
    before = snapshot(org)
    response = api.post(BAN, {"userIds": ["alice"], "banPeriod": period}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["field"] == "banPeriod"
    assert snapshot(org) == before


def test_the_longest_ban_period_is_accepted(api: TokenClient, make_channel: Any) -> None:
    make_channel("general", user_ids=["alice"])
    body = {"userIds": ["alice"], "banPeriod": MAX_MUTE_PERIOD_MS}
    assert api.post(BAN, body, format="json").status_code == 200


def test_another_organization_cannot_ban_with_a_period(
    org: Any, other_api: TokenClient, make_channel: Any
) -> None:
    make_channel("general", user_ids=["alice"])
    before = snapshot(org)
    response = other_api.post(BAN, {"userIds": ["alice"], "banPeriod": 1000}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "channel_not_found")
    assert snapshot(org) == before
