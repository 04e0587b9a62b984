"""Access tokens: hashed at rest, long enough, revocable at once (DESIGN.md invariant 5)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.organizations.models import AccessToken, Organization
from apps.organizations.selectors import token_authenticate
from apps.organizations.services import TOKEN_PREFIXES, token_issue, token_revoke
from tests.conftest import TokenClient
from tests.factories import AccountFactory

pytestmark = pytest.mark.urls("tests.core.urls")
ECHO = "/api/test/echo"


def issue(org: Organization, kind: str = AccessToken.Kind.ADMIN) -> tuple[AccessToken, str]:
    issued = token_issue(kind=kind, account=AccountFactory(), organization=org)
    return issued.token, issued.raw


def test_only_the_sha256_of_the_token_is_stored(org: Organization) -> None:
    token, raw = issue(org)
    token.refresh_from_db()
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw.startswith(token.prefix) and len(token.prefix) == 12
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {AccessToken._meta.db_table}")
        rows = cursor.fetchall()
    assert rows and not any(raw in str(value) for row in rows for value in row)


def test_a_token_carries_at_least_128_random_bits(org: Organization) -> None:
    raws = [issue(org)[1] for _ in range(50)]
    prefix = TOKEN_PREFIXES[AccessToken.Kind.ADMIN]
    for raw in raws:
        secret = raw.removeprefix(prefix)
        assert len(secret) * 6 >= 128  # url-safe base64: 6 bits per character
    assert len(set(raws)) == len(raws)


@pytest.mark.parametrize("kind", list(AccessToken.Kind))
def test_each_kind_has_its_own_recognisable_prefix(org: Organization, kind: str) -> None:
    _, raw = issue(org, kind)
    assert raw.startswith(TOKEN_PREFIXES[kind])


def test_authentication_needs_the_right_kind(org: Organization) -> None:
    _, raw = issue(org, AccessToken.Kind.API)
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN) is None
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.API) is not None


def test_authentication_refuses_empty_and_oversized_input(org: Organization) -> None:
    assert token_authenticate(raw="", kind=AccessToken.Kind.ADMIN) is None
    assert token_authenticate(raw="x" * 201, kind=AccessToken.Kind.ADMIN) is None


def test_revocation_takes_effect_on_the_next_request(org: Organization) -> None:
    token, raw = issue(org)
    client = TokenClient(raw, org)
    assert client.get(ECHO).status_code == 200
    token_revoke(token=token)
    assert client.get(ECHO).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_revoking_twice_keeps_the_first_time(org: Organization) -> None:
    token, _ = issue(org)
    first = token_revoke(token=token).revoked_at
    assert token_revoke(token=token).revoked_at == first


def test_last_used_at_is_recorded(org: Organization) -> None:
    token, raw = issue(org)
    assert token.last_used_at is None
    assert TokenClient(raw, org).get(ECHO).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


def test_last_used_at_is_written_at_most_once_a_minute(
    org: Organization, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    token, raw = issue(org)
    token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN)
    # The second use within a minute: one SELECT (token + organization + account), no UPDATE.
    with django_assert_num_queries(1):
        token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN)
    stale = timezone.now() - timedelta(minutes=5)
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN)
    token.refresh_from_db()
    assert token.last_used_at > stale


def test_a_token_acts_only_for_its_own_organization(
    org: Organization, other_org: Organization
) -> None:
    _, raw = issue(other_org)
    response = TokenClient(raw, other_org).get(ECHO)
    assert response.json()["organization"] == "globex"
