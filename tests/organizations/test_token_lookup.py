"""The token lookup every token surface runs per request (``token_authenticate``): one
indexed statement that loads the token, its organization whole and its Account's
narrow fields; a revoked token or a deactivated Account fails on the very next lookup."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Account
from apps.organizations.models import AccessToken, Organization
from apps.organizations.selectors import token_authenticate
from tests.factories import AccountFactory
from tests.personas import issue_token, revoke_token


def issued(org: Organization | None, kind: str = AccessToken.Kind.ADMIN) -> tuple[AccessToken, str]:
    token = issue_token(kind=kind, account=AccountFactory(), organization=org)
    token_authenticate(raw=token.raw, kind=kind)  # last_used_at fresh: no UPDATE below
    return token.token, token.raw


def test_a_lookup_is_one_statement_and_what_requests_read_needs_no_other(
    org: Organization,
) -> None:
    token, raw = issued(org)
    with CaptureQueriesContext(connection) as queries:
        found = token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN)
        assert found is not None
        # what the surfaces, permissions and audit labels read
        assert (found.pk, found.kind, found.prefix, found.organization_id) == (
            token.pk,
            token.kind,
            token.prefix,
            org.pk,
        )
        assert found.organization == org
        assert (found.organization.slug, found.organization.filter_policy) == (
            org.slug,
            org.filter_policy,
        )
        assert found.organization.filter_version == org.filter_version
        assert found.account.email == token.account.email
        assert (found.account.is_active, found.account.is_superuser) == (True, False)
        assert found.is_active
    assert len(queries) == 1
    assert queries[0]["sql"].lstrip().upper().startswith("SELECT")


def test_the_lookup_loads_no_secret_and_not_the_whole_account(org: Organization) -> None:
    _, raw = issued(org)
    found = token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN)
    assert found is not None
    assert {"token_hash"} <= found.get_deferred_fields()
    assert {"password", "last_login", "date_joined"} <= found.account.get_deferred_fields()
    assert not found.organization.get_deferred_fields()
    assert isinstance(found.account, Account)


def test_the_lookup_stamps_the_organization_as_read_with_it(org: Organization) -> None:
    _, raw = issued(org)
    found = token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN)
    assert found is not None and found.organization.row_read_at is not None


def test_a_personal_token_has_no_organization(org: Organization) -> None:
    _, raw = issued(None, AccessToken.Kind.PERSONAL)
    with CaptureQueriesContext(connection) as queries:
        found = token_authenticate(raw=raw, kind=AccessToken.Kind.PERSONAL)
        assert found is not None and found.organization is None
    assert len(queries) == 1


def test_a_revoked_token_fails_on_the_next_lookup(org: Organization) -> None:
    token, raw = issued(org)
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN) is not None
    revoke_token(token=token)
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN) is None


def test_a_token_of_a_deactivated_account_fails_on_the_next_lookup(org: Organization) -> None:
    token, raw = issued(org)
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN) is not None
    Account.objects.filter(pk=token.account_id).update(is_active=False)
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN) is None


@pytest.mark.parametrize("raw", ["", "x" * 201, "acc_unknown", "' OR 1=1 --", "\x00"])
def test_unknown_or_malformed_tokens_find_nothing(org: Organization, raw: str) -> None:
    issued(org)
    assert token_authenticate(raw=raw, kind=AccessToken.Kind.ADMIN) is None
