"""The management commands of organizations and tokens."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.models import Account
from apps.organizations.models import AccessToken, Organization, StaffRole
from apps.organizations.services import token_issue
from tests.conftest import TokenClient
from tests.factories import AccountFactory, StaffRoleFactory

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
    tokens = [token_issue(kind="admin", account=account, organization=org) for _ in range(2)]
    AccessToken.objects.filter(pk=tokens[1].token.pk).update(prefix=tokens[0].token.prefix)
    with pytest.raises(CommandError, match="2 active tokens"):
        run("revoke_access_token", tokens[0].token.prefix)
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.parametrize("length", [1, 7, 8, 11])
def test_revoke_access_token_refuses_a_prefix_shorter_than_12_characters(
    org: Organization, length: int
) -> None:
    """The only matching token is not revoked from a guess of its first characters."""
    issued = token_issue(kind="admin", account=AccountFactory(), organization=org)
    with pytest.raises(CommandError, match="whole 12-character prefix"):
        run("revoke_access_token", issued.raw[:length])
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()
    run("revoke_access_token", issued.raw[:12])
    assert AccessToken.objects.get(pk=issued.token.pk).revoked_at is not None


@pytest.mark.parametrize("value", ["ca_adm_nothing", "ca_adm_" + "x" * 43, "short"])
def test_revoke_access_token_refuses_what_matches_nothing(org: Organization, value: str) -> None:
    token_issue(kind="admin", account=AccountFactory(), organization=org)
    with pytest.raises(CommandError):
        run("revoke_access_token", value)
    assert not AccessToken.objects.filter(revoked_at__isnull=False).exists()
