"""Personas of the messaging API: members of ``org`` (and one of ``other_org``) with
session clients. Build more with ``make_member`` + ``session_client``."""

from __future__ import annotations

import pytest

from apps.members.models import Member
from apps.organizations.models import Organization
from tests.personas import MessagingClient, make_member, session_client


@pytest.fixture
def alice(org: Organization) -> Member:
    return make_member(org, user_id="alice", display_name="Alice")


@pytest.fixture
def bob(org: Organization) -> Member:
    return make_member(org, user_id="bob", display_name="Bob")


@pytest.fixture
def org_admin(org: Organization) -> Member:
    return make_member(org, role=Member.OrgRole.ADMIN, user_id="root", display_name="Root")


@pytest.fixture
def outsider(other_org: Organization) -> Member:
    return make_member(other_org, user_id="mallory", display_name="Mallory")


@pytest.fixture
def as_alice(alice: Member) -> MessagingClient:
    return session_client(alice)


@pytest.fixture
def as_bob(bob: Member) -> MessagingClient:
    return session_client(bob)


@pytest.fixture
def as_admin(org_admin: Member) -> MessagingClient:
    return session_client(org_admin)


@pytest.fixture
def as_outsider(outsider: Member) -> MessagingClient:
    return session_client(outsider)


@pytest.fixture
def anon() -> MessagingClient:
    return MessagingClient()
