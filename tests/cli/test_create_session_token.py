"""``manage.py create_session_token --org SLUG --user-id USERID [--ttl SECONDS]``: a
messaging API session from the shell, the same as ``POST /api/v2/users/:userId/sessions``."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.events.models import Event
from apps.members.models import Member, MemberSession
from apps.members.services import SESSION_TOKEN_PREFIX
from apps.organizations.models import Organization, hash_token
from tests.personas import MessagingClient, make_member

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_session_token", *args, stdout=out)
    return out.getvalue()


def last_line(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


def works(token: str) -> int:
    return MessagingClient(token=token).get("/api/messaging/commands/").status_code


def test_it_prints_a_working_token_alone_on_the_last_line(org: Organization) -> None:
    alice = make_member(org, user_id="alice")
    output = run("--org", "acme", "--user-id", "alice")
    token = last_line(output)
    assert token.startswith(SESSION_TOKEN_PREFIX) and " " not in token
    assert works(token) == 200
    session = MemberSession.objects.get()
    assert session.member == alice
    assert session.token_hash == hash_token(token)
    assert session.prefix in output.splitlines()[0]  # the first line names its prefix only
    assert token not in output.splitlines()[0]


def test_the_default_lifetime_is_30_days(org: Organization) -> None:
    run("--org", "acme", "--user-id", "alice")
    left = MemberSession.objects.get().expires_at - timezone.now()
    assert timedelta(days=30) - timedelta(minutes=1) < left <= timedelta(days=30)


def test_it_takes_a_ttl(org: Organization) -> None:
    run("--org", "acme", "--user-id", "alice", "--ttl", "600")
    left = MemberSession.objects.get().expires_at - timezone.now()
    assert timedelta(seconds=540) < left <= timedelta(seconds=600)


def test_it_provisions_the_user_if_needed(org: Organization) -> None:
    token = last_line(run("--org", "acme", "--user-id", "newbie"))
    member = Member.objects.get(organization=org, user_id="newbie")
    assert member.org_role == Member.OrgRole.MEMBER
    assert Event.objects.filter(organization=org, type="user.created").count() == 1
    assert works(token) == 200


def test_it_is_audited_by_the_system_with_the_prefix_only(org: Organization) -> None:
    token = last_line(run("--org", "acme", "--user-id", "alice"))
    entry = AuditEntry.objects.get(organization=org, action="session.issue")
    assert entry.actor_label == "system"
    assert entry.target_id == "alice"
    assert entry.after["prefix"] == token[:12]
    assert token not in str(entry.after)


def test_it_acts_in_the_named_organization_only(org: Organization, other_org) -> None:
    acme_alice = make_member(org, user_id="alice")
    token = last_line(run("--org", "globex", "--user-id", "alice"))
    session = MemberSession.objects.get(token_hash=hash_token(token))
    assert session.member.organization == other_org
    assert session.member != acme_alice


def test_it_refuses_an_unknown_organization(db: None) -> None:
    with pytest.raises(CommandError, match="No organization with slug 'nowhere'"):
        run("--org", "nowhere", "--user-id", "alice")
    assert not Member.objects.exists()


@pytest.mark.parametrize("ttl", ["0", "-5", "31536001", "abc", "1.5", "", "10m"])
def test_it_refuses_a_bad_ttl_and_writes_nothing(org: Organization, ttl: str) -> None:
    with pytest.raises(CommandError, match="ttl"):
        run("--org", "acme", "--user-id", "newbie", "--ttl", ttl)
    assert not MemberSession.objects.exists()
    assert not Member.objects.filter(user_id="newbie").exists()


@pytest.mark.parametrize("user_id", ["", "   ", "a\u200bb", "x" * 129])
def test_it_refuses_a_bad_user_id(org: Organization, user_id: str) -> None:
    with pytest.raises(CommandError, match="--user-id"):
        run("--org", "acme", "--user-id", user_id)
    assert not Member.objects.exists()


def test_it_refuses_a_deactivated_user(org: Organization) -> None:
    make_member(org, user_id="gone", deactivated_at=timezone.now())
    with pytest.raises(CommandError, match="deactivated"):
        run("--org", "acme", "--user-id", "gone")
    assert not MemberSession.objects.exists()


def test_it_needs_org_and_user_id(org: Organization) -> None:
    with pytest.raises(CommandError):
        run("--org", "acme")
    with pytest.raises(CommandError):
        run("--user-id", "alice")
