"""The organization's report settings: ``organization_settings_update`` and the Django
admin form that calls it (filter policy, auto-hide threshold)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.organizations.models import Organization
from apps.organizations.services import organization_settings_update
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def test_the_defaults_are_block_and_no_auto_hide(org):
    assert (org.filter_policy, org.auto_hide_threshold) == ("block", None)


def test_it_updates_the_settings_and_audits_before_and_after(org, actor):
    organization_settings_update(
        organization=org, actor=actor, filter_policy="flag", auto_hide_threshold=3
    )
    org.refresh_from_db()
    assert (org.filter_policy, org.auto_hide_threshold) == ("flag", 3)
    entry = AuditEntry.objects.get(action="organization.settings")
    assert (entry.target_type, entry.target_id, entry.actor_account) == (
        "organization",
        "acme",
        actor.account,
    )
    assert entry.before == {"filterPolicy": "block", "autoHideThreshold": None}
    assert entry.after == {"filterPolicy": "flag", "autoHideThreshold": 3}


def test_leaving_an_argument_out_leaves_the_setting_unchanged(org, actor):
    organization_settings_update(organization=org, actor=actor, auto_hide_threshold=5)
    organization_settings_update(organization=org, actor=actor, filter_policy="mask")
    org.refresh_from_db()
    assert (org.filter_policy, org.auto_hide_threshold) == ("mask", 5)


def test_none_turns_auto_hide_off(org, actor):
    organization_settings_update(organization=org, actor=actor, auto_hide_threshold=5)
    organization_settings_update(organization=org, actor=actor, auto_hide_threshold=None)
    org.refresh_from_db()
    assert org.auto_hide_threshold is None


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"filter_policy": "shout"}, "filterPolicy"),
        ({"auto_hide_threshold": 0}, "autoHideThreshold"),
        ({"auto_hide_threshold": -1}, "autoHideThreshold"),
        ({"auto_hide_threshold": 10_001}, "autoHideThreshold"),
        ({"auto_hide_threshold": True}, "autoHideThreshold"),
        ({"auto_hide_threshold": "3"}, "autoHideThreshold"),
    ],
)
def test_it_refuses_bad_values_and_writes_nothing(org, actor, kwargs: dict[str, Any], field):
    with pytest.raises(DomainError) as caught:
        organization_settings_update(organization=org, actor=actor, **kwargs)
    assert (caught.value.code, caught.value.field) == ("invalid_parameter", field)
    org.refresh_from_db()
    assert (org.filter_policy, org.auto_hide_threshold) == ("block", None)
    assert not AuditEntry.objects.exists()


# --- the Django admin ------------------------------------------------------------------
@pytest.fixture
def superuser_client(db: None) -> Client:
    account = AccountFactory(email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(account)
    return client


def _change(client: Client, org: Organization, **settings: Any) -> Any:
    data = {
        "slug": org.slug,
        "name": org.name,
        "filter_policy": org.filter_policy,
        "auto_hide_threshold": org.auto_hide_threshold or "",
        # the StaffRole inline's management form
        "staff-TOTAL_FORMS": "0",
        "staff-INITIAL_FORMS": "0",
        "staff-MIN_NUM_FORMS": "0",
        "staff-MAX_NUM_FORMS": "1000",
        **settings,
    }
    url = reverse("admin:organizations_organization_change", args=[org.pk])
    return client.post(url, data)


def test_the_admin_change_form_shows_the_settings(superuser_client, org):
    Organization.objects.filter(pk=org.pk).update(filter_policy="mask", auto_hide_threshold=4)
    page = superuser_client.get(reverse("admin:organizations_organization_change", args=[org.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert (form.initial["filter_policy"], form.initial["auto_hide_threshold"]) == ("mask", 4)


def test_the_admin_saves_the_settings_through_the_audited_service(superuser_client, org):
    response = _change(superuser_client, org, filter_policy="flag", auto_hide_threshold="3")
    assert response.status_code == 302, response.context["adminform"].form.errors
    org.refresh_from_db()
    assert (org.filter_policy, org.auto_hide_threshold) == ("flag", 3)
    entry = AuditEntry.objects.get(action="organization.settings")
    assert entry.actor_label == "root@example.com"
    assert entry.after == {"filterPolicy": "flag", "autoHideThreshold": 3}


def test_the_admin_turns_auto_hide_off_with_an_empty_threshold(superuser_client, org):
    Organization.objects.filter(pk=org.pk).update(auto_hide_threshold=4)
    org.refresh_from_db()
    assert _change(superuser_client, org, auto_hide_threshold="").status_code == 302
    org.refresh_from_db()
    assert org.auto_hide_threshold is None


def test_the_admin_does_not_audit_settings_that_did_not_change_and_keeps_the_name(
    superuser_client, org
):
    # The name is read-only in the admin (no service renames an organization).
    assert _change(superuser_client, org, name="Acme Inc").status_code == 302
    org.refresh_from_db()
    assert org.name == "Acme"
    assert not AuditEntry.objects.filter(action="organization.settings").exists()


@pytest.mark.parametrize("threshold", ["0", "-2", "abc", "10001"])
def test_the_admin_refuses_a_bad_threshold(superuser_client, org, threshold):
    response = _change(superuser_client, org, auto_hide_threshold=threshold)
    assert response.status_code == 200  # the form again, with the error
    assert "auto_hide_threshold" in response.context["adminform"].form.errors
    org.refresh_from_db()
    assert org.auto_hide_threshold is None
    assert not AuditEntry.objects.exists()


def test_the_admin_cannot_create_an_organization(superuser_client, db):
    """manage.py create_organization is the way (organization_create refuses the slugs
    the console uses); the admin site is read-only but for audited actions."""
    data = {
        "slug": "initech",
        "name": "Initech",
        "filter_policy": "mask",
        "auto_hide_threshold": "2",
        "staff-TOTAL_FORMS": "0",
        "staff-INITIAL_FORMS": "0",
        "staff-MIN_NUM_FORMS": "0",
        "staff-MAX_NUM_FORMS": "1000",
    }
    response = superuser_client.post(reverse("admin:organizations_organization_add"), data)
    assert response.status_code == 403
    assert not Organization.objects.filter(slug="initech").exists()
    assert not AuditEntry.objects.exists()
