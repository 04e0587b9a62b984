"""Logging in, choosing an organization, and who may open which organization."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from apps.organizations.models import Organization

from ..factories import AccountFactory


def test_it_redirects_anonymous_visitors_to_the_login_page(
    client: Client, org: Organization
) -> None:
    response = client.get(reverse("console:dashboard", args=[org.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_it_logs_in_with_email_and_password_and_lands_on_the_only_organization(
    client: Client, moderator, org: Organization
) -> None:
    response = client.post(
        reverse("console:login"),
        {"username": "mod@acme.test", "password": "correct horse battery staple"},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("console:dashboard", args=[org.slug])


def test_it_locks_an_account_out_after_repeated_failed_logins(client: Client, moderator) -> None:
    for _ in range(5):
        client.post(reverse("console:login"), {"username": "mod@acme.test", "password": "wrong"})
    response = client.post(
        reverse("console:login"),
        {"username": "mod@acme.test", "password": "correct horse battery staple"},
    )
    assert response.status_code == 429
    assert response["Retry-After"]


def test_a_moderator_of_another_organization_gets_404_not_403(
    outsider_client: Client, org: Organization
) -> None:
    response = outsider_client.get(reverse("console:dashboard", args=[org.slug]))
    assert response.status_code == 404
    unknown = outsider_client.get(reverse("console:dashboard", args=["no-such-org"]))
    assert unknown.status_code == 404


def test_an_account_without_any_role_sees_no_organization(
    client: Client, org: Organization
) -> None:
    client.force_login(AccountFactory(email="nobody@example.com"))
    response = client.get(reverse("console:home"))
    assert response.status_code == 200
    assert b"not on the staff" in response.content


def test_the_superuser_sees_every_organization(superuser_client: Client, org, other_org) -> None:
    response = superuser_client.get(reverse("console:home"))
    assert org.name.encode() in response.content and other_org.name.encode() in response.content


def test_logout_is_a_post_and_ends_the_session(moderator_client: Client, org: Organization) -> None:
    response = moderator_client.post(reverse("console:logout"))
    assert response.status_code == 302
    after = moderator_client.get(reverse("console:dashboard", args=[org.slug]))
    assert after.status_code == 302
