"""The incoming path every door shares: limits, the message, the history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from apps.audit.actor import Actor
from apps.core.errors import DomainError
from apps.integrations.models import Integration, IntegrationHistory, IntegrationRequest
from apps.integrations.selectors import integration_by_secret, integration_by_token
from apps.integrations.services.incoming import (
    IncomingMessage,
    body_hash,
    incoming_admit,
    incoming_once,
    incoming_post,
)
from apps.integrations.services.integrations import integration_create, integration_update
from apps.integrations.tasks import requests_expire_sweep
from apps.messages.models import Message
from apps.moderation.services import blacklist_records_add
from tests.factories import ChannelFactory, MemberFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def _incoming(org, **fields):
    channel = fields.pop("channel", None) or ChannelFactory(organization=org, channel_id="general")
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        name="CI",
        targets=[f"#{channel.channel_id}"],
        username="ci.bot",
        **fields,
    )


def test_create_provisions_a_bot_member_and_returns_the_token_once():
    org = OrganizationFactory()
    issued = _incoming(org)
    integration = issued.integration
    assert integration.bot.user_id == "ci.bot" and integration.bot.is_bot
    assert issued.token and integration.token_hash != issued.token
    found = integration_by_token(
        integration_id=str(integration.pk), token=issued.token, flavor="rocketchat"
    )
    assert found.pk == integration.pk


def test_a_wrong_token_or_flavor_is_not_found():
    org = OrganizationFactory()
    issued = _incoming(org)
    with pytest.raises(DomainError) as exc:
        integration_by_token(integration_id=issued.integration.pk, token="x", flavor="rocketchat")
    assert exc.value.code == "integration_not_found"
    with pytest.raises(DomainError):
        integration_by_secret(secret=issued.token, flavor="stackfield")


def test_incoming_post_goes_through_message_create_as_the_bot_and_is_recorded():
    org = OrganizationFactory()
    integration = _incoming(org, alias="CI").integration
    [message] = incoming_post(
        integration=integration,
        message=IncomingMessage(text="build green", attachments=[{"title": "ok"}]),
        request={"content": {"text": "build green"}},
    )
    assert message.author.user_id == "ci.bot"
    assert message.data["text"] == "build green"
    assert message.data["alias"] == "CI" and message.data["bot"] == {"i": str(integration.pk)}
    history = IntegrationHistory.objects.get(integration=integration)
    assert history.step == "incoming-posted" and history.message_id == str(message.public_id)


def test_a_disabled_integration_posts_nothing():
    org = OrganizationFactory()
    integration = _incoming(org).integration
    integration = integration_update(actor=SYSTEM, integration=integration, enabled=False)
    with pytest.raises(DomainError) as exc:
        incoming_post(integration=integration, message=IncomingMessage(text="x"))
    assert exc.value.code == "integration_disabled"
    assert not Message.objects.filter(organization=org).exists()


def test_targets_must_exist_and_start_with_hash_or_at():
    org = OrganizationFactory()
    ChannelFactory(organization=org, channel_id="general")
    for targets, code in (("#nope", "invalid_channel"), ("general", "invalid_channel_prefix")):
        with pytest.raises(DomainError) as exc:
            integration_create(
                organization=org,
                actor=SYSTEM,
                flavor="rocketchat",
                direction="incoming",
                targets=targets,
                username="bot",
            )
        assert exc.value.code == code
    assert not Integration.objects.exists()


@override_settings(CHATADMIN={**settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 60})
def test_the_second_call_within_the_interval_is_throttled_with_retry_after():
    org = OrganizationFactory()
    integration = _incoming(org).integration
    incoming_admit(integration)
    with pytest.raises(DomainError) as exc:
        incoming_admit(integration)
    assert exc.value.code == "throttled" and 1 <= exc.value.retry_after <= 60


def test_the_same_body_twice_is_a_double_request():
    org = OrganizationFactory()
    integration = _incoming(org).integration
    incoming_once(integration, b'{"Title": "x"}')
    with pytest.raises(DomainError) as exc:
        incoming_once(integration, b'{"Title": "x"}')
    assert exc.value.code == "double_request"
    incoming_once(integration, b'{"Title": "y"}')


def test_a_member_with_only_the_own_permission_cannot_change_anothers_integration():
    org = OrganizationFactory()
    integration = _incoming(org).integration
    member = MemberFactory(organization=org, org_role="member")
    with pytest.raises(DomainError) as exc:
        integration_update(actor=Actor.for_member(member), integration=integration, name="x")
    assert exc.value.code == "forbidden"


def test_the_request_sweep_forgets_only_hashes_past_the_window():
    org = OrganizationFactory()
    integration = _incoming(org).integration
    incoming_once(integration, b"old")
    incoming_once(integration, b"new")
    IntegrationRequest.objects.filter(body_hash=body_hash(b"old")).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    assert requests_expire_sweep.apply().get() == 1
    assert requests_expire_sweep.apply().get() == 0
    with pytest.raises(DomainError):
        incoming_once(integration, b"new")
    incoming_once(integration, b"old")


def test_blacklisted_text_in_an_attachment_is_refused_and_nothing_is_posted():
    org = OrganizationFactory()
    integration = _incoming(org).integration
    blacklist_records_add(organization=org, actor=SYSTEM, patterns=["forbidden"])
    with pytest.raises(DomainError) as exc:
        incoming_post(
            integration=integration,
            message=IncomingMessage(
                text="fine", attachments=[{"fields": [{"title": "t", "value": "forbidden"}]}]
            ),
        )
    assert exc.value.code == "blacklisted_content"
    assert exc.value.field == "data.attachments[0].fields[0].value"
    assert not Message.objects.filter(organization=org).exists()
    assert IntegrationHistory.objects.get(integration=integration).error


def test_a_deactivated_bot_cannot_post():
    org = OrganizationFactory()
    integration = _incoming(org).integration
    integration.bot.deactivated_at = timezone.now()
    integration.bot.save()
    with pytest.raises(DomainError) as exc:
        incoming_post(integration=integration, message=IncomingMessage(text="x"))
    assert exc.value.code == "user_deactivated"


@pytest.mark.parametrize(
    "avatar", ["javascript:alert(1)", "data:image/png;base64,AA", "//x.example"]
)
def test_an_avatar_that_is_not_an_http_url_is_refused(avatar):
    org = OrganizationFactory()
    integration = _incoming(org).integration
    with pytest.raises(DomainError) as exc:
        incoming_post(integration=integration, message=IncomingMessage(text="x", avatar=avatar))
    assert (exc.value.code, exc.value.field) == ("invalid_parameter", "avatar")
    assert not Message.objects.filter(organization=org).exists()
