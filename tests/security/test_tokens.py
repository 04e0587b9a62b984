"""Tokens of every kind (admin, API, personal): never stored in plain text, looked up by
their SHA-256, dead on the very next request after a revocation."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.organizations.models import AccessToken, Organization
from apps.organizations.services import IssuedToken
from tests.factories import AccountFactory
from tests.personas import issue_token, revoke_token

ADMIN_URL = "/api/v2/channels"
MESSENGER_URL = "/api/messenger/chatrooms"


def client_for(issued: IssuedToken) -> tuple[APIClient, str]:
    client = APIClient()
    kind = issued.token.kind
    if kind == AccessToken.Kind.ADMIN:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
        return client, ADMIN_URL
    header = "HTTP_API_TOKEN" if kind == AccessToken.Kind.API else "HTTP_PERSONAL_ACCESS_TOKEN"
    client.credentials(**{header: issued.raw})
    return client, MESSENGER_URL


def issue(kind: str, org: Organization) -> IssuedToken:
    account = AccountFactory()
    organization = None if kind == AccessToken.Kind.PERSONAL else org
    return issue_token(kind=kind, account=account, organization=organization, name="t")


KINDS = [AccessToken.Kind.ADMIN, AccessToken.Kind.API, AccessToken.Kind.PERSONAL]


def test_a_database_dump_contains_no_token_of_any_kind(org: Organization) -> None:
    issued = [issue(kind, org) for kind in KINDS]
    for one in issued:  # used once, so last_used_at and friends are written too
        client, url = client_for(one)
        client.get(url)
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    assert '"accesstoken"' in dump or "organizations.accesstoken" in dump
    for one in issued:
        assert one.raw not in dump
        secret_part = one.raw[len(one.token.prefix) :]
        assert secret_part not in dump
        assert hashlib.sha256(one.raw.encode()).hexdigest() in dump  # only the hash


@pytest.mark.parametrize("kind", KINDS)
def test_a_revoked_token_fails_on_its_very_next_request(org: Organization, kind: str) -> None:
    issued = issue(kind, org)
    client, url = client_for(issued)
    assert client.get(url).status_code != 401
    revoke_token(token=issued.token)
    response = client.get(url)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize("kind", KINDS)
def test_the_token_is_looked_up_by_its_hash_and_never_sent_to_the_database(
    org: Organization, kind: str
) -> None:
    issued = issue(kind, org)
    client, url = client_for(issued)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code != 401
    sql = " ".join(str(q["sql"]) for q in queries.captured_queries)
    assert issued.token.token_hash == hashlib.sha256(issued.raw.encode()).hexdigest()
    assert issued.token.token_hash in sql
    assert issued.raw not in sql


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_of_one_kind_is_refused_as_another_kind(org: Organization, kind: str) -> None:
    issued = issue(kind, org)
    client = APIClient()
    # The same secret in the wrong header: the kind is part of the lookup.
    if kind == AccessToken.Kind.ADMIN:
        client.credentials(HTTP_API_TOKEN=issued.raw)
        url = MESSENGER_URL
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.raw}")
        url = ADMIN_URL
    assert client.get(url).status_code == 401
