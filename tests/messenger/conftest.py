"""Fixtures of the chatroom service (/api/messenger/), thin wrappers over
``tests/personas.py`` and ``tests/builders.py``:

- ``api_token``: a client with acme's ``API-TOKEN`` (organization scope, no user);
  ``other_api_token``: globex's.
- ``admin``: acme's Member with org role admin, linked to an Account with a personal
  token (``admin_pat``); ``member``: an org-role member (``member_pat``);
  ``outsider_pat``: an Account with a Member only in globex.
"""

from __future__ import annotations

import pytest

from apps.channels.models import Channel
from apps.members.models import Member
from apps.organizations.models import Organization
from tests.builders import make_chatroom
from tests.personas import MessengerClient, api_token_client, make_member, personal_client


@pytest.fixture
def api_token(org: Organization) -> MessengerClient:
    return api_token_client(org)


@pytest.fixture
def other_api_token(other_org: Organization) -> MessengerClient:
    return api_token_client(other_org, email="api@globex.test")


@pytest.fixture
def admin(org: Organization) -> Member:
    return make_member(org, Member.OrgRole.ADMIN, user_id="ada")


@pytest.fixture
def member(org: Organization) -> Member:
    return make_member(org, Member.OrgRole.MEMBER, user_id="bob")


@pytest.fixture
def admin_pat(admin: Member) -> MessengerClient:
    return personal_client(admin)


@pytest.fixture
def member_pat(member: Member) -> MessengerClient:
    return personal_client(member)


@pytest.fixture
def outsider(other_org: Organization) -> Member:
    return make_member(other_org, Member.OrgRole.ADMIN, user_id="olga")


@pytest.fixture
def outsider_pat(outsider: Member) -> MessengerClient:
    return personal_client(outsider)


@pytest.fixture
def anon(db: None) -> MessengerClient:
    return MessengerClient()


@pytest.fixture
def room(org: Organization, member: Member) -> Channel:
    """A custom chatroom of acme with ``member`` assigned."""
    return make_chatroom(org, "Team", [member])
