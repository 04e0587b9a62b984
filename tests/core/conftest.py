"""Fixtures of the core layer's tests: clients that send wrong credentials."""

from __future__ import annotations

import pytest

from apps.organizations.models import AccessToken, Organization
from tests.factories import AccountFactory
from tests.personas import TokenClient, given_token

ECHO = "/api/test/echo"  # see tests/core/urls.py


@pytest.fixture
def api_token_client(org: Organization) -> TokenClient:
    """A client with a valid token of another kind (an org API-TOKEN, not an admin token)."""
    account = AccountFactory(email="api-token@acme.test")
    issued = given_token(kind=AccessToken.Kind.API, account=account, organization=org)
    return TokenClient(issued.raw, org)
