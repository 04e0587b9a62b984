"""Access tokens: hashed at rest, long enough, revocable at once (DESIGN.md invariant 5)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.core.errors import DomainError
from apps.organizations.models import AccessToken, Organization
from apps.organizations.selectors import token_authenticate
from apps.organizations.services import (
    TOKEN_PREFIXES,
    access_token_revoke,
    organization_token_issue,
)
from tests.factories import AccountFactory
from tests.personas import TokenClient, issue_token, revoke_token

pytestmark = pytest.mark.urls("tests.core.urls")
ECHO = "/api/test/echo"


def issue(org: Organization, kind: str = AccessToken.Kind.ADMIN) -> tuple[AccessToken, str]:
    issued = issue_token(kind=kind, account=AccountFactory(), organization=org)
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
    revoke_token(token=token)
    assert client.get(ECHO).status_code == 401
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_revoking_twice_keeps_the_first_time(org: Organization) -> None:
    token, _ = issue(org)
    first = revoke_token(token=token).revoked_at
    assert revoke_token(token=token).revoked_at == first


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


# --- issuing and revoking through the audited services (the console, the commands) ------------


def test_the_system_issues_a_token_held_by_the_account_it_names(org: Organization) -> None:
    holder = AccountFactory(email="ops@acme.test")
    issued = organization_token_issue(
        organization=org, actor=Actor.system(), account=holder, kind="api", name="crm"
    )
    assert (issued.token.account, issued.token.organization, issued.token.kind) == (
        holder,
        org,
        "api",
    )
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor_label, entry.target_id) == (
        "token.issue",
        "system",
        str(issued.token.pk),
    )


def test_a_console_account_issues_tokens_for_itself_only(org: Organization) -> None:
    me, someone = AccountFactory(), AccountFactory()
    issued = organization_token_issue(
        organization=org, actor=Actor(account=me), account=me, name="mine"
    )
    assert issued.token.account == me
    with pytest.raises(DomainError) as caught:
        organization_token_issue(
            organization=org, actor=Actor(account=me), account=someone, name="theirs"
        )
    assert caught.value.code == "forbidden"
    assert not AccessToken.objects.filter(account=someone).exists()
    with pytest.raises(DomainError):  # the system names the holder: there is none by default
        organization_token_issue(organization=org, actor=Actor.system(), name="nobody's")
    assert AccessToken.objects.count() == 1


def test_revoking_any_token_audits_an_organizations_token_once(org: Organization) -> None:
    token, _ = issue(org, AccessToken.Kind.ADMIN)
    access_token_revoke(actor=Actor.system(), token=token)
    access_token_revoke(actor=Actor.system(), token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditEntry.objects.get(action="token.revoke")
    assert (entry.organization, entry.actor_label, entry.target_id) == (
        org,
        "system",
        str(token.pk),
    )


def test_revoking_any_token_revokes_a_personal_token_unaudited(org: Organization) -> None:
    token, _ = issue(org, AccessToken.Kind.PERSONAL)
    access_token_revoke(actor=Actor.system(), token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not AuditEntry.objects.exists()
