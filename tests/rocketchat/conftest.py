"""Personas of Rocket.Chat's integrations API: clients that send ``X-Auth-Token`` (an admin
access token of the organization) and ``X-User-Id`` (its holder's member), the channel the
integrations post into, and builders of integrations through the API itself."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from apps.channels.models import Channel
from apps.members.models import Member
from apps.organizations.models import AccessToken, Organization
from tests.factories import AccountFactory, ChannelFactory
from tests.personas import RocketChatClient, given_token, make_member, token_member

BASE = "/api/v1/"


class RocketClient(RocketChatClient):
    """The persona's Rocket.Chat client, knowing its member, with ``call`` for short paths."""

    member: Member | None = None

    def call(self, method: str, name: str, data: Any = None, **kwargs: Any) -> Any:
        """``method`` on ``/api/v1/<name>`` (GET data goes to the query string)."""
        return getattr(self, method)(BASE + name, data, **kwargs)


def rocket_client(
    organization: Organization, email: str, *, role: str | None = None
) -> RocketClient:
    """A client acting as the holder of a new admin token of ``organization``: the
    holder's member is made as the API makes it (org admin), or beforehand with org role
    ``role``."""
    account = AccountFactory(email=email)
    issued = given_token(kind=AccessToken.Kind.ADMIN, account=account, organization=organization)
    if role is None:
        member = token_member(organization, account)
    else:
        member = make_member(organization, role=role, user_id=email, account=account)
    client = RocketClient(issued.raw, member.user_id)
    client.member = member
    return client


@pytest.fixture
def general(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general", display_name="General")


@pytest.fixture
def rc(org: Organization) -> RocketClient:
    return rocket_client(org, "admin@acme.test")


@pytest.fixture
def other_rc(other_org: Organization) -> RocketClient:
    return rocket_client(other_org, "admin@globex.test")


@pytest.fixture
def no_interval() -> Any:
    """Incoming URLs take every call (the one-call-per-second limit has its own tests)."""
    with override_settings(CHATADMIN={**settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 0}):
        yield


def create_incoming(client: RocketClient, **fields: Any) -> dict[str, Any]:
    """An incoming integration made through ``integrations.create``: its document (with
    the token, shown once)."""
    body = {
        "type": "webhook-incoming",
        "name": "CI",
        "enabled": True,
        "username": "ci.bot",
        "channel": "#general",
        "scriptEnabled": False,
        **fields,
    }
    response = client.call("post", "integrations.create", body)
    assert response.status_code == 200, response.content
    return response.json()["integration"]


def create_outgoing(client: RocketClient, **fields: Any) -> dict[str, Any]:
    body = {
        "type": "webhook-outgoing",
        "name": "Guggy",
        "enabled": False,
        "event": "sendMessage",
        "username": "rocket.cat",
        "channel": "#general",
        "urls": ["https://receiver.example/hook"],
        "scriptEnabled": False,
        **fields,
    }
    response = client.call("post", "integrations.create", body)
    assert response.status_code == 200, response.content
    return response.json()["integration"]
