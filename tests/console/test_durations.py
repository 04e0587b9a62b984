"""The console's one list of durations (apps/console/durations.py): the same presets on
the review item, a user's page (mute, ban) and a channel's page (mute)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.channels.services import channels as channel_services
from apps.console import durations
from apps.console.durations import DurationMixin, duration_label, duration_ms
from apps.members.models import Member
from apps.organizations.models import Organization
from apps.reports.services import report_create

from ..factories import MemberFactory, MessageFactory

DISCORD = ["60s", "5m", "10m", "1h", "1d", "1w"]


def test_the_presets_are_discords_set_shortest_first() -> None:
    assert [p.key for p in durations.PRESETS] == DISCORD
    assert [p.label for p in durations.PRESETS] == [
        "60 s",
        "5 min",
        "10 min",
        "1 h",
        "1 d",
        "1 week",
    ]
    assert [p.ms for p in durations.PRESETS] == [
        60_000,
        300_000,
        600_000,
        3_600_000,
        86_400_000,
        604_800_000,
    ]
    assert [k for k, _ in durations.duration_choices()] == [*DISCORD, "forever", "custom"]
    assert [k for k, _ in durations.duration_choices(forever=False)] == [*DISCORD, "custom"]


@pytest.mark.parametrize(
    ("key", "minutes", "ms"),
    [
        ("60s", None, 60_000),
        ("1w", None, 7 * 86_400_000),
        ("forever", None, -1),
        ("custom", 90, 90 * 60_000),
        ("24h", None, 86_400_000),  # the former presets still mean the same
        ("7d", None, 7 * 86_400_000),
    ],
)
def test_duration_ms(key: str, minutes: int | None, ms: int) -> None:
    assert duration_ms(key, minutes) == ms


@pytest.mark.parametrize(
    ("ms", "label"),
    [
        (-1, "permanent"),
        (60_000, "60 s"),
        (3_600_000, "1 h"),
        (604_800_000, "1 week"),
        (90 * 60_000, "90 min"),
        (3 * 86_400_000, "3 d"),
        (2 * 3_600_000, "2 h"),
        (1_500, "1 s"),
    ],
)
def test_duration_label(ms: int, label: str) -> None:
    assert duration_label(ms) == label


class _Form(DurationMixin):
    pass


class _NoForever(DurationMixin):
    FOREVER_ALLOWED = False


@pytest.mark.parametrize(
    ("data", "valid", "ms"),
    [
        ({"duration": "5m"}, True, 300_000),
        ({"duration": "24h"}, True, 86_400_000),
        ({"duration": "forever"}, True, -1),
        ({"duration": "custom", "minutes": "7"}, True, 420_000),
        ({"duration": "custom"}, False, None),
        ({"duration": "custom", "minutes": "0"}, False, None),
        ({"duration": "custom", "minutes": "x"}, False, None),
        ({"duration": "week"}, False, None),
        ({}, False, None),
    ],
)
def test_the_form_mixin_cleans_to_milliseconds(
    data: dict[str, str], valid: bool, ms: int | None
) -> None:
    form = _Form(data)
    assert form.is_valid() is valid, form.errors
    if valid:
        assert form.period_ms() == ms


def test_forever_can_be_left_out() -> None:
    assert not _NoForever({"duration": "forever"}).is_valid()
    assert isinstance(_Form().fields["duration"].widget, forms.RadioSelect)
    assert _Form().fields["duration"].initial == "1h"


# ------------------------------------------------------- the same presets on every page


def offered(html: str, form_marker: str) -> list[str]:
    """The duration values offered by the form whose opening tag holds ``form_marker``."""
    start = html.index(form_marker)
    form = html[start : html.index("</form>", start)]
    return re.findall(r'name="duration" value="([^"]+)"', form) or re.findall(
        r'value="([^"]+)"[^>]*name="duration"', form
    )


@pytest.fixture
def ann(org: Organization) -> Member:
    return MemberFactory(organization=org, user_id="ann")


@pytest.fixture
def lobby(org: Organization, ann: Member) -> Channel:
    return channel_services.channel_create(
        organization=org, actor=Actor.system(), channel_id="lobby", user_ids=["ann"]
    )


def test_the_review_item_the_user_page_and_the_channel_page_offer_the_same_presets(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    reporter = MemberFactory(organization=org, user_id="reporter")
    message = MessageFactory(channel=lobby, author=ann, data={"text": "hey"})
    report = report_create(
        organization=org,
        actor=Actor.system(),
        reporter=reporter,
        target_member=ann,
        target_message=message,
    )
    expected = [*DISCORD, "forever", "custom"]
    item = moderator_client.get(reverse("console:review_item", args=[org.slug, report.pk]))
    assert offered(item.content.decode(), 'class="card form review-actions"') == expected
    user = moderator_client.get(reverse("console:user", args=[org.slug, "ann"])).content.decode()
    assert offered(user, 'value="mute"') == expected
    assert offered(user, 'value="ban"') == expected
    channel = moderator_client.get(reverse("console:channel", args=[org.slug, "lobby"]))
    html = channel.content.decode()
    mute_action = reverse("console:channel_mute", args=[org.slug, "lobby"])
    assert offered(html, f'action="{mute_action}"') == expected


def test_the_user_page_mutes_for_a_console_preset(
    moderator_client: Client, org: Organization, ann: Member, lobby: Channel
) -> None:
    response = moderator_client.post(
        reverse("console:user", args=[org.slug, "ann"]),
        {"action": "mute", "channel": "lobby", "duration": "10m", "reason": "cool"},
    )
    assert response.status_code == 302
    row = Membership.objects.get(channel=lobby, member=ann)
    assert row.mute_expires_at - row.muted_at == timedelta(minutes=10)


def test_the_channel_page_mutes_the_channel_for_a_console_preset(
    moderator_client: Client, org: Organization, lobby: Channel
) -> None:
    response = moderator_client.post(
        reverse("console:channel_mute", args=[org.slug, "lobby"]), {"duration": "60s"}
    )
    assert response.status_code == 302
    lobby.refresh_from_db()
    assert lobby.mute_expires_at - lobby.muted_at == timedelta(seconds=60)
