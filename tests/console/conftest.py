"""Console personas: an owner, an admin and a moderator of acme; a moderator of globex
(the outsider); a superuser. Each ``*_client`` is a logged-in Django test client."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import Account
from apps.organizations.models import Organization, StaffRole

from ..factories import AccountFactory, StaffRoleFactory


def _client_for(account: Account) -> Client:
    client = Client()
    client.force_login(account)
    return client


@pytest.fixture
def owner(org: Organization) -> Account:
    return StaffRoleFactory(
        organization=org, role=StaffRole.Role.OWNER, account__email="owner@acme.test"
    ).account


@pytest.fixture
def org_admin(org: Organization) -> Account:
    return StaffRoleFactory(
        organization=org, role=StaffRole.Role.ADMIN, account__email="orgadmin@acme.test"
    ).account


@pytest.fixture
def moderator(org: Organization) -> Account:
    return StaffRoleFactory(
        organization=org, role=StaffRole.Role.MODERATOR, account__email="mod@acme.test"
    ).account


@pytest.fixture
def outsider(other_org: Organization) -> Account:
    """A moderator of the other organization (globex), nothing in acme."""
    return StaffRoleFactory(
        organization=other_org, role=StaffRole.Role.MODERATOR, account__email="mod@globex.test"
    ).account


@pytest.fixture
def superuser(db: None) -> Account:
    return AccountFactory(email="root@chatadmin.test", is_staff=True, is_superuser=True)


@pytest.fixture
def owner_client(owner: Account) -> Client:
    return _client_for(owner)


@pytest.fixture
def admin_client_(org_admin: Account) -> Client:
    return _client_for(org_admin)


@pytest.fixture
def moderator_client(moderator: Account) -> Client:
    return _client_for(moderator)


@pytest.fixture
def outsider_client(outsider: Account) -> Client:
    return _client_for(outsider)


@pytest.fixture
def superuser_client(superuser: Account) -> Client:
    return _client_for(superuser)
