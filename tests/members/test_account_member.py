"""``member_get_or_create_for_account``: the one account -> member link. Each caller says
the org role it wants (an admin token acting as a chat participant: admin; the
management commands: member, or ``--role``); a role change of an existing member and a
link to an existing user are audited."""

from __future__ import annotations

from typing import Any

import pytest

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.events.models import Event
from apps.members.models import Member
from apps.members.services import AccountMember, member_get_or_create_for_account
from apps.organizations.models import Organization
from tests.factories import AccountFactory, MemberFactory
from tests.personas import SYSTEM

pytestmark = pytest.mark.django_db


def link(org: Organization, account: Account, **kwargs: Any) -> AccountMember:
    return member_get_or_create_for_account(organization=org, account=account, **kwargs)


def test_a_token_acting_as_a_participant_gets_a_new_org_admin(org: Organization) -> None:
    account = AccountFactory(email="ann@acme.test")
    token_actor = Actor(account=account)

    member, created = link(org, account, actor=token_actor, role=Member.OrgRole.ADMIN)

    assert created
    assert (member.user_id, member.org_role, member.account) == ("ann@acme.test", "admin", account)
    event = Event.objects.get(type="user.created")
    assert event.payload["userIds"] == ["ann@acme.test"]
    assert event.payload["actor"] == "ann@acme.test"
    assert not AuditEntry.objects.exists()


def test_a_command_gets_a_new_member_with_the_role_it_asks_for(org: Organization) -> None:
    account = AccountFactory(email="ann@acme.test")

    member, created = link(org, account, actor=SYSTEM, role="member", claim_user_id=True)

    assert created and member.org_role == "member"
    assert Event.objects.get(type="user.created").payload["actor"] == "system"


def test_an_existing_member_keeps_its_role_unless_the_caller_sets_it(org: Organization) -> None:
    account = AccountFactory()
    existing = MemberFactory(organization=org, account=account, org_role="member")

    member, created = link(org, account, actor=SYSTEM, role=Member.OrgRole.ADMIN)

    assert (member.pk, created, member.org_role) == (existing.pk, False, "member")
    assert not AuditEntry.objects.exists() and not Event.objects.exists()


def test_setting_the_role_of_an_existing_member_is_audited(org: Organization) -> None:
    account = AccountFactory()
    existing = MemberFactory(organization=org, account=account, user_id="ann", org_role="member")

    member, created = link(org, account, actor=SYSTEM, role="admin", set_role=True)

    assert (member.pk, created) == (existing.pk, False)
    existing.refresh_from_db()
    assert existing.org_role == "admin"
    entry = AuditEntry.objects.get()
    assert (entry.organization, entry.actor_label, entry.action, entry.target_type) == (
        org,
        "system",
        "user.org_role",
        "user",
    )
    assert (entry.target_id, entry.before, entry.after) == (
        "ann",
        {"orgRole": "member"},
        {"orgRole": "admin"},
    )


def test_setting_the_role_a_member_has_records_nothing(org: Organization) -> None:
    account = AccountFactory()
    MemberFactory(organization=org, account=account, org_role="admin")

    link(org, account, actor=SYSTEM, role="admin", set_role=True)

    assert not AuditEntry.objects.exists()


def test_claiming_links_the_user_with_the_accounts_email_audited(org: Organization) -> None:
    account = AccountFactory(email="ann@acme.test")
    existing = MemberFactory(organization=org, user_id="ann@acme.test", org_role="admin")

    member, created = link(org, account, actor=SYSTEM, role="member", claim_user_id=True)

    assert (member.pk, created, member.account, member.org_role) == (
        existing.pk,
        False,
        account,
        "admin",  # kept: the caller did not set it
    )
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target_id, entry.after) == (
        "user.link",
        "ann@acme.test",
        {"account": "ann@acme.test"},
    )
    assert not Event.objects.exists()


def test_without_claiming_the_user_with_the_email_is_left_alone(org: Organization) -> None:
    account = AccountFactory(email="ann@acme.test")
    existing = MemberFactory(organization=org, user_id="ann@acme.test")

    member, created = link(org, account, actor=SYSTEM, role="admin")

    assert created and member.user_id == "ann@acme.test#1"
    existing.refresh_from_db()
    assert existing.account is None
    assert not AuditEntry.objects.exists()


def test_claiming_another_accounts_user_is_a_conflict(org: Organization) -> None:
    account = AccountFactory(email="ann@acme.test")
    MemberFactory(organization=org, user_id="ann@acme.test", account=AccountFactory())

    with pytest.raises(DomainError) as caught:
        link(org, account, actor=SYSTEM, role="member", claim_user_id=True)

    assert (caught.value.code, caught.value.field) == ("conflict", "userId")
    assert "another account" in caught.value.message
    assert not Member.objects.filter(account=account).exists()
    assert not AuditEntry.objects.exists()


def test_an_unknown_role_is_refused(org: Organization) -> None:
    with pytest.raises(DomainError) as caught:
        link(org, AccountFactory(), actor=SYSTEM, role="owner")

    assert (caught.value.code, caught.value.field) == ("invalid_parameter", "role")
    assert not Member.objects.exists()
