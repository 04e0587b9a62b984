"""Organization administration: staff, admin access tokens and settings (owners and
admins only; the owner role is the owners' business; the last owner stays)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.organizations.models import AccessToken, Organization, StaffRole, hash_token
from apps.organizations.selectors import token_authenticate
from apps.organizations.services import organization_token_issue

from ..factories import AccountFactory, StaffRoleFactory

pytestmark = pytest.mark.django_db


def url(name: str, org: Organization, *args: object) -> str:
    return reverse(f"console:{name}", args=[org.slug, *args])


def flash(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def staff_of(org: Organization, account: Account) -> StaffRole:
    return StaffRole.objects.get(organization=org, account=account)


@pytest.fixture
def other_admin_client(other_org: Organization) -> Client:
    """An owner of globex: all powers there, none in acme."""
    account = StaffRoleFactory(
        organization=other_org, role=StaffRole.Role.OWNER, account__email="owner@globex.test"
    ).account
    client = Client()
    client.force_login(account)
    return client


def issue(org: Organization, account: Account, name: str = "CRM sync") -> AccessToken:
    return organization_token_issue(organization=org, actor=Actor(account=account), name=name).token


# --- Who may open these pages -------------------------------------------------------------


@pytest.mark.parametrize("page", ["staff", "tokens", "settings"])
def test_owners_and_admins_see_the_page(owner_client, admin_client_, org, page) -> None:
    assert owner_client.get(url(page, org)).status_code == 200
    assert admin_client_.get(url(page, org)).status_code == 200


@pytest.mark.parametrize("page", ["staff", "tokens", "settings"])
def test_a_moderator_gets_403(moderator_client: Client, org, page) -> None:
    assert moderator_client.get(url(page, org)).status_code == 403


def test_a_moderator_cannot_post_either(moderator_client: Client, org, owner) -> None:
    token = issue(org, owner)
    owner_staff = staff_of(org, owner)
    posts = [
        (url("staff_add", org), {"email": "new@acme.test", "role": "admin"}),
        (url("staff_role", org, owner_staff.pk), {"role": "moderator"}),
        (url("staff_remove", org, owner_staff.pk), {}),
        (url("token_issue", org), {"name": "mine"}),
        (url("token_revoke", org, token.pk), {}),
        (url("settings", org), {"filter_policy": "mask"}),
    ]
    for path, data in posts:
        assert moderator_client.post(path, data).status_code == 403, path
    assert staff_of(org, owner).role == "owner"
    assert not Account.objects.filter(email="new@acme.test").exists()
    assert AccessToken.objects.filter(organization=org).count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("page", ["staff", "tokens", "settings"])
def test_the_outsider_gets_404(outsider_client: Client, other_admin_client, org, page) -> None:
    assert outsider_client.get(url(page, org)).status_code == 404
    assert other_admin_client.get(url(page, org)).status_code == 404


def test_the_sidebar_shows_the_admin_pages_to_admins_only(
    admin_client_: Client, moderator_client: Client, org
) -> None:
    staff_link = url("staff", org)
    assert staff_link in admin_client_.get(url("audit", org)).content.decode()
    assert staff_link not in moderator_client.get(url("audit", org)).content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client: Client, org) -> None:
    for page in ("staff", "tokens", "settings"):
        assert client.get(url(page, org)).status_code == 302


# --- Staff --------------------------------------------------------------------------------


def test_it_lists_the_staff_with_their_roles(
    admin_client_: Client, org, owner, moderator, outsider
) -> None:
    body = admin_client_.get(url("staff", org)).content.decode()
    assert "owner@acme.test" in body and "mod@acme.test" in body and "orgadmin@acme.test" in body
    assert "mod@globex.test" not in body


def test_the_staff_list_costs_the_same_queries_for_1_and_30_people(
    owner_client: Client, org, owner
) -> None:
    with CaptureQueriesContext(connection) as one:
        owner_client.get(url("staff", org))
    for i in range(29):
        StaffRoleFactory(organization=org, account__email=f"p{i}@acme.test")
    with CaptureQueriesContext(connection) as thirty:
        owner_client.get(url("staff", org))
    # 5: session, account, the organizations (the switcher's list, which holds this
    # one), role, the page of staff joined with their accounts.
    assert len(one) == len(thirty) == 5


def test_it_adds_a_new_account_without_a_password_and_says_how_to_set_one(
    admin_client_: Client, org_admin, org
) -> None:
    response = admin_client_.post(
        url("staff_add", org), {"email": "New.Person@Acme.test", "role": "moderator"}, follow=True
    )
    account = Account.objects.get(email="new.person@acme.test")
    assert not account.has_usable_password()
    assert staff_of(org, account).role == "moderator"
    messages = " ".join(flash(response))
    assert "new.person@acme.test is now moderator of Acme." in messages
    assert "manage.py changepassword new.person@acme.test" in messages
    entry = AuditEntry.objects.get(organization=org, action="staff.add")
    assert entry.actor_account == org_admin and entry.target_id == "new.person@acme.test"
    assert entry.after == {"role": "moderator", "accountCreated": True}


def test_it_adds_an_existing_account_keeping_its_password(
    owner_client: Client, org, outsider
) -> None:
    response = owner_client.post(
        url("staff_add", org), {"email": "mod@globex.test", "role": "admin"}, follow=True
    )
    assert staff_of(org, outsider).role == "admin"
    assert outsider.has_usable_password()
    assert not any("changepassword" in m for m in flash(response))


def test_adding_someone_twice_is_an_error(owner_client: Client, org, moderator) -> None:
    response = owner_client.post(url("staff_add", org), {"email": "mod@acme.test", "role": "admin"})
    assert response.status_code == 400
    assert "already moderator of Acme" in response.content.decode()
    assert staff_of(org, moderator).role == "moderator"


def test_a_bad_email_adds_nobody(owner_client: Client, org) -> None:
    count = Account.objects.count()
    response = owner_client.post(url("staff_add", org), {"email": "not-an-email", "role": "admin"})
    assert response.status_code == 400
    assert Account.objects.count() == count
    assert not AuditEntry.objects.filter(action="staff.add").exists()


def test_an_admin_cannot_add_an_owner(admin_client_: Client, org) -> None:
    response = admin_client_.post(
        url("staff_add", org), {"email": "boss@acme.test", "role": "owner"}
    )
    assert response.status_code == 400
    assert not Account.objects.filter(email="boss@acme.test").exists()


def test_an_owner_can_add_an_owner(owner_client: Client, org) -> None:
    owner_client.post(url("staff_add", org), {"email": "boss@acme.test", "role": "owner"})
    assert staff_of(org, Account.objects.get(email="boss@acme.test")).role == "owner"


def test_an_admin_changes_a_moderators_role(
    admin_client_: Client, org, moderator, org_admin
) -> None:
    staff = staff_of(org, moderator)
    response = admin_client_.post(url("staff_role", org, staff.pk), {"role": "admin"}, follow=True)
    assert staff_of(org, moderator).role == "admin"
    assert "mod@acme.test is now admin." in flash(response)
    entry = AuditEntry.objects.get(action="staff.role")
    assert (entry.before, entry.after, entry.actor_account) == (
        {"role": "moderator"},
        {"role": "admin"},
        org_admin,
    )


def test_an_admin_cannot_make_anyone_an_owner(admin_client_: Client, org, moderator) -> None:
    staff = staff_of(org, moderator)
    response = admin_client_.post(url("staff_role", org, staff.pk), {"role": "owner"}, follow=True)
    assert staff_of(org, moderator).role == "moderator"
    assert "Only owners may grant or remove the owner role." in flash(response)
    assert not AuditEntry.objects.filter(action="staff.role").exists()


def test_an_admin_cannot_demote_or_remove_an_owner(admin_client_: Client, org, owner) -> None:
    StaffRoleFactory(organization=org, role="owner", account__email="second@acme.test")
    staff = staff_of(org, owner)
    admin_client_.post(url("staff_role", org, staff.pk), {"role": "moderator"})
    admin_client_.post(url("staff_remove", org, staff.pk))
    assert staff_of(org, owner).role == "owner"


def test_an_owner_demotes_another_owner(owner_client: Client, org) -> None:
    second = StaffRoleFactory(organization=org, role="owner", account__email="second@acme.test")
    owner_client.post(url("staff_role", org, second.pk), {"role": "admin"})
    second.refresh_from_db()
    assert second.role == "admin"


def test_the_last_owner_cannot_be_demoted(owner_client: Client, org, owner) -> None:
    staff = staff_of(org, owner)
    response = owner_client.post(url("staff_role", org, staff.pk), {"role": "admin"}, follow=True)
    assert staff_of(org, owner).role == "owner"
    assert any("last owner" in m for m in flash(response))


def test_the_last_owner_cannot_be_removed(
    owner_client: Client, superuser_client, org, owner
) -> None:
    staff = staff_of(org, owner)
    response = owner_client.post(url("staff_remove", org, staff.pk), follow=True)
    assert any("last owner" in m for m in flash(response))
    superuser_client.post(url("staff_remove", org, staff.pk))  # not even by a superuser
    assert staff_of(org, owner).role == "owner"
    assert not AuditEntry.objects.filter(action="staff.remove").exists()


def test_an_owner_may_leave_when_another_owner_remains(owner_client: Client, org, owner) -> None:
    StaffRoleFactory(organization=org, role="owner", account__email="second@acme.test")
    response = owner_client.post(url("staff_remove", org, staff_of(org, owner).pk))
    assert response.status_code == 302 and response["Location"] == reverse("console:home")
    assert not StaffRole.objects.filter(organization=org, account=owner).exists()


def test_an_admin_removes_a_moderator(admin_client_: Client, org, moderator, org_admin) -> None:
    staff = staff_of(org, moderator)
    response = admin_client_.post(url("staff_remove", org, staff.pk), follow=True)
    assert not StaffRole.objects.filter(pk=staff.pk).exists()
    assert Account.objects.filter(pk=moderator.pk).exists()  # the account stays
    assert "mod@acme.test was removed from the staff of Acme." in flash(response)
    entry = AuditEntry.objects.get(action="staff.remove")
    assert entry.before == {"role": "moderator"} and entry.actor_account == org_admin


def test_a_bad_role_changes_nothing(owner_client: Client, org, moderator) -> None:
    staff = staff_of(org, moderator)
    response = owner_client.post(url("staff_role", org, staff.pk), {"role": "emperor"}, follow=True)
    assert staff_of(org, moderator).role == "moderator"
    assert any("Choose one of the roles" in m for m in flash(response))


def test_another_organizations_staff_id_is_a_404(
    other_admin_client: Client, owner_client: Client, org, other_org, moderator, outsider
) -> None:
    acme_staff = staff_of(org, moderator)
    # globex's owner, on globex's pages, with acme's id
    assert (
        other_admin_client.post(
            url("staff_role", other_org, acme_staff.pk), {"role": "admin"}
        ).status_code
        == 404
    )
    assert other_admin_client.post(url("staff_remove", other_org, acme_staff.pk)).status_code == 404
    # and on acme's pages
    assert (
        other_admin_client.post(
            url("staff_role", org, acme_staff.pk), {"role": "admin"}
        ).status_code
        == 404
    )
    assert (
        other_admin_client.post(
            url("staff_add", org), {"email": "x@y.test", "role": "owner"}
        ).status_code
        == 404
    )
    # acme's owner with globex's staff id
    globex_staff = staff_of(other_org, outsider)
    assert owner_client.post(url("staff_remove", org, globex_staff.pk)).status_code == 404
    assert staff_of(org, moderator).role == "moderator"
    assert staff_of(other_org, outsider).role == "moderator"
    assert not Account.objects.filter(email="x@y.test").exists()


# --- Access tokens ------------------------------------------------------------------------


def test_it_lists_the_tokens_with_issuer_and_last_use(
    owner_client: Client, org, owner, other_org
) -> None:
    issue(org, owner, "CRM sync")
    issue(other_org, AccountFactory(email="x@globex.test"), "Globex secret sync")
    body = owner_client.get(url("tokens", org)).content.decode()
    assert "CRM sync" in body and "owner@acme.test" in body and "never" in body
    assert "Globex secret sync" not in body


def test_the_token_list_costs_the_same_queries_for_1_and_30_tokens(
    owner_client: Client, org, owner
) -> None:
    issue(org, owner)
    with CaptureQueriesContext(connection) as one:
        owner_client.get(url("tokens", org))
    for i in range(29):
        issue(org, AccountFactory(email=f"t{i}@acme.test"), f"t{i}")
    with CaptureQueriesContext(connection) as thirty:
        owner_client.get(url("tokens", org))
    # 5: session, account, the organizations (the switcher's list, which holds this
    # one), role, the page of tokens joined with their issuers.
    assert len(one) == len(thirty) == 5


def test_it_issues_a_token_shown_once_and_stores_only_its_hash(
    admin_client_: Client, org, org_admin
) -> None:
    response = admin_client_.post(url("token_issue", org), {"name": "CRM sync"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = response.context["raw"]
    body = response.content.decode()
    assert raw in body and "shown only this once" in body
    token = AccessToken.objects.get(organization=org, name="CRM sync")
    assert token.kind == "admin" and token.account == org_admin
    assert token.token_hash == hash_token(raw)
    stored = [str(value) for value in AccessToken.objects.filter(pk=token.pk).values_list().get()]
    assert raw not in stored
    assert token_authenticate(raw=raw, kind="admin") == token
    entry = AuditEntry.objects.get(action="token.issue")
    assert entry.target_id == str(token.pk) and entry.actor_account == org_admin
    assert raw not in str(entry.after)
    # the list never shows it again
    assert raw not in admin_client_.get(url("tokens", org)).content.decode()


def test_a_token_needs_a_name(owner_client: Client, org) -> None:
    count = AccessToken.objects.count()
    response = owner_client.post(url("token_issue", org), {"name": "  "})
    assert response.status_code == 400
    assert AccessToken.objects.count() == count
    response = owner_client.post(url("token_issue", org), {"name": "x" * 101})
    assert response.status_code == 400
    assert AccessToken.objects.count() == count


def test_it_revokes_a_token(owner_client: Client, org, owner) -> None:
    token = issue(org, owner)
    body = owner_client.get(url("tokens", org)).content.decode()
    assert "data-confirm=" in body
    response = owner_client.post(url("token_revoke", org, token.pk), follow=True)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert any("Revoked the token “CRM sync”" in m for m in flash(response))
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.actor_account == owner and entry.target_id == str(token.pk)
    # revoked tokens are listed under "revoked"
    assert "CRM sync" in owner_client.get(url("tokens", org), {"state": "revoked"}).content.decode()
    # revoking again changes nothing and records nothing more
    owner_client.post(url("token_revoke", org, token.pk))
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


def test_another_organizations_token_id_is_a_404(
    other_admin_client: Client, org, other_org, owner
) -> None:
    token = issue(org, owner)
    assert other_admin_client.post(url("token_revoke", other_org, token.pk)).status_code == 404
    assert other_admin_client.post(url("token_revoke", org, token.pk)).status_code == 404
    assert other_admin_client.post(url("token_issue", org), {"name": "sneaky"}).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AccessToken.objects.filter(name="sneaky").exists()


# --- API-TOKENs (the chatroom service's organization tokens) -------------------------------


def issue_api(org: Organization, account: Account, name: str = "Intranet") -> AccessToken:
    actor = Actor(account=account)
    return organization_token_issue(organization=org, actor=actor, name=name, kind="api").token


def test_the_api_token_section_renders_for_admins_only(
    admin_client_: Client, moderator_client: Client, outsider_client: Client, org
) -> None:
    response = admin_client_.get(url("tokens", org), {"kind": "api"})
    assert response.status_code == 200
    assert "API-TOKENs (chatroom service)" in response.content.decode()
    assert response.context["kind"] == "api"
    assert moderator_client.get(url("tokens", org), {"kind": "api"}).status_code == 403
    assert outsider_client.get(url("tokens", org), {"kind": "api"}).status_code == 404


def test_an_unknown_kind_shows_the_admin_tokens(owner_client: Client, org, owner) -> None:
    issue(org, owner, "CRM sync")
    issue_api(org, owner, "Intranet")
    response = owner_client.get(url("tokens", org), {"kind": "personal"})
    body = response.content.decode()
    assert response.context["kind"] == "admin"
    assert "CRM sync" in body and "Intranet" not in body


def test_each_kind_lists_only_its_own_tokens(owner_client: Client, org, owner, other_org) -> None:
    issue(org, owner, "Billing export")
    issue_api(org, owner, "Intranet")
    issue_api(other_org, AccountFactory(email="x@globex.test"), "Globex intranet")
    api_body = owner_client.get(url("tokens", org), {"kind": "api"}).content.decode()
    assert "Intranet" in api_body and "owner@acme.test" in api_body and "never" in api_body
    assert "Billing export" not in api_body and "Globex intranet" not in api_body
    admin_body = owner_client.get(url("tokens", org)).content.decode()
    assert "Billing export" in admin_body and "Intranet" not in admin_body


def test_the_api_token_list_costs_the_same_queries_for_1_and_30_tokens(
    owner_client: Client, org, owner
) -> None:
    issue_api(org, owner)
    with CaptureQueriesContext(connection) as one:
        owner_client.get(url("tokens", org), {"kind": "api"})
    for i in range(29):
        issue_api(org, AccountFactory(email=f"t{i}@acme.test"), f"t{i}")
    with CaptureQueriesContext(connection) as thirty:
        owner_client.get(url("tokens", org), {"kind": "api"})
    # 5: as for the admin tokens (one page of tokens joined with their issuers).
    assert len(one) == len(thirty) == 5


def test_it_issues_an_api_token_shown_once_and_stores_only_its_hash(
    admin_client_: Client, org, org_admin
) -> None:
    response = admin_client_.post(url("token_issue", org), {"name": "Intranet", "kind": "api"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    raw = response.context["raw"]
    body = response.content.decode()
    assert raw in body and "shown only this once" in body and "API-TOKEN:" in body
    token = AccessToken.objects.get(organization=org, name="Intranet")
    assert (token.kind, token.account) == ("api", org_admin)
    assert token.token_hash == hash_token(raw)
    stored = [str(value) for value in AccessToken.objects.filter(pk=token.pk).values_list().get()]
    assert raw not in stored
    assert token_authenticate(raw=raw, kind="api") == token
    assert token_authenticate(raw=raw, kind="admin") is None
    entry = AuditEntry.objects.get(action="token.issue")
    assert entry.target_id == str(token.pk) and entry.actor_account == org_admin
    assert entry.after["kind"] == "api" and raw not in str(entry.after)
    assert raw not in admin_client_.get(url("tokens", org), {"kind": "api"}).content.decode()


@pytest.mark.parametrize(
    "data", [{"name": "  ", "kind": "api"}, {"name": "x" * 101, "kind": "api"}, {"kind": "api"}]
)
def test_an_api_token_needs_a_short_name(owner_client: Client, org, data) -> None:
    response = owner_client.post(url("token_issue", org), data)
    assert response.status_code == 400
    assert response.context["kind"] == "api"
    assert not AccessToken.objects.exists()


def test_a_personal_or_unknown_kind_is_not_issued_here(owner_client: Client, org) -> None:
    for kind in ("personal", "root"):
        response = owner_client.post(url("token_issue", org), {"name": "x", "kind": kind})
        assert response.status_code == 400, kind
    assert not AccessToken.objects.exists()


def test_it_revokes_an_api_token_and_returns_to_the_api_tokens(
    owner_client: Client, org, owner
) -> None:
    token = issue_api(org, owner)
    response = owner_client.post(url("token_revoke", org, token.pk))
    assert response.status_code == 302 and response["Location"].endswith("?kind=api")
    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.actor_account == owner and entry.before["kind"] == "api"
    revoked = owner_client.get(url("tokens", org), {"kind": "api", "state": "revoked"})
    assert "Intranet" in revoked.content.decode()


def test_a_moderator_or_outsider_cannot_issue_or_revoke_api_tokens(
    moderator_client: Client, other_admin_client: Client, org, owner
) -> None:
    token = issue_api(org, owner)
    for client, status in ((moderator_client, 403), (other_admin_client, 404)):
        assert client.post(url("token_issue", org), {"name": "n", "kind": "api"}).status_code == (
            status
        )
        assert client.post(url("token_revoke", org, token.pk)).status_code == status
    token.refresh_from_db()
    assert token.revoked_at is None
    assert AccessToken.objects.count() == 1


def test_a_personal_token_id_is_a_404_on_the_organization_page(
    owner_client: Client, org, owner
) -> None:
    from apps.organizations.services import personal_token_issue

    token = personal_token_issue(account=owner, name="mine").token
    assert owner_client.post(url("token_revoke", org, token.pk)).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


# --- Settings -----------------------------------------------------------------------------


def test_it_shows_the_current_settings(admin_client_: Client, org) -> None:
    org.auto_hide_threshold = 3
    org.save(update_fields=["auto_hide_threshold"])
    response = admin_client_.get(url("settings", org))
    assert response.context["form"].initial == {
        "filter_policy": "block",
        "auto_hide_threshold": 3,
        "chatroom_deletion_grace_seconds": 0,
        "event_chatroom_retention_days": 30,
    }


def test_it_saves_the_policy_and_threshold(admin_client_: Client, org, org_admin) -> None:
    response = admin_client_.post(
        url("settings", org), {"filter_policy": "mask", "auto_hide_threshold": "5"}, follow=True
    )
    org.refresh_from_db()
    assert (org.filter_policy, org.auto_hide_threshold) == ("mask", 5)
    assert "Saved the settings of Acme." in flash(response)
    entry = AuditEntry.objects.get(action="organization.settings")
    assert entry.after == {"filterPolicy": "mask", "autoHideThreshold": 5}
    assert entry.actor_account == org_admin


def test_an_empty_threshold_turns_auto_hide_off(owner_client: Client, org) -> None:
    org.auto_hide_threshold = 3
    org.save(update_fields=["auto_hide_threshold"])
    owner_client.post(url("settings", org), {"filter_policy": "flag", "auto_hide_threshold": ""})
    org.refresh_from_db()
    assert (org.filter_policy, org.auto_hide_threshold) == ("flag", None)


@pytest.mark.parametrize(
    "data",
    [
        {"filter_policy": "shout", "auto_hide_threshold": ""},
        {"filter_policy": "mask", "auto_hide_threshold": "0"},
        {"filter_policy": "mask", "auto_hide_threshold": "10001"},
        {"filter_policy": "mask", "auto_hide_threshold": "many"},
        {},
    ],
)
def test_bad_settings_change_nothing(owner_client: Client, org, data) -> None:
    response = owner_client.post(url("settings", org), data)
    assert response.status_code == 400
    org.refresh_from_db()
    assert (org.filter_policy, org.auto_hide_threshold) == ("block", None)
    assert not AuditEntry.objects.filter(action="organization.settings").exists()


def test_another_organizations_settings_are_a_404(other_admin_client: Client, org) -> None:
    response = other_admin_client.post(url("settings", org), {"filter_policy": "mask"})
    assert response.status_code == 404
    org.refresh_from_db()
    assert org.filter_policy == "block"


def test_it_saves_the_chatroom_settings(owner_client: Client, org, owner) -> None:
    body = owner_client.get(url("settings", org)).content.decode()
    assert 'for="id_chatroom_deletion_grace_seconds"' in body
    assert 'for="id_event_chatroom_retention_days"' in body
    response = owner_client.post(
        url("settings", org),
        {
            "filter_policy": "block",
            "auto_hide_threshold": "",
            "chatroom_deletion_grace_seconds": "3600",
            "event_chatroom_retention_days": "7",
        },
        follow=True,
    )
    assert "Saved the settings of Acme." in flash(response)
    org.refresh_from_db()
    assert (org.chatroom_deletion_grace_seconds, org.event_chatroom_retention_days) == (3600, 7)
    entry = AuditEntry.objects.get(action="organization.settings")
    assert entry.actor_account == owner
    assert entry.before["chatroomDeletionGraceSeconds"] == 0
    assert entry.after["chatroomDeletionGraceSeconds"] == 3600
    assert entry.after["eventChatroomRetentionDays"] == 7


def test_empty_chatroom_settings_stay_unchanged(owner_client: Client, org) -> None:
    org.event_chatroom_retention_days = 12
    org.save(update_fields=["event_chatroom_retention_days"])
    owner_client.post(
        url("settings", org),
        {
            "filter_policy": "mask",
            "chatroom_deletion_grace_seconds": "",
            "event_chatroom_retention_days": "",
        },
    )
    org.refresh_from_db()
    assert org.filter_policy == "mask"
    assert (org.chatroom_deletion_grace_seconds, org.event_chatroom_retention_days) == (0, 12)


@pytest.mark.parametrize(
    "data",
    [
        {"chatroom_deletion_grace_seconds": "-1"},
        {"chatroom_deletion_grace_seconds": str(30 * 24 * 3600 + 1)},
        {"chatroom_deletion_grace_seconds": "an hour"},
        {"event_chatroom_retention_days": "-1"},
        {"event_chatroom_retention_days": "3651"},
        {"event_chatroom_retention_days": "1.5"},
    ],
)
def test_bad_chatroom_settings_change_nothing(owner_client: Client, org, data) -> None:
    response = owner_client.post(url("settings", org), {"filter_policy": "mask", **data})
    assert response.status_code == 400
    assert response.context["form"].errors.get(next(iter(data)))
    org.refresh_from_db()
    assert (org.filter_policy, org.chatroom_deletion_grace_seconds) == ("block", 0)
    assert org.event_chatroom_retention_days == 30
    assert not AuditEntry.objects.filter(action="organization.settings").exists()


def test_a_moderator_or_outsider_cannot_change_the_chatroom_settings(
    moderator_client: Client, other_admin_client: Client, org
) -> None:
    data = {"filter_policy": "block", "event_chatroom_retention_days": "1"}
    assert moderator_client.post(url("settings", org), data).status_code == 403
    assert other_admin_client.post(url("settings", org), data).status_code == 404
    org.refresh_from_db()
    assert org.event_chatroom_retention_days == 30
