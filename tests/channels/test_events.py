"""Every channel and member service writes its outbox event in its own transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from apps.channels.models import Channel
from apps.channels.services import channels as services
from apps.events.models import Event
from apps.members import services as member_services
from apps.members.models import Member
from apps.retention import services as retention
from tests.personas import SYSTEM, TokenClient


def _types() -> list[str]:
    return list(Event.objects.order_by("pk").values_list("type", flat=True))


def test_creating_a_channel_emits_created_joined_and_user_created(
    org: Any, api: TokenClient
) -> None:
    response = api.post(
        "/api/v2/channel",
        {"channelId": "general", "type": "standard", "userIds": ["alice", "bob"]},
        format="json",
    )
    assert response.status_code == 201
    assert _types() == ["user.created", "user.created", "channel.created", "member.joined"]
    created = Event.objects.get(type="channel.created")
    assert created.organization == org
    assert created.payload["organization"] == "acme"
    assert created.payload["channelId"] == "general"
    assert created.payload["userIds"] == ["alice", "bob"]
    assert created.payload["actor"].endswith("admin@acme.test")
    assert created.payload["createdAt"].endswith("Z")
    users = Event.objects.filter(type="user.created").order_by("pk")
    assert sorted(e.payload["userIds"][0] for e in users) == ["alice", "bob"]


def test_known_users_are_not_created_again(org: Any, make_channel: Any) -> None:
    make_channel("one", user_ids=["alice"])
    Event.objects.all().delete()
    make_channel("two", user_ids=["alice"])
    assert "user.created" not in _types()


def test_membership_mute_ban_close_events(org: Any, make_channel: Any) -> None:
    channel = make_channel("general", user_ids=["alice"])
    Event.objects.all().delete()
    services.channel_users_add(channel=channel, actor=SYSTEM, user_ids=["bob"])
    services.channel_users_remove(channel=channel, actor=SYSTEM, user_ids=["bob"])
    services.channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["alice"], mute_period=-1)
    services.channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["alice"], mute_period=0)
    services.channel_mute(channel=channel, actor=SYSTEM, mute_period=5000)
    services.channel_mute(channel=channel, actor=SYSTEM, mute_period=0)
    services.channel_users_ban(channel=channel, actor=SYSTEM, user_ids=["alice"])
    services.channel_users_unban(channel=channel, actor=SYSTEM, user_ids=["alice"])
    services.channel_display_name_set(channel=channel, actor=SYSTEM, display_name="G")
    retention.channel_close(channel=channel, actor=SYSTEM)
    assert _types() == [
        "user.created",
        "member.joined",
        "member.left",
        "user.muted",
        "user.unmuted",
        "channel.muted",
        "channel.unmuted",
        "member.banned",
        "member.left",
        "member.unbanned",
        "channel.updated",
        "channel.closed",
    ]
    muted = Event.objects.get(type="channel.muted")
    assert muted.payload["muteExpiresAt"].endswith("Z") and muted.payload["actor"] == "system"


def test_global_ban_unban_and_update_events(org: Any) -> None:
    member = Member.objects.create(organization=org, user_id="troll")
    member_services.member_ban(actor=SYSTEM, member=member, reason="spam")
    member_services.member_unban(actor=SYSTEM, member=member)
    member_services.member_update(actor=SYSTEM, member=member, display_name="T")
    assert _types() == ["user.banned", "user.unbanned", "user.updated"]
    assert Event.objects.get(type="user.banned").payload["banExpiresAt"] is None


def test_no_event_survives_a_rolled_back_change(org: Any, make_channel: Any) -> None:
    channel = make_channel("general")
    Event.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.channel_mute(channel=channel, actor=SYSTEM, mute_period=-1)
        raise RuntimeError
    assert not Event.objects.exists()
    assert not Channel.objects.get(pk=channel.pk).is_muted()


def test_a_refused_write_emits_nothing(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    Event.objects.all().delete()
    response = api.put("/api/v2/channel/general/mute", {"mutePeriod": -5}, format="json")
    assert response.status_code == 400
    assert not Event.objects.exists()
