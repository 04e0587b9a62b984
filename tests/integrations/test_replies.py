"""An outgoing webhook's reply, posted back as the integration
(apps.integrations.services.replies.delivery_reply)."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.services.channels import channel_users_add
from apps.channels.services.conversations import channel_archive
from apps.core.egress import EgressResponse
from apps.core.errors import DomainError
from apps.integrations.models import Delivery, Integration, IntegrationHistory
from apps.integrations.services.delivery import NewDelivery, deliveries_create, deliveries_run
from apps.integrations.services.incoming import MAX_ATTACHMENTS
from apps.integrations.services.integrations import integration_create
from apps.integrations.services.replies import delivery_reply
from apps.members.services import member_deactivate
from apps.messages.models import Message
from apps.moderation.services import blacklist_records_add
from apps.retention.services import channel_close
from tests.factories import ChannelFactory, MemberFactory, OrganizationFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("local_urls"),
]

SYSTEM = Actor.system()
URL = "http://127.0.0.1:9/hook"
JSON = {"content-type": "application/json"}


@pytest.fixture
def local_urls():
    """Outgoing URLs on 127.0.0.1 are allowed (create and update check them)."""
    with override_settings(CHATADMIN={**settings.CHATADMIN, "WEBHOOK_ALLOWLIST": ["127.0.0.1/32"]}):
        yield


def _channel(org, channel_id="general", **fields):
    fields.setdefault("visibility", Channel.Visibility.PUBLIC)
    return ChannelFactory(organization=org, channel_id=channel_id, **fields)


def _rocketchat(org, channel, **fields):
    """An outgoing Rocket.Chat integration on ``channel`` (its bot joins it)."""
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        name="Echo",
        event="sendMessage",
        urls=[URL],
        targets=[f"#{channel.channel_id}"],
        username="echo.bot",
        **fields,
    ).integration


def _messaging(org, channel):
    bot = MemberFactory(organization=org, user_id="cmd.bot", is_bot=True)
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.OUTGOING,
        channel=channel,
        bot=bot,
        urls=[URL],
        trigger_words=["weather"],
    ).integration


def _delivery(integration, *, event="sendMessage", **context: Any) -> Delivery:
    return Delivery.objects.create(
        organization=integration.organization,
        integration=integration,
        event_id=uuid.uuid4(),
        event=event,
        url=URL,
        webhook_id=f"msg_{uuid.uuid4().hex}",
        payload={"text": "ping"},
        context=context,
        status=Delivery.Status.SUCCEEDED,
    )


def _response(body: Any, headers: dict[str, str] | None = None, **fields) -> EgressResponse:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return EgressResponse(
        status=200,
        headers=JSON if headers is None else headers,
        body=body,
        truncated=fields.get("truncated", False),
        elapsed=0.01,
        address="127.0.0.1",
    )


def _author(org, channel, user_id="alice"):
    member = MemberFactory(organization=org, user_id=user_id)
    channel_users_add(channel=channel, actor=SYSTEM, user_ids=[user_id])
    return member


def _posted(org):
    return list(Message.objects.filter(organization=org).order_by("pk"))


# --- Rocket.Chat -------------------------------------------------------------------------


def test_a_json_text_reply_is_posted_as_the_bot_into_the_events_channel():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    delivery = _delivery(integration, channel=channel.pk)
    message_id = delivery_reply(delivery, integration, _response({"text": "  pong  "}))
    [message] = _posted(org)
    assert message_id == str(message.public_id)
    assert message.channel_id == channel.pk
    assert message.author_id == integration.bot_id
    assert message.type == Message.Type.TEXT and message.data["text"] == "pong"
    assert not IntegrationHistory.objects.filter(integration=integration).exists()


def test_the_posted_message_carries_the_integrations_bot_marker():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    delivery_reply(
        _delivery(integration, channel=channel.pk), integration, _response({"text": "pong"})
    )
    [message] = _posted(org)
    assert message.data["bot"] == {"i": str(integration.pk)}


def test_an_attachments_only_reply_is_a_custom_message():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    attachments = [{"title": "Build 42", "text": "green", "color": "#00ff00"}]
    delivery_reply(
        _delivery(integration, channel=channel.pk),
        integration,
        _response({"attachments": attachments}),
    )
    [message] = _posted(org)
    assert message.type == Message.Type.CUSTOM
    assert message.data["attachments"] == attachments and "text" not in message.data


def test_more_attachments_than_the_limit_are_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk),
            integration,
            _response({"attachments": [{"title": "x"}] * (MAX_ATTACHMENTS + 1)}),
        )
    assert (exc.value.code, exc.value.field) == ("invalid_parameter", "attachments")
    assert _posted(org) == []


def test_alias_emoji_and_avatar_of_the_reply_are_honoured_over_the_integrations():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, alias="Echo", emoji=":robot:")
    delivery_reply(
        _delivery(integration, channel=channel.pk),
        integration,
        _response(
            {
                "text": "pong",
                "alias": "Weather",
                "emoji": ":sunny:",
                "avatar": "https://img.example/sun.png",
            }
        ),
    )
    [message] = _posted(org)
    assert message.data["alias"] == "Weather" and message.data["emoji"] == ":sunny:"
    assert message.data["avatar"] == "https://img.example/sun.png"


def test_slacks_names_stand_for_alias_emoji_and_avatar_and_win_as_in_rocketchat():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, alias="Echo")
    delivery_reply(
        _delivery(integration, channel=channel.pk),
        integration,
        _response(
            {
                "text": "pong",
                "alias": "ignored",
                "username": "Slacky",
                "icon_emoji": ":ghost:",
                "icon_url": "http://img.example/g.png",
            }
        ),
    )
    [message] = _posted(org)
    assert message.data["alias"] == "Slacky" and message.data["emoji"] == ":ghost:"
    assert message.data["avatar"] == "http://img.example/g.png"


def test_without_its_own_styling_the_reply_takes_the_integrations():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, alias="Echo", emoji=":robot:")
    delivery_reply(
        _delivery(integration, channel=channel.pk), integration, _response({"text": "pong"})
    )
    [message] = _posted(org)
    assert message.data["alias"] == "Echo" and message.data["emoji"] == ":robot:"


@pytest.mark.parametrize(
    "content_type", ["text/javascript", "application/javascript; charset=utf-8"]
)
def test_rocketchats_other_json_content_types_are_read(content_type):
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    delivery_reply(
        _delivery(integration, channel=channel.pk),
        integration,
        _response({"text": "pong"}, {"content-type": content_type}),
    )
    assert len(_posted(org)) == 1


@pytest.mark.parametrize(
    "headers", [{"content-type": "text/plain"}, {"content-type": "text/html"}, {}]
)
def test_a_reply_of_another_content_type_is_ignored(headers):
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    delivery = _delivery(integration, channel=channel.pk)
    assert delivery_reply(delivery, integration, _response({"text": "pong"}, headers)) is None
    assert _posted(org) == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"{not json",
        b'{"text": "a", "text": "b"}',
        b'"just a string"',
        b"[1, 2]",
        b'{"ok": true}',
        b'{"text": "   "}',
        b'{"attachments": []}',
        b'{"attachments": "not a list"}',
        b"\xff\xfe",
    ],
)
def test_an_empty_invalid_or_messageless_json_reply_posts_nothing(body):
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    delivery = _delivery(integration, channel=channel.pk)
    assert delivery_reply(delivery, integration, _response(body)) is None
    assert _posted(org) == []


def test_a_reply_cut_at_the_response_cap_is_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk),
            integration,
            _response(b'{"text": "pong', truncated=True),
        )
    assert exc.value.code == "payload_too_large"
    assert _posted(org) == []


def test_the_integrations_target_room_wins_over_the_events_channel():
    org = OrganizationFactory()
    channel = _channel(org)
    room = _channel(org, "ops")
    integration = _rocketchat(org, channel, target_room="#ops")
    delivery_reply(
        _delivery(integration, channel=channel.pk), integration, _response({"text": "pong"})
    )
    [message] = _posted(org)
    assert message.channel_id == room.pk
    assert Channel.objects.get(pk=room.pk).member_count == 1  # the bot joined the public room


def test_a_target_room_at_a_user_posts_into_the_bots_conversation_with_them():
    org = OrganizationFactory()
    channel = _channel(org)
    bob = MemberFactory(organization=org, user_id="bob")
    integration = _rocketchat(org, channel, target_room="@bob")
    delivery_reply(
        _delivery(integration, channel=channel.pk), integration, _response({"text": "psst"})
    )
    [message] = _posted(org)
    assert message.channel.visibility == Channel.Visibility.GROUP
    assert set(message.channel.memberships.values_list("member_id", flat=True)) == {
        integration.bot_id,
        bob.pk,
    }


def test_the_replys_channel_names_another_channel_of_the_organization():
    org = OrganizationFactory()
    channel = _channel(org)
    other = _channel(org, "random")
    integration = _rocketchat(org, channel)
    delivery_reply(
        _delivery(integration, channel=channel.pk),
        integration,
        _response({"text": "pong", "channel": "#random"}),
    )
    [message] = _posted(org)
    assert message.channel_id == other.pk


def test_the_replys_channel_cannot_reach_another_organizations_channel():
    org, elsewhere = OrganizationFactory(), OrganizationFactory()
    channel = _channel(org)
    _channel(elsewhere, "secret")
    integration = _rocketchat(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk),
            integration,
            _response({"text": "pong", "channel": "#secret"}),
        )
    assert exc.value.code == "invalid_channel"
    assert not Message.objects.exists()


def test_a_private_channel_the_bot_is_not_in_is_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    _channel(org, "board", visibility=Channel.Visibility.PRIVATE)
    integration = _rocketchat(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk),
            integration,
            _response({"text": "pong", "channel": "#board"}),
        )
    assert exc.value.code == "not_a_member"
    assert _posted(org) == []


def test_an_event_channel_of_another_organization_is_refused():
    org, elsewhere = OrganizationFactory(), OrganizationFactory()
    channel = _channel(org)
    foreign = _channel(elsewhere, "general")
    integration = _rocketchat(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=foreign.pk), integration, _response({"text": "pong"})
        )
    assert exc.value.code == "channel_not_found"
    assert not Message.objects.exists()


def test_an_event_without_a_channel_and_no_target_room_posts_nothing():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    delivery = _delivery(integration, event="userCreated")
    assert delivery_reply(delivery, integration, _response({"text": "welcome"})) is None
    assert _posted(org) == []


def test_a_test_events_reply_is_never_posted():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, target_room="#general")
    delivery = _delivery(integration, event="test", channel=channel.pk)
    assert delivery_reply(delivery, integration, _response({"text": "pong"})) is None
    assert _posted(org) == []


# --- who posts -------------------------------------------------------------------------


def test_impersonate_user_posts_as_the_author_of_the_triggering_message():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, impersonate_user=True)
    alice = _author(org, channel)
    delivery_reply(
        _delivery(integration, channel=channel.pk, author=alice.pk),
        integration,
        _response({"text": "as alice"}),
    )
    [message] = _posted(org)
    assert message.author_id == alice.pk
    assert message.data["bot"] == {"i": str(integration.pk)}


def test_impersonating_a_deactivated_author_falls_back_to_the_bot():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, impersonate_user=True)
    alice = _author(org, channel)
    member_deactivate(actor=SYSTEM, member=alice)
    delivery_reply(
        _delivery(integration, channel=channel.pk, author=alice.pk),
        integration,
        _response({"text": "pong"}),
    )
    [message] = _posted(org)
    assert message.author_id == integration.bot_id


def test_impersonating_an_author_who_may_not_post_there_falls_back_to_the_bot():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, impersonate_user=True)
    outsider = MemberFactory(organization=org, user_id="outsider")  # not in the channel
    delivery_reply(
        _delivery(integration, channel=channel.pk, author=outsider.pk),
        integration,
        _response({"text": "pong"}),
    )
    [message] = _posted(org)
    assert message.author_id == integration.bot_id


def test_impersonation_never_picks_a_member_of_another_organization():
    org, elsewhere = OrganizationFactory(), OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel, impersonate_user=True)
    stranger = MemberFactory(organization=elsewhere, user_id="stranger")
    delivery_reply(
        _delivery(integration, channel=channel.pk, author=stranger.pk),
        integration,
        _response({"text": "pong"}),
    )
    [message] = _posted(org)
    assert message.author_id == integration.bot_id


def test_without_impersonate_user_the_bot_posts_even_when_an_author_is_known():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    alice = _author(org, channel)
    delivery_reply(
        _delivery(integration, channel=channel.pk, author=alice.pk),
        integration,
        _response({"text": "pong"}),
    )
    [message] = _posted(org)
    assert message.author_id == integration.bot_id


# --- the posting rules -------------------------------------------------------------------


def test_a_reply_the_content_filter_blocks_raises_and_posts_nothing():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    blacklist_records_add(organization=org, actor=SYSTEM, patterns=["forbidden"])
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk),
            integration,
            _response({"text": "this is forbidden"}),
        )
    assert exc.value.code == "blacklisted_content"
    assert _posted(org) == []


def test_a_reply_into_an_archived_channel_is_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    channel_archive(channel=channel, actor=SYSTEM)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk), integration, _response({"text": "pong"})
        )
    assert exc.value.code == "channel_archived"
    assert _posted(org) == []


def test_a_reply_into_a_closed_channel_is_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    channel_close(channel=channel, actor=SYSTEM)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk), integration, _response({"text": "pong"})
        )
    assert exc.value.code == "channel_closed"
    assert _posted(org) == []


def test_a_deactivated_bot_cannot_reply():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    integration.bot.deactivated_at = timezone.now()
    integration.bot.save()
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk), integration, _response({"text": "pong"})
        )
    assert exc.value.code == "user_deactivated"


def test_a_disabled_integration_posts_no_reply():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    Integration.objects.filter(pk=integration.pk).update(enabled=False)
    integration.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, channel=channel.pk), integration, _response({"text": "pong"})
        )
    assert exc.value.code == "integration_disabled"
    assert _posted(org) == []


def test_a_replayed_delivery_posts_its_reply_again():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    delivery = _delivery(integration, channel=channel.pk)
    first = delivery_reply(delivery, integration, _response({"text": "pong"}))
    Delivery.objects.filter(pk=delivery.pk).update(reply_message_id=first)
    delivery.refresh_from_db()
    second = delivery_reply(delivery, integration, _response({"text": "pong"}))
    assert first != second and len(_posted(org)) == 2


# --- the messaging API -------------------------------------------------------------------


def test_a_messaging_plain_text_reply_is_posted_into_the_commands_channel():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    delivery = _delivery(integration, event="command", channel=channel.pk)
    message_id = delivery_reply(
        delivery, integration, _response(b"Sunny, 21 C\n", {"content-type": "text/plain"})
    )
    [message] = _posted(org)
    assert message_id == str(message.public_id)
    assert message.channel_id == channel.pk and message.author_id == integration.bot_id
    assert message.data["text"] == "Sunny, 21 C"
    assert message.data["bot"] == {"i": str(integration.pk)}


@pytest.mark.parametrize("headers", [{}, {"content-type": "text/html"}, JSON])
def test_a_messaging_reply_that_is_not_a_json_object_is_its_text(headers):
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    delivery_reply(
        _delivery(integration, event="command", channel=channel.pk),
        integration,
        _response(b"It rains", headers),
    )
    [message] = _posted(org)
    assert message.data["text"] == "It rains"


def test_a_messaging_text_plain_reply_is_kept_as_text_even_if_it_looks_like_json():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    delivery_reply(
        _delivery(integration, event="command", channel=channel.pk),
        integration,
        _response(b'{"text": "x"}', {"content-type": "text/plain; charset=utf-8"}),
    )
    [message] = _posted(org)
    assert message.data["text"] == '{"text": "x"}'


def test_a_messaging_json_reply_shows_its_username_and_avatar():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    delivery_reply(
        _delivery(integration, event="command", channel=channel.pk),
        integration,
        _response({"text": "Sunny", "username": "Weather", "avatar": "https://img.example/w.png"}),
    )
    [message] = _posted(org)
    assert message.data["text"] == "Sunny" and message.data["alias"] == "Weather"
    assert message.data["avatar"] == "https://img.example/w.png"
    assert message.author_id == integration.bot_id


def test_a_messaging_reply_avatar_that_is_not_an_http_url_is_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, event="command", channel=channel.pk),
            integration,
            _response({"text": "Sunny", "avatar": "javascript:alert(1)"}),
        )
    assert (exc.value.code, exc.value.field) == ("invalid_parameter", "avatar")
    assert _posted(org) == []


@pytest.mark.parametrize("body", [b"", b"  ", b'{"username": "x"}', b"\xff\xfe"])
def test_a_messaging_reply_without_text_posts_nothing(body):
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    delivery = _delivery(integration, event="command", channel=channel.pk)
    assert delivery_reply(delivery, integration, _response(body, {})) is None
    assert _posted(org) == []


def test_a_messaging_reply_longer_than_a_message_may_be_is_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, event="command", channel=channel.pk),
            integration,
            _response(b"x" * 10_001, {"content-type": "text/plain"}),
        )
    assert (exc.value.code, exc.value.field) == ("invalid_parameter", "data.text")
    assert _posted(org) == []


def test_a_messaging_reply_with_a_nul_character_is_refused():
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _messaging(org, channel)
    with pytest.raises(DomainError) as exc:
        delivery_reply(
            _delivery(integration, event="command", channel=channel.pk),
            integration,
            _response(b"a\x00b", {"content-type": "text/plain"}),
        )
    assert exc.value.code == "invalid_parameter"
    assert _posted(org) == []


# --- through the delivery engine ---------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[str]:
    """A local endpoint that answers every POST with a Rocket.Chat JSON reply."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.dumps({"text": "pong from the endpoint"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def test_a_delivered_events_reply_is_posted_and_named_on_the_delivery(receiver):
    org = OrganizationFactory()
    channel = _channel(org)
    integration = _rocketchat(org, channel)
    Integration.objects.filter(pk=integration.pk).update(urls=[receiver])
    integration.refresh_from_db()
    deliveries_create(
        [
            NewDelivery(
                integration=integration,
                event="sendMessage",
                payload={"text": "ping"},
                context={"channel": channel.pk},
            )
        ]
    )
    result = deliveries_run(budget=30, threads=False)
    assert (result.attempted, result.succeeded) == (1, 1)
    delivery = Delivery.objects.get(integration=integration)
    [message] = _posted(org)
    assert delivery.reply_message_id == str(message.public_id)
    assert message.data["text"] == "pong from the endpoint"
    assert message.author_id == integration.bot_id
