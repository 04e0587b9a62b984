"""Personas and clients for the chatroom service (/api/messenger/).

- ``api_token``: a client with acme's ``API-TOKEN`` (organization scope, no user);
  ``other_api_token``: globex's.
- ``admin``: acme's Member with org role admin, linked to an Account with a personal
  token (``admin_pat``); ``member``: an org-role member (``member_pat``);
  ``outsider_pat``: an Account with a Member only in globex.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.services.chatrooms import chatroom_create_custom
from apps.members.models import Member
from apps.organizations.models import AccessToken, Organization
from apps.organizations.services import token_issue
from tests.factories import AccountFactory, MemberFactory

BASE = "/api/messenger"


class MessengerClient(APIClient):
    """Sends one of the two token headers (or, for tests of that case, both)."""

    def __init__(
        self, *, api_token: str | None = None, personal_token: str | None = None, **kw: Any
    ):
        super().__init__(**kw)
        headers = {}
        if api_token is not None:
            headers["HTTP_API_TOKEN"] = api_token
        if personal_token is not None:
            headers["HTTP_PERSONAL_ACCESS_TOKEN"] = personal_token
        self.credentials(**headers)
        self.raw_token = api_token or personal_token


def api_token_client(organization: Organization, email: str = "api@acme.test") -> MessengerClient:
    account = AccountFactory(email=email)
    issued = token_issue(kind=AccessToken.Kind.API, account=account, organization=organization)
    return MessengerClient(api_token=issued.raw)


def personal_client(member: Member) -> MessengerClient:
    """A personal token of the member's Account (made and linked if the member has none)."""
    if member.account is None:
        member.account = AccountFactory(email=f"{member.user_id}@people.test")
        member.save(update_fields=["account"])
    issued = token_issue(kind=AccessToken.Kind.PERSONAL, account=member.account)
    return MessengerClient(personal_token=issued.raw)


def make_member(organization: Organization, role: str = Member.OrgRole.MEMBER, **kw: Any) -> Member:
    return MemberFactory(organization=organization, org_role=role, **kw)


def make_chatroom(
    organization: Organization, name: str = "Room", members: list[Member] | None = None
) -> Channel:
    return chatroom_create_custom(
        organization=organization, actor=Actor.system(), name=name, members=members or []
    )


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 64)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


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


def account_of(member: Member) -> Account:
    assert member.account is not None
    return member.account
