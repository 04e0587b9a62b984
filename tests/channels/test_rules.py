"""apps.channels.rules.check_can_post: the posting rule every surface calls."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.channels.rules import check_can_post
from apps.core.errors import DomainError
from apps.members.models import Member
from tests.factories import ChannelFactory, MemberFactory


@pytest.fixture
def channel(org: Any) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


@pytest.fixture
def join(channel: Channel) -> Callable[..., Membership]:
    def make(member: Member, **state: Any) -> Membership:
        return Membership.objects.create(
            organization=channel.organization,
            channel=channel,
            member=member,
            joined_at=state.pop("joined_at", timezone.now()),
            **state,
        )

    return make


@pytest.fixture
def member(org: Any) -> Member:
    return MemberFactory(organization=org, user_id="alice")


@pytest.fixture
def admin(org: Any) -> Member:
    return MemberFactory(organization=org, user_id="boss", org_role=Member.OrgRole.ADMIN)


def refused(channel: Channel, member: Member, now: Any = None) -> str:
    with pytest.raises(DomainError) as exc:
        check_can_post(channel=channel, member=member, now=now)
    return exc.value.code


def test_a_member_may_post(channel: Channel, member: Member, join: Any) -> None:
    join(member)
    check_can_post(channel=channel, member=member)


def test_a_non_member_may_not_post(channel: Channel, member: Member, join: Any) -> None:
    assert refused(channel, member) == "not_a_member"
    join(member, joined_at=None)  # a row without membership (e.g. a lifted ban)
    assert refused(channel, member) == "not_a_member"


def test_nobody_posts_in_a_closed_channel(
    channel: Channel, member: Member, admin: Member, join: Any
) -> None:
    join(member)
    channel.closed_at = timezone.now()
    assert refused(channel, member) == "channel_closed"
    assert refused(channel, admin) == "channel_closed"


def test_a_globally_banned_user_may_not_post_until_the_ban_expires(
    channel: Channel, member: Member, join: Any
) -> None:
    join(member)
    now = timezone.now()
    member.banned_at = now
    assert refused(channel, member) == "user_globally_banned"
    member.ban_expires_at = now + timedelta(minutes=5)
    assert refused(channel, member) == "user_globally_banned"
    member.ban_expires_at = now - timedelta(seconds=1)  # expired, no sweep ran
    check_can_post(channel=channel, member=member)


def test_a_channel_ban_refuses_even_admins_until_it_expires(
    channel: Channel, member: Member, admin: Member, join: Any
) -> None:
    now = timezone.now()
    row = join(member, banned_at=now)
    join(admin, banned_at=now)
    assert refused(channel, member) == "user_banned"
    assert refused(channel, admin) == "user_banned"
    row.ban_expires_at = now - timedelta(seconds=1)
    row.save(update_fields=["ban_expires_at"])
    check_can_post(channel=channel, member=member)


def test_a_channel_mute_refuses_members_but_not_admins(
    channel: Channel, member: Member, admin: Member, join: Any
) -> None:
    join(member)
    channel.muted_at = timezone.now()
    assert refused(channel, member) == "channel_muted"
    check_can_post(channel=channel, member=admin)  # admins need not even be members


def test_an_expired_channel_mute_no_longer_blocks_without_a_worker(
    channel: Channel, member: Member, join: Any
) -> None:
    join(member)
    now = timezone.now()
    channel.muted_at = now - timedelta(minutes=2)
    channel.mute_expires_at = now - timedelta(minutes=1)
    check_can_post(channel=channel, member=member)
    assert refused(channel, member, now=now - timedelta(minutes=1, seconds=30)) == ("channel_muted")


def test_a_member_mute_refuses_that_member_until_it_expires(
    channel: Channel, member: Member, join: Any
) -> None:
    now = timezone.now()
    row = join(member, muted_at=now, mute_expires_at=now + timedelta(minutes=1))
    assert refused(channel, member) == "user_muted"
    row.mute_expires_at = now - timedelta(seconds=1)
    row.save(update_fields=["mute_expires_at"])
    check_can_post(channel=channel, member=member)


def test_a_muted_admin_may_still_post(channel: Channel, admin: Member, join: Any) -> None:
    join(admin, muted_at=timezone.now())
    check_can_post(channel=channel, member=admin)


def test_a_channel_past_its_scheduled_deletion_refuses_everyone_as_unknown(
    org: Any, make_channel: Any
) -> None:
    channel = make_channel("doomed", user_ids=["alice"])
    alice = Member.objects.get(organization=org, user_id="alice")
    check_can_post(channel=channel, member=alice)
    Channel.objects.filter(pk=channel.pk).update(
        scheduled_deletion_at=timezone.now() - timedelta(seconds=1)
    )
    channel.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        check_can_post(channel=channel, member=alice)
    assert exc.value.code == "channel_not_found"
