"""Throttling of logins (django-axes, console and /admin/) and of the console's
token-issuing endpoints: per account and per address, 429 with an integer Retry-After,
and X-Forwarded-For (written by the client) changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Account
from apps.core.throttling import client_ip
from apps.organizations.models import AccessToken, Organization, StaffRole
from tests.factories import AccountFactory, StaffRoleFactory

PASSWORD = "correct horse battery staple"
LOGIN_URLS = ["/console/login/", "/admin/login/"]


def login(url: str, email: str, password: str, address: str, forwarded: str = "") -> int:
    client = Client(REMOTE_ADDR=address)
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return client.post(url, {"username": email, "password": password}, **extra).status_code


def fail_until_locked(url: str, email: str, address: str) -> None:
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        # A new "client address" on every attempt, as an attacker would claim.
        login(url, email, "wrong", address, forwarded=f"203.0.113.{attempt + 1}")


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_rotating_x_forwarded_for_does_not_escape_the_login_lockout(db: None, url: str) -> None:
    account = AccountFactory(email="victim@acme.test", is_staff=True)
    fail_until_locked(url, account.email, "198.51.100.7")
    client = Client(REMOTE_ADDR="198.51.100.7")
    response = client.post(
        url,
        {"username": account.email, "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )
    assert response.status_code == 429
    assert response["Retry-After"].isdigit() and int(response["Retry-After"]) > 0


@pytest.mark.parametrize("url", LOGIN_URLS)
def test_the_login_lockout_is_per_account_and_address(db: None, url: str) -> None:
    victim = AccountFactory(email="victim@acme.test", is_staff=True)
    other = AccountFactory(email="other@acme.test", is_staff=True)
    fail_until_locked(url, victim.email, "198.51.100.7")
    assert login(url, victim.email, PASSWORD, "198.51.100.7") == 429
    # the same account from another address, another account from the same address
    assert login(url, victim.email, PASSWORD, "198.51.100.8") in (200, 302)
    assert login(url, other.email, PASSWORD, "198.51.100.7") in (200, 302)


def test_a_proxy_header_counts_only_when_named_in_the_settings(db: None, settings) -> None:
    factory = RequestFactory()
    forged = factory.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(forged) == "10.0.0.1"
    settings.CHATADMIN_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    proxied = factory.get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="198.51.100.3", HTTP_X_FORWARDED_FOR="1.2.3.4"
    )
    assert client_ip(proxied) == "198.51.100.3"
    assert client_ip(forged) == "10.0.0.1"  # the named header is absent: REMOTE_ADDR


# --- Token issuing ------------------------------------------------------------------------


@pytest.fixture
def small_limits(settings) -> None:
    settings.CHATADMIN = {
        **settings.CHATADMIN,
        "TOKEN_ISSUE_PER_ACCOUNT_HOUR": 3,
        "TOKEN_ISSUE_PER_ADDRESS_HOUR": 5,
    }


def owner_of(org: Organization, email: str) -> Account:
    return StaffRoleFactory(
        organization=org, role=StaffRole.Role.OWNER, account__email=email
    ).account


def client_of(account: Account, address: str = "198.51.100.7") -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(account)
    return client


ISSUE_KINDS = ["admin", "api", "personal"]


def issue(client: Client, org: Organization, kind: str, forwarded: str = "") -> object:
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    if kind == "personal":
        return client.post(reverse("console:personal_token_issue"), {"name": "t"}, **extra)
    url = reverse("console:token_issue", args=[org.slug])
    return client.post(url, {"name": "t", "kind": kind}, **extra)


@pytest.mark.parametrize("kind", ISSUE_KINDS)
def test_token_issuing_is_limited_per_account_with_retry_after(
    org: Organization, small_limits: None, kind: str
) -> None:
    owner = owner_of(org, "owner@acme.test")
    for n in range(3):
        # a new address and a new X-Forwarded-For each time: the account still counts
        response = issue(client_of(owner, f"198.51.100.{n + 1}"), org, kind, f"192.0.2.{n}")
        assert response.status_code == 200
    response = issue(client_of(owner, "198.51.100.50"), org, kind)
    assert response.status_code == 429
    retry_after = response["Retry-After"]
    assert retry_after.isdigit() and 0 < int(retry_after) <= 3600
    assert AccessToken.objects.filter(account=owner).count() == 3


def test_revoking_does_not_give_the_account_more_tokens(
    org: Organization, small_limits: None
) -> None:
    owner = owner_of(org, "owner@acme.test")
    client = client_of(owner)
    for _ in range(3):
        assert issue(client, org, "admin").status_code == 200
    AccessToken.objects.update(revoked_at=timezone.now())
    assert issue(client, org, "admin").status_code == 429


def test_the_account_limit_is_a_sliding_hour(org: Organization, small_limits: None) -> None:
    owner = owner_of(org, "owner@acme.test")
    client = client_of(owner)
    for _ in range(3):
        assert issue(client, org, "personal").status_code == 200
    AccessToken.objects.update(created_at=timezone.now() - timedelta(minutes=61))
    assert issue(client, org, "personal").status_code == 200


@pytest.mark.parametrize("kind", ISSUE_KINDS)
def test_token_issuing_is_limited_per_address_whatever_x_forwarded_for_says(
    org: Organization, small_limits: None, kind: str
) -> None:
    # Five owners on one address (one proxy-less attacker with five accounts).
    for n in range(5):
        owner = owner_of(org, f"owner{n}@acme.test")
        response = issue(client_of(owner), org, kind, forwarded=f"192.0.2.{n}")
        assert response.status_code == 200
    sixth = owner_of(org, "owner5@acme.test")
    response = issue(client_of(sixth), org, kind, forwarded="192.0.2.200")
    assert response.status_code == 429
    assert response["Retry-After"].isdigit() and 0 < int(response["Retry-After"]) <= 3600
    assert not AccessToken.objects.filter(account=sixth).exists()
    # another address is not affected
    assert issue(client_of(sixth, "198.51.100.99"), org, kind).status_code == 200
