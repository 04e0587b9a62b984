"""The session lookup of the messaging API (``session_authenticate``): one indexed
statement that loads the session, its member, the member's organization and linked
Account; a revoked session, a deactivated or removed member, a deactivated Account and
a ban fail on the very next lookup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import Account
from apps.core.errors import DomainError
from apps.members.models import Member, MemberSession
from apps.members.selectors import session_authenticate
from apps.members.services import member_ban, member_deactivate, member_session_issue
from apps.organizations.models import Organization
from tests.factories import AccountFactory, MemberFactory
from tests.personas import SYSTEM


def issued(member: Member) -> str:
    raw = member_session_issue(actor=SYSTEM, member=member).token
    session_authenticate(raw=raw)  # last_used_at fresh: no UPDATE below
    return raw


def test_a_lookup_is_one_statement_and_what_requests_read_needs_no_other(
    org: Organization,
) -> None:
    account = AccountFactory()
    member = MemberFactory(organization=org, account=account)
    raw = issued(member)
    with CaptureQueriesContext(connection) as queries:
        session = session_authenticate(raw=raw)
        assert session is not None
        assert session.member == member
        assert (session.member.user_id, session.member.org_role, session.member.roles) == (
            member.user_id,
            member.org_role,
            member.roles,
        )
        assert session.member.organization == org
        assert session.organization is session.member.organization
        assert session.member.organization.filter_version == org.filter_version
        assert session.member.account.email == account.email
        assert session.expires_at > timezone.now()
    assert len(queries) == 1
    assert queries[0]["sql"].lstrip().upper().startswith("SELECT")


def test_a_member_without_an_account_is_found_with_none(org: Organization) -> None:
    raw = issued(MemberFactory(organization=org))
    with CaptureQueriesContext(connection) as queries:
        session = session_authenticate(raw=raw)
        assert session is not None and session.member.account is None
    assert len(queries) == 1


def test_the_lookup_loads_no_secret_and_stamps_the_organization(org: Organization) -> None:
    raw = issued(MemberFactory(organization=org, account=AccountFactory()))
    session = session_authenticate(raw=raw)
    assert session is not None
    assert "token_hash" in session.get_deferred_fields()
    assert "password" in session.member.account.get_deferred_fields()
    assert session.member.organization.row_read_at is not None


def test_a_revoked_session_fails_on_the_next_lookup(org: Organization) -> None:
    member = MemberFactory(organization=org)
    raw = issued(member)
    MemberSession.objects.filter(member=member).update(revoked_at=timezone.now())
    assert session_authenticate(raw=raw) is None


def test_an_expired_session_fails(org: Organization) -> None:
    member = MemberFactory(organization=org)
    raw = issued(member)
    MemberSession.objects.filter(member=member).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert session_authenticate(raw=raw) is None


def test_a_deactivated_member_fails_on_the_next_lookup(org: Organization) -> None:
    MemberFactory(organization=org, org_role=Member.OrgRole.ADMIN)  # not the last admin
    member = MemberFactory(organization=org)
    raw = issued(member)
    member_deactivate(actor=SYSTEM, member=member)
    assert session_authenticate(raw=raw) is None


def test_a_removed_member_fails_on_the_next_lookup(org: Organization) -> None:
    member = MemberFactory(organization=org)
    raw = issued(member)
    Member.objects.filter(pk=member.pk).update(removed_at=timezone.now())
    assert session_authenticate(raw=raw) is None


def test_a_deactivated_account_fails_on_the_next_lookup(org: Organization) -> None:
    member = MemberFactory(organization=org, account=AccountFactory())
    raw = issued(member)
    Account.objects.filter(pk=member.account_id).update(is_active=False)
    assert session_authenticate(raw=raw) is None


def test_a_banned_member_is_told_so_on_the_next_lookup(org: Organization) -> None:
    member = MemberFactory(organization=org)
    raw = issued(member)
    member_ban(actor=SYSTEM, member=member, reason="spam")
    with pytest.raises(DomainError) as caught:
        session_authenticate(raw=raw)
    assert caught.value.code == "user_globally_banned"


@pytest.mark.parametrize("raw", ["", "x" * 201, "unknown", "' OR 1=1 --"])
def test_unknown_or_malformed_tokens_find_nothing(org: Organization, raw: str) -> None:
    issued(MemberFactory(organization=org))
    assert session_authenticate(raw=raw) is None
