"""The profile page: an Account issues, lists and revokes its own Personal Access Tokens."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Account
from apps.audit.models import AuditEntry
from apps.organizations.models import AccessToken, hash_token
from apps.organizations.selectors import token_authenticate
from apps.organizations.services import personal_token_issue

from ..factories import AccountFactory, MemberFactory
from ..personas import issue_token

pytestmark = pytest.mark.django_db

PROFILE = "/console/profile/"


def flash(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def issue(account: Account, name: str = "laptop") -> AccessToken:
    return personal_token_issue(account=account, name=name).token


@pytest.fixture
def plain_client(db: None) -> tuple[Client, Account]:
    """An account that is nobody's staff: the profile page is for every account."""
    account = AccountFactory(email="someone@example.test")
    client = Client()
    client.force_login(account)
    return client, account


def test_the_profile_has_its_url_name() -> None:
    assert reverse("console:profile") == PROFILE


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, db: None) -> None:
    for method, path in [
        ("get", PROFILE),
        ("post", reverse("console:personal_token_issue")),
        ("post", reverse("console:personal_token_revoke", args=[1])),
    ]:
        response = getattr(client, method)(path, {"name": "x"} if method == "post" else None)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:login"))
    assert not AccessToken.objects.exists()


def test_it_renders_for_staff_and_for_an_account_without_any_organization(
    moderator_client: Client, plain_client
) -> None:
    assert moderator_client.get(PROFILE).status_code == 200
    client, _ = plain_client
    response = client.get(PROFILE)
    assert response.status_code == 200
    assert "not a member of any organization" in response.content.decode()


def test_the_account_menu_links_to_the_profile(moderator_client: Client, org) -> None:
    body = moderator_client.get(reverse("console:dashboard", args=[org.slug])).content.decode()
    assert f'href="{PROFILE}"' in body


def test_it_lists_the_memberships_where_the_token_acts(plain_client, org) -> None:
    client, account = plain_client
    MemberFactory(organization=org, account=account, user_id="someone-42")
    body = client.get(PROFILE).content.decode()
    assert "Acme" in body and "someone-42" in body


def test_it_issues_a_token_shown_once_and_stores_only_its_hash(plain_client) -> None:
    client, account = plain_client
    response = client.post(reverse("console:personal_token_issue"), {"name": "laptop"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = response.context["raw"]
    body = response.content.decode()
    assert raw in body and "shown only this once" in body
    token = AccessToken.objects.get(account=account)
    assert (token.kind, token.organization_id, token.name) == ("personal", None, "laptop")
    assert token.token_hash == hash_token(raw)
    stored = [str(value) for value in AccessToken.objects.filter(pk=token.pk).values_list().get()]
    assert raw not in stored
    assert token_authenticate(raw=raw, kind="personal") == token
    # Decision: no audit entry (the audit log is per organization; the row keeps the trail).
    assert not AuditEntry.objects.exists()
    # the list never shows it again, but lists the token itself
    listed = client.get(PROFILE).content.decode()
    assert raw not in listed and "laptop" in listed and token.prefix in listed


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_token_needs_a_short_name(plain_client, name: str) -> None:
    client, _ = plain_client
    response = client.post(reverse("console:personal_token_issue"), {"name": name})
    assert response.status_code == 400
    assert flash(response) and "No token was issued" in flash(response)[0]
    assert not AccessToken.objects.exists()


def test_it_lists_only_the_accounts_own_personal_tokens(plain_client, org, owner) -> None:
    client, account = plain_client
    issue(account, "mine")
    issue(owner, "the owner's")
    issue_token(kind="api", account=account, organization=org, name="an api token")
    body = client.get(PROFILE).content.decode()
    assert "mine" in body
    assert "the owner" not in body and "an api token" not in body


def test_the_token_list_costs_the_same_queries_for_1_and_30_tokens(plain_client) -> None:
    client, account = plain_client
    issue(account)
    with CaptureQueriesContext(connection) as one:
        client.get(PROFILE)
    for i in range(29):
        issue(account, f"t{i}")
    with CaptureQueriesContext(connection) as thirty:
        client.get(PROFILE)
    # 5: session, account, the page of tokens, the memberships joined with their
    # organizations, the organizations where the account is staff (the sidebar).
    assert len(one) == len(thirty) == 5


def test_it_revokes_a_token_keeping_it_listed_as_revoked(plain_client) -> None:
    client, account = plain_client
    token = issue(account)
    assert "data-confirm=" in client.get(PROFILE).content.decode()
    response = client.post(reverse("console:personal_token_revoke", args=[token.pk]), follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert any("Revoked the token “laptop”" in m for m in flash(response))
    assert not AuditEntry.objects.exists()
    active_rows = client.get(PROFILE).content.decode().split("<tbody>")[1].split("</tbody>")[0]
    assert "laptop" not in active_rows
    assert "laptop" in client.get(PROFILE, {"state": "revoked"}).content.decode()
    # revoking again changes nothing
    revoked_at = token.revoked_at
    client.post(reverse("console:personal_token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at == revoked_at


def test_another_accounts_token_is_a_404_and_stays_active(plain_client, owner, org) -> None:
    client, _ = plain_client
    theirs = issue(owner, "theirs")
    org_token = issue_token(kind="api", account=owner, organization=org, name="api").token
    for token in (theirs, org_token):
        response = client.post(reverse("console:personal_token_revoke", args=[token.pk]))
        assert response.status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None
    assert client.post(reverse("console:personal_token_revoke", args=[999999])).status_code == 404


def test_a_get_on_the_action_urls_is_refused(plain_client) -> None:
    client, account = plain_client
    token = issue(account)
    assert client.get(reverse("console:personal_token_issue")).status_code == 405
    assert client.get(reverse("console:personal_token_revoke", args=[token.pk])).status_code == 405
