"""Logging in, choosing an organization, and who may open which organization."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from apps.console.access import safe_next
from apps.organizations.models import Organization

from ..factories import AccountFactory, ChannelFactory, MemberFactory, MessageFactory


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


# --- where a console form may send the browser back to (``next``) -------------------------

ESCAPES = [
    "/console/acme/../../admin/",
    "/console/acme/../globex/",
    "/console/acme/messages/../../../admin/",
    "/console/acme/%2e%2e/%2e%2e/admin/",
    "/console/acme/%2E%2E/globex/",
    "/console/acme/.%2e/globex/",
    "/console/acme/%252e%252e/%252e%252e/admin/",
    "/console/acme/..%2f..%2fadmin/",
    "/console/acme/..\\..\\admin/",
    "/console/acme/%5c..%5c..%5cadmin/",
    "/console/acme/.\t./.\t./admin/",
    "/console/acme/%2f%2f..%2f..%2f..%2f%2fevil.example/",
    "/console/acmeinc/",
    "https://evil.example/console/acme/",
    "//evil.example/console/acme/",
    "/\\evil.example/console/acme/",
    "/admin/",
    "",
]


@pytest.mark.parametrize("target", ESCAPES)
def test_next_cannot_leave_the_organization_s_pages_through_dot_segments(
    rf: RequestFactory, org: Organization, target: str
) -> None:
    request = rf.post("/console/acme/messages/delete/")
    fallback = reverse("console:messages", args=[org.slug])

    chosen = safe_next(request, org.slug, target, fallback)

    assert chosen == fallback


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (
            "/console/acme/messages/?q=off&channel=lobby",
            "/console/acme/messages/?q=off&channel=lobby",
        ),
        ("/console/acme/channels/caf%C3%A9/", "/console/acme/channels/caf%C3%A9/"),
        ("/console/acme/", "/console/acme/"),
        ("/console/acme", "/console/acme"),
        # resolved inside the prefix: sent to the resolved path (where the check looked)
        ("/console/acme/messages/../channels/", "/console/acme/channels/"),
        ("/console/acme/x/%2e%2e/messages/?q=1", "/console/acme/messages/?q=1"),
        ("/console/acme//messages/", "/console/acme/messages/"),
        # a browser reads "a%2fb" as one segment (so would land on /console/); the check
        # decodes %2f, so the answer is the path it checked, never the original
        ("/console/acme/a%2fb/../../", "/console/acme/"),
    ],
)
def test_next_inside_the_organization_s_pages_is_kept_or_resolved(
    rf: RequestFactory, org: Organization, target: str, expected: str
) -> None:
    request = rf.post("/console/acme/messages/delete/")

    assert safe_next(request, org.slug, target, "/fallback/") == expected


def test_deleting_a_message_never_follows_a_next_that_climbs_out_of_the_organization(
    moderator_client: Client, org: Organization
) -> None:
    author = MemberFactory(organization=org, user_id="ann")
    channel = ChannelFactory(organization=org, channel_id="lobby")
    fallback = reverse("console:messages", args=[org.slug])
    for bad in ("/console/acme/../../admin/", "/console/acme/%2e%2e/%2e%2e/admin/"):
        message = MessageFactory(channel=channel, author=author, data={"text": "x"})
        response = moderator_client.post(
            reverse("console:message_delete", args=[org.slug]),
            {"message_id": str(message.public_id), "reason": "spam", "next": bad},
        )
        assert response.status_code == 302
        assert response["Location"] == fallback
