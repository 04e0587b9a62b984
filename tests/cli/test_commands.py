"""The management commands of organizations and tokens, and the audit entries every
command writes through the domain's services, by the system."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Account
from apps.audit.models import AuditEntry
from apps.calendar_events.models import CalendarEvent
from apps.members.models import Member
from apps.organizations.models import AccessToken, Organization, StaffRole
from tests.factories import AccountFactory, MemberFactory, StaffRoleFactory
from tests.personas import TokenClient, issue_token

ECHO = "/api/test/echo"  # tests/core/urls.py


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- create_organization ------------------------------------------------------------------------


def test_create_organization_creates_and_prints_it(db: None) -> None:
    output = run("create_organization", "northwind", "--name", "Northwind Traders")
    org = Organization.objects.get(slug="northwind")
    assert org.name == "Northwind Traders"
    assert "northwind" in output and "Northwind Traders" in output


def test_create_organization_defaults_the_name_to_the_slug(db: None) -> None:
    run("create_organization", "blue-sky")
    assert Organization.objects.get(slug="blue-sky").name == "Blue Sky"


def test_create_organization_refuses_an_existing_slug(org: Organization) -> None:
    with pytest.raises(CommandError, match="already exists"):
        run("create_organization", "acme", "--name", "Again")
    assert Organization.objects.filter(slug="acme").count() == 1


@pytest.mark.parametrize("slug", ["profile", "login", "Password"])
def test_create_organization_refuses_a_slug_the_console_uses_for_its_own_pages(
    db: None, slug: str
) -> None:
    with pytest.raises(CommandError, match="reserved"):
        run("create_organization", slug, "--name", "Shadowed")
    assert not Organization.objects.filter(slug=slug).exists()


@pytest.mark.parametrize("slug", ["Not a slug", "a/b", "ça", "x" * 65, ""])
def test_create_organization_refuses_a_bad_slug(db: None, slug: str) -> None:
    with pytest.raises(CommandError):
        run("create_organization", slug, "--name", "X")
    assert not Organization.objects.exists()


# --- create_access_token -------------------------------------------------------------------------


@pytest.mark.urls("tests.core.urls")
def test_create_access_token_prints_a_working_token_alone_on_its_last_line(
    org: Organization,
) -> None:
    output = run("create_access_token", "--org", "acme", "--email", "ops@acme.test")
    last = output.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(r"ca_adm_[A-Za-z0-9_-]{43}", last)
    response = TokenClient(last, org).get(ECHO)
    assert response.status_code == 200
    assert response.json()["organization"] == "acme"


def test_create_access_token_creates_the_account_with_an_admin_role(org: Organization) -> None:
    run("create_access_token", "--org", "acme", "--email", "New@Acme.test", "--name", "ci")
    account = Account.objects.get(email="new@acme.test")
    assert not account.has_usable_password()
    assert StaffRole.objects.get(organization=org, account=account).role == "admin"
    token = AccessToken.objects.get(account=account)
    assert (token.kind, token.organization, token.name) == ("admin", org, "ci")


def test_create_access_token_reuses_the_account_and_keeps_an_owner_role(
    org: Organization,
) -> None:
    owner = StaffRoleFactory(
        organization=org, account=AccountFactory(email="boss@acme.test"), role="owner"
    )
    run("create_access_token", "--org", "acme", "--email", "boss@acme.test")
    run("create_access_token", "--org", "acme", "--email", "BOSS@acme.test")
    assert Account.objects.filter(email__iexact="boss@acme.test").count() == 1
    owner.refresh_from_db()
    assert owner.role == "owner"
    assert AccessToken.objects.filter(account=owner.account).count() == 2


def test_create_access_token_refuses_an_unknown_organization(db: None) -> None:
    with pytest.raises(CommandError, match="No organization"):
        run("create_access_token", "--org", "nope", "--email", "a@b.test")
    assert not Account.objects.exists()


def test_create_access_token_refuses_a_bad_email(org: Organization) -> None:
    with pytest.raises(CommandError, match="not a valid email"):
        run("create_access_token", "--org", "acme", "--email", "not-an-email")


# --- revoke_access_token -------------------------------------------------------------------------


@pytest.mark.urls("tests.core.urls")
@pytest.mark.parametrize("by", ["token", "prefix"])
def test_revoke_access_token_revokes_by_token_or_prefix(org: Organization, by: str) -> None:
    raw = run("create_access_token", "--org", "acme", "--email", "a@acme.test").split()[-1]
    client = TokenClient(raw, org)
    assert client.get(ECHO).status_code == 200
    output = run("revoke_access_token", raw if by == "token" else raw[:12])
    assert "Revoked" in output
    assert client.get(ECHO).status_code == 401
    assert "already revoked" in run("revoke_access_token", raw)


def test_revoke_access_token_refuses_an_ambiguous_prefix(org: Organization) -> None:
    account = AccountFactory()
    tokens = [issue_token(kind="admin", account=account, organization=org) for _ in range(2)]
    AccessToken.objects.filter(pk=tokens[1].token.pk).update(prefix=tokens[0].token.prefix)
    with pytest.raises(CommandError, match="2 active tokens"):
        run("revoke_access_token", tokens[0].token.prefix)
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.parametrize("length", [1, 7, 8, 11])
def test_revoke_access_token_refuses_a_prefix_shorter_than_12_characters(
    org: Organization, length: int
) -> None:
    """The only matching token is not revoked from a guess of its first characters."""
    issued = issue_token(kind="admin", account=AccountFactory(), organization=org)
    with pytest.raises(CommandError, match="whole 12-character prefix"):
        run("revoke_access_token", issued.raw[:length])
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()
    run("revoke_access_token", issued.raw[:12])
    assert AccessToken.objects.get(pk=issued.token.pk).revoked_at is not None


@pytest.mark.parametrize("value", ["ca_adm_nothing", "ca_adm_" + "x" * 43, "short"])
def test_revoke_access_token_refuses_what_matches_nothing(org: Organization, value: str) -> None:
    issue_token(kind="admin", account=AccountFactory(), organization=org)
    with pytest.raises(CommandError):
        run("revoke_access_token", value)
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()


# --- every write through the audited services, by the system -------------------------------------


def audit(organization: Organization, *actions: str) -> list[AuditEntry]:
    """The organization's audit entries (of these actions, if given), oldest first; each
    one by the system (no account, no token: the commands' actor)."""
    entries = AuditEntry.objects.filter(organization=organization).order_by("pk")
    if actions:
        entries = entries.filter(action__in=actions)
    found = list(entries)
    for entry in found:
        assert (entry.actor_label, entry.actor_account, entry.actor_token) == ("system", None, None)
    return found


def test_create_access_token_audits_the_staff_role_and_the_token_by_the_system(
    org: Organization,
) -> None:
    raw = run("create_access_token", "--org", "acme", "--email", "ops@acme.test").split()[-1]
    token = AccessToken.objects.get(prefix=raw[:12])
    added, issued = audit(org)
    assert (added.action, added.target_id, added.after) == (
        "staff.add",
        "ops@acme.test",
        {"role": "admin", "accountCreated": False},  # the command made the account first
    )
    assert (issued.action, issued.target_type, issued.target_id) == (
        "token.issue",
        "access_token",
        str(token.pk),
    )
    assert issued.after == {
        "name": "manage.py create_access_token",
        "prefix": raw[:12],
        "kind": "admin",
    }
    assert raw not in str(issued.after)


def test_create_access_token_audits_a_moderator_made_admin(org: Organization) -> None:
    StaffRoleFactory(
        organization=org, account=AccountFactory(email="mo@acme.test"), role="moderator"
    )
    run("create_access_token", "--org", "acme", "--email", "mo@acme.test", "--name", "ci")
    role, issued = audit(org)
    assert (role.action, role.target_id, role.before, role.after) == (
        "staff.role",
        "mo@acme.test",
        {"role": "moderator"},
        {"role": "admin"},
    )
    assert (issued.action, issued.after["name"]) == ("token.issue", "ci")


def test_create_access_token_for_an_owner_audits_the_token_only(org: Organization) -> None:
    StaffRoleFactory(organization=org, account=AccountFactory(email="boss@acme.test"), role="owner")
    run("create_access_token", "--org", "acme", "--email", "boss@acme.test")
    assert [e.action for e in audit(org)] == ["token.issue"]


def test_create_api_token_audits_the_token_by_the_system(org: Organization) -> None:
    raw = run("create_api_token", "--org", "acme").split()[-1]
    [issued] = audit(org)
    token = AccessToken.objects.get(prefix=raw[:12])
    assert (issued.action, issued.target_id, issued.after) == (
        "token.issue",
        str(token.pk),
        {"name": "manage.py create_api_token", "prefix": raw[:12], "kind": "api"},
    )


@pytest.mark.parametrize("kind", ["admin", "api"])
def test_revoke_access_token_audits_the_revocation_by_the_system(
    org: Organization, kind: str
) -> None:
    issued = issue_token(kind=kind, organization=org, name="old")
    run("revoke_access_token", issued.raw)
    [revoked] = audit(org, "token.revoke")
    assert (revoked.target_id, revoked.before) == (
        str(issued.token.pk),
        {"name": "old", "prefix": issued.token.prefix, "kind": kind},
    )
    run("revoke_access_token", issued.raw)  # already revoked: nothing more
    assert len(audit(org, "token.revoke")) == 1


def test_revoke_access_token_revokes_a_personal_token_unaudited(org: Organization) -> None:
    """A personal token belongs to no organization, so to no organization's audit log."""
    issued = issue_token(kind="personal")
    assert "Revoked" in run("revoke_access_token", issued.raw)
    assert AccessToken.objects.get(pk=issued.token.pk).revoked_at is not None
    assert not AuditEntry.objects.exists()


def test_create_personal_token_audits_a_role_change_by_the_system(org: Organization) -> None:
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme")
    assert audit(org) == []  # a new user: its user.created event, no audit entry
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme", "--role", "admin")
    [changed] = audit(org)
    assert (changed.action, changed.target_id, changed.before, changed.after) == (
        "user.org_role",
        "ann@example.com",
        {"orgRole": "member"},
        {"orgRole": "admin"},
    )
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme", "--role", "admin")
    assert len(audit(org)) == 1  # the same role again: nothing to record


def test_create_personal_token_audits_the_link_to_an_existing_user(org: Organization) -> None:
    MemberFactory(organization=org, user_id="ann@example.com", org_role="admin")
    run("create_personal_token", "--email", "ann@example.com", "--org", "acme", "--role", "member")
    linked, changed = audit(org)
    assert (linked.action, linked.target_id, linked.before, linked.after) == (
        "user.link",
        "ann@example.com",
        {"account": None},
        {"account": "ann@example.com"},
    )
    assert (changed.action, changed.after) == ("user.org_role", {"orgRole": "member"})


def test_create_event_audits_the_event_and_the_links_by_the_system(org: Organization) -> None:
    MemberFactory(organization=org, user_id="bob@example.com")
    lines = StringIO()
    call_command(
        "create_event",
        "--org=acme",
        "--title=Kick-off",
        "--start=2030-05-01T09:00:00Z",
        "--end=2030-05-01T10:00:00Z",
        "--participant=ann@example.com",
        "--participant=bob@example.com",
        stdout=lines,
    )
    event = CalendarEvent.objects.get(pk=int(lines.getvalue().split()[-1]))
    assert [(e.action, e.target_id) for e in audit(org, "user.link", "calendar_event.create")] == [
        ("user.link", "bob@example.com"),
        ("calendar_event.create", str(event.pk)),
    ]
    assert Member.objects.get(organization=org, user_id="ann@example.com").org_role == "member"
