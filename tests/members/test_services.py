"""Services of members: global bans reach the posting rule; flags; updates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.actor import Actor
from apps.channels.rules import check_can_post
from apps.core.errors import DomainError
from apps.members import selectors, services
from tests.builders import open_reports
from tests.factories import ChannelFactory, MemberFactory

pytestmark = pytest.mark.django_db


def test_a_globally_banned_user_cannot_post_anywhere_until_unbanned(org):
    member = MemberFactory(organization=org, org_role="admin")  # admins may post anywhere
    channels = [ChannelFactory(organization=org) for _ in range(2)]
    services.member_ban(actor=Actor.system(), member=member, reason="spam")
    member.refresh_from_db()
    for channel in channels:
        with pytest.raises(DomainError) as err:
            check_can_post(channel=channel, member=member)
        assert err.value.code == "user_globally_banned"
    services.member_unban(actor=Actor.system(), member=member)
    member.refresh_from_db()
    for channel in channels:
        check_can_post(channel=channel, member=member)  # no error


def test_an_expired_global_ban_no_longer_blocks_posting(org):
    now = timezone.now()
    member = MemberFactory(
        organization=org,
        org_role="admin",
        banned_at=now - timedelta(hours=2),
        ban_expires_at=now - timedelta(hours=1),
    )
    check_can_post(channel=ChannelFactory(organization=org), member=member)


def test_banning_clears_a_previous_expiry(org):
    member = MemberFactory(
        organization=org, banned_at=timezone.now(), ban_expires_at=timezone.now()
    )
    member = services.member_ban(actor=Actor.system(), member=member)
    assert member.ban_expires_at is None and member.is_globally_banned()


def test_clearing_flags_returns_the_number_cleared_and_is_repeatable(org):
    member = MemberFactory(organization=org)
    open_reports(member, 4)
    assert services.member_flags_clear(actor=Actor.system(), member=member) == 4
    assert services.member_flags_clear(actor=Actor.system(), member=member) == 0
    detailed = selectors.member_get_detailed(organization=org, user_id=member.user_id)
    assert detailed.flag_count == 0


def test_member_get_treats_another_organizations_user_as_unknown(org, other_org):
    MemberFactory(organization=other_org, user_id="theirs")
    with pytest.raises(DomainError) as err:
        selectors.member_get(organization=org, user_id="theirs")
    assert err.value.code == "user_not_found"
