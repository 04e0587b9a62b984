"""The webhooks of the messaging API: a channel of alice, bob and root (the org admin), a
bot member, and webhooks made through the integrations services (as root)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.services.channels import channel_create
from apps.integrations.models import Integration
from apps.integrations.services.integrations import IssuedIntegration, integration_create
from apps.members.models import Member
from apps.organizations.models import Organization
from tests.personas import SYSTEM, make_member

BASE = "/api/messaging/webhooks/"


def detail_url(webhook: Integration | int | str) -> str:
    pk = webhook.pk if isinstance(webhook, Integration) else webhook
    return f"{BASE}{pk}"


def public_url(webhook: Integration | int | str, token: str) -> str:
    return f"{detail_url(webhook)}/{token}"


def error(response: Any) -> tuple[int, str, str | None]:
    """(status, code, field) of a messaging API error."""
    body = response.json()["error"]
    return response.status_code, body["code"], body.get("field")


def make_webhook(
    creator: Member,
    channel: Channel,
    bot: Member,
    *,
    direction: str = Integration.Direction.INCOMING,
    **fields: Any,
) -> IssuedIntegration:
    """A messaging webhook made by ``creator`` (through the services, as the API does)."""
    return integration_create(
        organization=creator.organization,
        actor=Actor.for_member(creator),
        flavor=Integration.Flavor.MESSAGING,
        direction=direction,
        channel=channel,
        bot=bot,
        **fields,
    )


@pytest.fixture
def room(org: Organization, alice: Member, bob: Member, org_admin: Member) -> Channel:
    return channel_create(
        organization=org, actor=SYSTEM, channel_id="room", user_ids=["alice", "bob", "root"]
    )


@pytest.fixture
def bot(org: Organization) -> Member:
    return make_member(org, user_id="ci.bot", display_name="CI", is_bot=True)


@pytest.fixture
def their_room(other_org: Organization, outsider: Member) -> Channel:
    return channel_create(
        organization=other_org, actor=SYSTEM, channel_id="theirs", user_ids=["mallory"]
    )


@pytest.fixture
def their_bot(other_org: Organization) -> Member:
    return make_member(other_org, user_id="their.bot", is_bot=True)


@pytest.fixture
def their_admin(other_org: Organization) -> Member:
    return make_member(other_org, role=Member.OrgRole.ADMIN, user_id="their.root")
