"""Console personas (``tests/personas.py``): an owner, an admin and a moderator of acme;
a moderator of globex (the outsider); a superuser. Each ``*_client`` is a logged-in
Django test client."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.models import Account
from apps.organizations.models import Organization, StaffRole

from ..personas import console_client, staff
from ..personas import superuser as make_superuser


@pytest.fixture
def owner(org: Organization) -> Account:
    return staff(org, StaffRole.Role.OWNER, "owner@acme.test")


@pytest.fixture
def org_admin(org: Organization) -> Account:
    return staff(org, StaffRole.Role.ADMIN, "orgadmin@acme.test")


@pytest.fixture
def moderator(org: Organization) -> Account:
    return staff(org, StaffRole.Role.MODERATOR, "mod@acme.test")


@pytest.fixture
def outsider(other_org: Organization) -> Account:
    """A moderator of the other organization (globex), nothing in acme."""
    return staff(other_org, StaffRole.Role.MODERATOR, "mod@globex.test")


@pytest.fixture
def superuser(db: None) -> Account:
    return make_superuser("root@chatadmin.test")


@pytest.fixture
def owner_client(owner: Account) -> Client:
    return console_client(owner)


@pytest.fixture
def admin_client_(org_admin: Account) -> Client:
    return console_client(org_admin)


@pytest.fixture
def moderator_client(moderator: Account) -> Client:
    return console_client(moderator)


@pytest.fixture
def outsider_client(outsider: Account) -> Client:
    return console_client(outsider)


@pytest.fixture
def superuser_client(superuser: Account) -> Client:
    return console_client(superuser)
