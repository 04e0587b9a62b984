"""The console's settings page: the organization's search language."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from apps.audit.models import AuditEntry
from apps.organizations.models import Organization

pytestmark = pytest.mark.django_db


def settings_url(org: Organization) -> str:
    return reverse("console:settings", args=[org.slug])


def test_it_shows_the_current_language(owner_client: Client, org: Organization) -> None:
    org.search_language = "french"
    org.save(update_fields=["search_language"])
    response = owner_client.get(settings_url(org))
    body = response.content.decode()
    assert 'for="id_search_language"' in body
    assert '<option value="french" selected>' in body


def test_it_saves_the_language(owner_client: Client, org: Organization) -> None:
    response = owner_client.post(
        settings_url(org), {"filter_policy": "block", "search_language": "english"}, follow=True
    )
    assert response.status_code == 200
    org.refresh_from_db()
    assert org.search_language == "english"
    assert AuditEntry.objects.get(action="organization.settings").after["searchLanguage"] == (
        "english"
    )


def test_an_empty_choice_keeps_the_language(owner_client: Client, org: Organization) -> None:
    org.search_language = "german"
    org.save(update_fields=["search_language"])
    owner_client.post(settings_url(org), {"filter_policy": "mask", "search_language": ""})
    org.refresh_from_db()
    assert (org.filter_policy, org.search_language) == ("mask", "german")


def test_an_unknown_language_changes_nothing(owner_client: Client, org: Organization) -> None:
    response = owner_client.post(
        settings_url(org), {"filter_policy": "mask", "search_language": "klingon"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors.get("search_language")
    org.refresh_from_db()
    assert (org.filter_policy, org.search_language) == ("block", "simple")


def test_a_moderator_cannot_change_it(moderator_client: Client, org: Organization) -> None:
    data = {"filter_policy": "block", "search_language": "english"}
    assert moderator_client.post(settings_url(org), data).status_code == 403
    org.refresh_from_db()
    assert org.search_language == "simple"
