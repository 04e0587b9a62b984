"""One predicate per rule and one number per limit (issue 11): each is defined once in the
domain app that owns its noun, every surface imports it, and the services enforce it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from apps.api_v2.channels.serializers import ChannelUsersInput
from apps.api_v2.users.serializers import UserIdInput
from apps.audit.actor import Actor
from apps.audit.services import MAX_REASON_LENGTH
from apps.channels.models import Membership
from apps.channels.services import channels as channel_services
from apps.channels.services.channels import MAX_USER_IDS
from apps.console.channels.forms import MembersAddForm, ReasonMixin
from apps.core.errors import DomainError
from apps.members.services import member_ban
from apps.organizations.models import StaffRole
from apps.organizations.selectors import staff_role_of
from apps.retention.services import channel_close
from tests.factories import AccountFactory, ChannelFactory, MemberFactory, StaffRoleFactory

APPS = Path(__file__).resolve().parents[1] / "apps"
SYSTEM = Actor.system()


def test_the_console_and_the_api_take_as_many_user_ids_as_the_service() -> None:
    api_field = ChannelUsersInput().fields["userIds"]
    assert api_field.max_length == MAX_USER_IDS == 1000
    just_enough = ",".join(f"u{i}" for i in range(MAX_USER_IDS))
    assert MembersAddForm({"user_ids": just_enough}).is_valid()
    assert not MembersAddForm({"user_ids": just_enough + ",one-more"}).is_valid()


def test_the_console_and_the_api_take_reasons_as_long_as_the_services() -> None:
    assert UserIdInput().fields["reason"].max_length == MAX_REASON_LENGTH
    assert ReasonMixin().fields["reason"].max_length == MAX_REASON_LENGTH


@pytest.mark.django_db
def test_the_services_refuse_too_many_user_ids_and_write_nothing(org, monkeypatch) -> None:
    monkeypatch.setattr(channel_services, "MAX_USER_IDS", 2)
    channel = ChannelFactory(organization=org)
    with pytest.raises(DomainError) as caught:
        channel_services.channel_users_add(channel=channel, actor=SYSTEM, user_ids=["a", "b", "c"])
    assert (caught.value.code, caught.value.field) == ("invalid_parameter", "userIds")
    assert not Membership.objects.filter(channel=channel).exists()


@pytest.mark.django_db
def test_the_services_refuse_a_reason_that_is_too_long(org) -> None:
    channel = ChannelFactory(organization=org)
    member = MemberFactory(organization=org)
    too_long = "x" * (MAX_REASON_LENGTH + 1)
    for call in (
        lambda: channel_services.channel_mute(
            channel=channel, actor=SYSTEM, mute_period=-1, reason=too_long
        ),
        lambda: member_ban(actor=SYSTEM, member=member, reason=too_long),
        lambda: channel_close(channel=channel, actor=SYSTEM, reason=too_long),
    ):
        with pytest.raises(DomainError) as caught:
            call()
        assert (caught.value.code, caught.value.field) == ("invalid_parameter", "reason")
    channel.refresh_from_db()
    member.refresh_from_db()
    assert channel.muted_at is None and channel.closed_at is None
    assert member.banned_at is None


@pytest.mark.django_db
def test_staff_roles_rank_and_a_superuser_acts_as_an_owner(org) -> None:
    Role = StaffRole.Role
    assert Role.MODERATOR.rank < Role.ADMIN.rank < Role.OWNER.rank
    assert StaffRole.role_at_least(Role.OWNER, Role.ADMIN)
    assert not StaffRole.role_at_least(Role.MODERATOR, Role.ADMIN)
    assert not StaffRole.role_at_least(None, Role.MODERATOR)
    moderator = StaffRoleFactory(organization=org, role=Role.MODERATOR).account
    assert staff_role_of(account=moderator, organization=org) == Role.MODERATOR
    assert staff_role_of(account=AccountFactory(), organization=org) is None
    superuser = AccountFactory(is_superuser=True)
    assert staff_role_of(account=superuser, organization=org) == Role.OWNER


def test_only_the_retention_service_writes_the_scheduled_deletion() -> None:
    """``Channel.scheduled_deletion_at`` has one writer:
    ``apps.retention.services.channel_scheduled_deletion_write``."""
    writes = re.compile(r"scheduled_deletion_at\s*=(?!=)(?!\s*models\.)")  # not the field
    writers = sorted(
        str(path.relative_to(APPS.parent))
        for path in APPS.rglob("*.py")
        if "migrations" not in path.parts and writes.search(path.read_text())
    )
    assert writers == ["apps/retention/services.py"]
