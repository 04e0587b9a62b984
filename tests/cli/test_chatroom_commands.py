"""The chatroom service's commands: create_api_token, create_personal_token, create_event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Account
from apps.audit.models import AuditEntry
from apps.calendar_events.models import CalendarEvent
from apps.channels.selectors.chatrooms import chatroom_assigned_ids, chatroom_for_event
from apps.cli.management.commands.create_api_token import SYSTEM_ACCOUNT_EMAIL
from apps.members.models import Member
from apps.organizations.models import AccessToken, StaffRole
from apps.organizations.selectors import token_authenticate
from tests.factories import AccountFactory, MemberFactory, StaffRoleFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


# --- create_api_token ---------------------------------------------------------------------------


def test_create_api_token_prints_a_working_api_token_last(org):
    raw = run("create_api_token", "--org", "acme", "--name", "backend")[-1]
    token = token_authenticate(raw=raw, kind=AccessToken.Kind.API)
    assert token is not None
    assert (token.organization, token.name) == (org, "backend")
    assert token.token_hash != raw  # only the hash is stored
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN) is None
    assert AuditEntry.objects.filter(action="token.issue", target_id=str(token.pk)).exists()


def test_create_api_token_is_held_by_the_first_owner_else_the_system_account(org):
    raw = run("create_api_token", "--org", "acme")[-1]
    assert token_authenticate(raw=raw, kind="api").account.email == SYSTEM_ACCOUNT_EMAIL
    assert not Account.objects.get(email=SYSTEM_ACCOUNT_EMAIL).has_usable_password()
    first = StaffRoleFactory(organization=org, role=StaffRole.Role.OWNER).account
    StaffRoleFactory(organization=org, role=StaffRole.Role.OWNER)
    raw = run("create_api_token", "--org", "acme")[-1]
    assert token_authenticate(raw=raw, kind="api").account == first


def test_create_api_token_with_an_email_uses_that_account(org):
    raw = run("create_api_token", "--org", "acme", "--email", "Ops@Acme.test")[-1]
    assert token_authenticate(raw=raw, kind="api").account.email == "ops@acme.test"
    assert not StaffRole.objects.exists()  # no console role granted


@pytest.mark.parametrize(
    "args, message",
    [
        (["--org", "nope"], "No organization"),
        (["--org", "acme", "--email", "not-an-email"], "not a valid email"),
        (["--org", "acme", "--name", "x" * 101], "too long"),
    ],
)
def test_create_api_token_refuses_bad_input(org, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_token", *args)
    assert not AccessToken.objects.exists()


# --- create_personal_token ----------------------------------------------------------------------


def test_create_personal_token_creates_the_account_and_prints_the_token_last(db):
    raw = run("create_personal_token", "--email", "ann@example.com", "--name", "phone")[-1]
    token = token_authenticate(raw=raw, kind=AccessToken.Kind.PERSONAL)
    assert token.account.email == "ann@example.com"
    assert token.organization is None and token.name == "phone"
    assert not Member.objects.exists()


def test_create_personal_token_with_an_org_creates_the_member(org):
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme", "--role", "admin")
    member = Member.objects.get(organization=org)
    assert (member.user_id, member.org_role, member.account.email) == (
        "ann@example.com",
        "admin",
        "ann@example.com",
    )
    # a second run reuses both, and --role changes the role
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme", "--role", "member")
    member.refresh_from_db()
    assert member.org_role == "member"
    assert Member.objects.count() == 1 and Account.objects.count() == 1
    assert AccessToken.objects.filter(kind="personal").count() == 2


def test_create_personal_token_defaults_the_role_to_member(org):
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme")
    assert Member.objects.get(organization=org).org_role == "member"


def test_create_personal_token_links_an_existing_user_with_that_user_id(org):
    existing = MemberFactory(organization=org, user_id="ann@example.com", org_role="admin")
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme")
    existing.refresh_from_db()
    assert existing.account.email == "ann@example.com"
    assert existing.org_role == "admin"  # kept: no --role given


def test_create_personal_token_refuses_a_user_id_of_another_account(org):
    MemberFactory(organization=org, user_id="ann@example.com", account=AccountFactory())
    with pytest.raises(CommandError, match="another account"):
        run("create_personal_token", "--email", "ann@example.com", "--org", "acme")
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--email", "bad"], "not a valid email"),
        (["--email", "a@b.test", "--role", "admin"], "--role needs --org"),
        (["--email", "a@b.test", "--org", "nope"], "No organization"),
        (["--email", "a@b.test", "--org", "acme", "--role", "owner"], "invalid choice"),
    ],
)
def test_create_personal_token_refuses_bad_input(org, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_personal_token", *args)
    assert not AccessToken.objects.exists()


# --- create_event -------------------------------------------------------------------------------


def test_create_event_creates_the_event_its_chatroom_and_its_participants(org):
    existing = AccountFactory(email="bob@example.com")
    bob = MemberFactory(organization=org, user_id="bob", account=existing)
    lines = run(
        "create_event",
        "--org",
        "acme",
        "--title",
        "Kick-off",
        "--start",
        "2030-05-01T09:00:00Z",
        "--end",
        "2030-05-01T11:00:00+02:00",
        "--participant",
        "ann@example.com",
        "--participant",
        "BOB@example.com",
    )
    event = CalendarEvent.objects.get(pk=int(lines[-1]))
    assert (event.organization, event.title) == (org, "Kick-off")
    assert event.ends_at == datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
    ann = Member.objects.get(organization=org, user_id="ann@example.com")
    assert (ann.org_role, ann.account.email) == ("member", "ann@example.com")
    assert set(event.participants.all()) == {ann, bob}
    room = chatroom_for_event(organization=org, event_id=event.pk)
    assert chatroom_assigned_ids(channels=[room])[room.pk] == sorted([ann.pk, bob.pk])
    assert room.scheduled_deletion_at == event.ends_at + timedelta(days=30)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--org", "nope"], "No organization"),
        (["--org", "acme", "--start", "yesterday"], "not an ISO 8601"),
        (["--org", "acme", "--start", "2030-05-01T09:00:00"], "needs a timezone"),
        (["--org", "acme", "--end", "2030-04-01T09:00:00Z"], "before --start"),
        (["--org", "acme", "--title", " "], "title"),
        (["--org", "acme", "--participant", "nobody"], "not a valid email"),
    ],
)
def test_create_event_refuses_bad_input_and_writes_nothing(org, args, message):
    base = {"--title": "T", "--start": "2030-05-01T09:00:00Z", "--end": "2030-05-01T10:00:00Z"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    full = [x for k, v in {**base, **given}.items() for x in (k, v)]
    with pytest.raises(CommandError, match=message):
        run("create_event", *full)
    assert not CalendarEvent.objects.exists() and not Member.objects.exists()
