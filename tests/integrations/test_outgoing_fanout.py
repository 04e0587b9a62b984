"""The fan-out of outgoing webhooks: domain events, delivered by the real outbox dispatcher,
become one delivery per matching integration and URL, with Rocket.Chat's payloads and
rules (targets, trigger words, runOnEdits, the loop guard); plus the test event and the
URL check at create and update. Nothing is sent over HTTP here."""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from PIL import Image

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import (
    channel_create,
    channel_users_add,
    channel_users_remove,
)
from apps.channels.services.conversations import channel_archive, conversation_create_by_actor
from apps.core.errors import DomainError
from apps.events.models import Event, EventType
from apps.events.services import events_dispatch
from apps.integrations.models import Delivery, Integration
from apps.integrations.services.delivery import webhook_id
from apps.integrations.services.incoming import IncomingMessage, incoming_post
from apps.integrations.services.integrations import (
    IssuedIntegration,
    integration_create,
    integration_update,
)
from apps.integrations.services.outgoing import TEST_TEXT, delivery_test_send, on_event
from apps.members.models import Member
from apps.members.services import member_session_issue, members_provision
from apps.messages.models import Message
from apps.messages.services.messages import (
    message_create,
    message_create_file,
    message_create_image,
    message_delete,
    message_text_update,
    message_updated_event,
)
from apps.organizations.models import Organization
from apps.retention.services import channel_close
from tests.personas import make_member

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()
URL = "https://hooks.example/in"
OTHER_URL = "https://backup.example/in"
SITE = "http://127.0.0.1:8000"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# --- helpers ------------------------------------------------------------------------------


def hook(
    org: Organization,
    event: str = "sendMessage",
    *,
    targets: Sequence[str] = (),
    urls: Sequence[str] = (URL,),
    **fields: Any,
) -> Integration:
    """An outgoing Rocket.Chat integration, made through the service."""
    return issue(org, event, targets=targets, urls=urls, **fields).integration


def issue(
    org: Organization,
    event: str = "sendMessage",
    *,
    targets: Sequence[str] = (),
    urls: Sequence[str] = (URL,),
    **fields: Any,
) -> IssuedIntegration:
    fields.setdefault("outgoing_token", f"rc-outgoing-token-{uuid.uuid4().hex}")
    return integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.OUTGOING,
        event=event,
        targets=list(targets),
        urls=list(urls),
        **fields,
    )


def fan_out(act: Callable[[], Any]) -> list[Delivery]:
    """Dispatch what is pending, run ``act``, dispatch again (the real outbox
    dispatcher) and return the deliveries that appeared, oldest first."""
    events_dispatch()
    before = set(Delivery.objects.values_list("pk", flat=True))
    act()
    result = events_dispatch()
    assert result.failed == 0
    return list(
        Delivery.objects.exclude(pk__in=before).select_related("integration").order_by("pk")
    )


def last_event(type: str) -> Event:
    return Event.objects.filter(type=type).latest("pk")


def redispatch(event: Event) -> None:
    """The dispatcher delivers the event again (at least once)."""
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    assert events_dispatch().delivered >= 1


def ts(value: datetime) -> str:
    """Rocket.Chat's JSON date, to the millisecond."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def post(channel: Channel, author: Member, text: str, **data: Any) -> Message:
    return message_create(
        organization=channel.organization,
        actor=SYSTEM,
        channel=channel,
        type="text",
        data={"text": text, **data},
        author=author,
    )


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 10, 10)).save(buffer, "PNG")
    return SimpleUploadedFile("pic.png", buffer.getvalue(), content_type="image/png")


def conversation(
    org: Organization, name: str, visibility: str, members: Sequence[Member], **kw: Any
) -> Channel:
    return conversation_create_by_actor(
        organization=org,
        actor=SYSTEM,
        name=name,
        members=list(members),
        visibility=visibility,
        **kw,
    )


class World:
    def __init__(self, org: Organization) -> None:
        self.org = org
        self.alice = make_member(org, user_id="alice", display_name="Alice")
        self.bob = make_member(org, user_id="bob", display_name="Bob")
        self.carol = make_member(org, user_id="carol", display_name="Carol")
        self.public = conversation(org, "Town square", "public", [self.alice, self.bob])
        self.private = conversation(org, "Back office", "private", [self.alice, self.bob])
        self.direct = conversation(org, "", "group", [self.alice, self.bob])
        self.trio = conversation(org, "", "group", [self.alice, self.bob, self.carol])
        events_dispatch()

    def channel(self, name: str) -> Channel:
        return getattr(self, name)


@pytest.fixture
def world(org: Organization) -> World:
    return World(org)


# --- message.created -> sendMessage -------------------------------------------------------


def test_a_text_message_becomes_one_send_message_delivery_per_url_with_rocketchats_payload(
    world: World,
) -> None:
    integration = hook(world.org, urls=[URL, OTHER_URL])
    message: list[Message] = []
    deliveries = fan_out(lambda: message.append(post(world.public, world.alice, "hello there")))
    event = last_event(EventType.MESSAGE_CREATED)
    msg = message[0]
    assert sorted(d.url for d in deliveries) == sorted([URL, OTHER_URL])
    for delivery in deliveries:
        assert delivery.integration_id == integration.pk
        assert delivery.event == "sendMessage"
        assert delivery.status == Delivery.Status.PENDING
        assert delivery.event_id == event.event_id
        assert delivery.webhook_id == webhook_id(integration.pk, event.event_id, delivery.url)
        assert delivery.payload == {
            "bot": False,
            "channel_id": world.public.channel_id,
            "channel_name": "Town square",
            "message_id": str(msg.public_id),
            "timestamp": ts(msg.created_at),
            "user_id": "alice",
            "user_name": "alice",
            "text": "hello there",
            "siteUrl": SITE,
        }
        assert delivery.context == {
            "channel": world.public.pk,
            "author": world.alice.pk,
            "triggerWord": None,
        }
        assert TIMESTAMP.match(delivery.payload["timestamp"])


def test_a_second_dispatch_of_the_same_event_writes_nothing_new(world: World) -> None:
    hook(world.org, urls=[URL, OTHER_URL])
    first = fan_out(lambda: post(world.public, world.alice, "once"))
    event = last_event(EventType.MESSAGE_CREATED)
    redispatch(event)
    on_event(event)  # and once more, straight
    again = list(Delivery.objects.order_by("pk"))
    assert [(d.pk, d.webhook_id, d.payload) for d in again] == [
        (d.pk, d.webhook_id, d.payload) for d in first
    ]


def test_a_reply_carries_its_parents_id_as_tmid_and_an_alias_is_passed_on(world: World) -> None:
    hook(world.org)
    parent = post(world.public, world.alice, "question")
    reply: list[Message] = []

    def act() -> None:
        reply.append(
            message_create(
                organization=world.org,
                actor=SYSTEM,
                channel=world.public,
                type="text",
                data={"text": "answer", "alias": "Helper"},
                parent_id=str(parent.public_id),
                author=world.bob,
            )
        )

    [delivery] = fan_out(act)
    assert delivery.payload["tmid"] == str(parent.public_id)
    assert delivery.payload["alias"] == "Helper"
    assert delivery.payload["message_id"] == str(reply[0].public_id)
    assert "isEdited" not in delivery.payload


@override_settings(
    CHATADMIN={**settings.CHATADMIN, "SITE_URL": "https://chat.example.com/"},
)
def test_site_url_comes_from_the_site_url_setting(world: World) -> None:
    hook(world.org)
    [delivery] = fan_out(lambda: post(world.public, world.alice, "hi"))
    assert delivery.payload["siteUrl"] == "https://chat.example.com"


@override_settings(CSRF_TRUSTED_ORIGINS=["https://*.example.org", "https://console.example.org"])
def test_site_url_falls_back_to_the_first_trusted_origin(world: World) -> None:
    hook(world.org)
    [delivery] = fan_out(lambda: post(world.public, world.alice, "hi"))
    assert delivery.payload["siteUrl"] == "https://console.example.org"


# --- message.created -> fileUploaded ------------------------------------------------------


def test_a_file_becomes_file_uploaded_with_safe_user_room_and_message_objects(
    world: World,
) -> None:
    uploads = hook(world.org, "fileUploaded", targets=["all_private_groups"])
    texts = hook(world.org, "sendMessage", targets=["all_private_groups"])
    made: list[Message] = []

    def act() -> None:
        made.append(
            message_create_file(
                organization=world.org,
                actor=SYSTEM,
                channel=world.private,
                upload=SimpleUploadedFile("report.pdf", b"%PDF-1.4 hi", "application/pdf"),
                author=world.alice,
            )
        )

    [delivery] = fan_out(act)
    msg = made[0]
    assert delivery.integration_id == uploads.pk != texts.pk
    assert delivery.event == "fileUploaded"
    assert delivery.payload == {
        "bot": False,
        "channel_id": world.private.channel_id,
        "channel_name": "Back office",
        "message_id": str(msg.public_id),
        "timestamp": ts(msg.created_at),
        "user_id": "alice",
        "user_name": "alice",
        "text": "",
        "user": {"_id": "alice", "username": "alice", "name": "Alice", "type": "user"},
        "room": {"_id": world.private.channel_id, "name": "Back office", "t": "p"},
        "message": {
            "_id": str(msg.public_id),
            "msg": "",
            "ts": ts(msg.created_at),
            "u": {"_id": "alice", "username": "alice"},
            "file": {"name": "report.pdf", "type": "application/pdf", "size": 11},
        },
    }
    assert delivery.context == {
        "channel": world.private.pk,
        "author": world.alice.pk,
        "triggerWord": None,
    }


def test_an_image_is_file_uploaded_with_its_caption_as_text(world: World) -> None:
    hook(world.org, "fileUploaded")
    hook(world.org, "sendMessage")

    def act() -> None:
        message_create_image(
            organization=world.org,
            actor=SYSTEM,
            channel=world.public,
            upload=png(),
            caption="look",
            author=world.bob,
        )

    [delivery] = fan_out(act)
    assert delivery.event == "fileUploaded"
    assert delivery.payload["text"] == delivery.payload["message"]["msg"] == "look"
    assert delivery.payload["room"]["t"] == "c"
    assert delivery.payload["user"]["_id"] == "bob"


# --- trigger words ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "anywhere", "text", "expected"),
    [
        ([], False, "anything at all", None),
        (["!deploy", "!d"], False, "!deploy prod", "!deploy"),
        (["!d", "!deploy"], False, "!deploy prod", "!d"),  # the first word that matches
        (["!deploy"], False, "please !deploy", False),  # a prefix by default
        (["!deploy"], True, "please !deploy", "!deploy"),  # anywhere when asked
        (["!deploy"], True, "nothing here", False),
        (["deploy"], False, "Deploy now", False),  # case matters, as in Rocket.Chat
    ],
)
def test_trigger_words_match_as_rocketchat_matches_them(
    world: World, words: list[str], anywhere: bool, text: str, expected: str | bool | None
) -> None:
    hook(world.org, trigger_words=words, trigger_word_anywhere=anywhere)
    deliveries = fan_out(lambda: post(world.public, world.alice, text))
    if expected is False:
        assert deliveries == []
        return
    [delivery] = deliveries
    assert delivery.context["triggerWord"] == expected
    if expected is None:
        assert "trigger_word" not in delivery.payload
    else:
        assert delivery.payload["trigger_word"] == expected


def test_trigger_words_apply_only_to_send_message(world: World) -> None:
    edited = hook(world.org, "messageEdited", trigger_words=["!x"])
    msg = post(world.public, world.alice, "plain")
    deliveries = fan_out(
        lambda: message_text_update(
            organization=world.org, actor=SYSTEM, message=msg, text="still plain"
        )
    )
    assert [d.integration_id for d in deliveries] == [edited.pk]


# --- targets ------------------------------------------------------------------------------

CHANNELS = ("public", "private", "direct", "trio")


@pytest.mark.parametrize(
    ("targets", "fires_in"),
    [
        ([], {"public"}),  # Rocket.Chat's default: every public channel
        (["all_public_channels"], {"public"}),
        (["all_private_groups"], {"private"}),
        (["all_direct_messages"], {"direct", "trio"}),
        (["#<public>"], {"public"}),  # by channelId
        (["#Back office"], {"private"}),  # by display name
        (["@bob"], {"direct"}),  # the two-person conversation with bob
        (["@alice"], set()),  # the author's own @ never matches
        (["#<private>", "all_direct_messages"], {"private", "direct", "trio"}),
    ],
)
def test_channel_targets_choose_where_a_message_triggers(
    world: World, targets: list[str], fires_in: set[str]
) -> None:
    resolved = [
        f"#{world.channel(t[2:-1]).channel_id}" if t.startswith("#<") else t for t in targets
    ]
    integration = hook(world.org, targets=resolved)
    fired = set()
    for name in CHANNELS:
        channel = world.channel(name)
        deliveries = fan_out(lambda channel=channel: post(channel, world.alice, "hi"))
        assert all(d.integration_id == integration.pk for d in deliveries)
        if deliveries:
            fired.add(name)
            assert deliveries[0].payload["channel_id"] == channel.channel_id
    assert fired == fires_in


def test_an_at_target_fires_for_the_other_member_of_the_conversation(world: World) -> None:
    hook(world.org, targets=["@alice"])
    [delivery] = fan_out(lambda: post(world.direct, world.bob, "hi alice"))
    assert delivery.payload["user_id"] == "bob"
    assert delivery.payload["channel_name"] == world.direct.channel_id  # it has no name


# --- edits and deletes --------------------------------------------------------------------


def test_an_edit_reaches_send_message_only_with_run_on_edits_and_message_edited_always(
    world: World,
) -> None:
    on_edits = hook(world.org, run_on_edits=True)
    hook(world.org, run_on_edits=False)
    edited = hook(world.org, "messageEdited")
    msg = post(world.public, world.alice, "frist")
    deliveries = fan_out(
        lambda: message_text_update(organization=world.org, actor=SYSTEM, message=msg, text="first")
    )
    msg.refresh_from_db()
    event = last_event(EventType.MESSAGE_UPDATED)
    by_integration = {d.integration_id: d for d in deliveries}
    assert set(by_integration) == {on_edits.pk, edited.pk}
    send = by_integration[on_edits.pk]
    assert send.event == "sendMessage" and send.event_id == event.event_id
    assert send.payload == {
        "bot": False,
        "channel_id": world.public.channel_id,
        "channel_name": "Town square",
        "message_id": str(msg.public_id),
        "timestamp": ts(msg.created_at),
        "user_id": "alice",
        "user_name": "alice",
        "text": "first",
        "siteUrl": SITE,
        "isEdited": True,
    }
    change = by_integration[edited.pk]
    assert change.event == "messageEdited"
    assert change.payload == {**send.payload, "editedAt": ts(msg.edited_at)}


def test_run_on_edits_still_needs_the_trigger_word(world: World) -> None:
    hook(world.org, run_on_edits=True, trigger_words=["!go"])
    msg = post(world.public, world.alice, "wait")
    [delivery] = fan_out(
        lambda: message_text_update(organization=world.org, actor=SYSTEM, message=msg, text="!go")
    )
    assert delivery.payload["trigger_word"] == "!go" and delivery.payload["isEdited"] is True


def test_a_pin_is_no_edit(world: World) -> None:
    hook(world.org, run_on_edits=True)
    hook(world.org, "messageEdited")
    msg = post(world.public, world.alice, "pin me")
    deliveries = fan_out(
        lambda: message_updated_event(
            organization=world.org, message=msg, actor=SYSTEM, changed=["pinned"]
        )
    )
    assert deliveries == []


def test_a_delete_becomes_message_deleted_with_the_text_and_deleted_at(world: World) -> None:
    deleted = hook(world.org, "messageDeleted", targets=["all_private_groups"])
    hook(world.org, "sendMessage", targets=["all_private_groups"])
    msg = post(world.private, world.bob, "oops")
    [delivery] = fan_out(
        lambda: message_delete(organization=world.org, actor=SYSTEM, message=msg, reason="typo")
    )
    msg.refresh_from_db()
    assert delivery.integration_id == deleted.pk and delivery.event == "messageDeleted"
    assert delivery.payload == {
        "bot": False,
        "channel_id": world.private.channel_id,
        "channel_name": "Back office",
        "message_id": str(msg.public_id),
        "timestamp": ts(msg.created_at),
        "user_id": "bob",
        "user_name": "bob",
        "text": "oops",
        "siteUrl": SITE,
        "deletedAt": ts(msg.deleted_at),
    }
    assert delivery.context == {
        "channel": world.private.pk,
        "author": world.bob.pk,
        "triggerWord": None,
    }


# --- the loop guard and bots ------------------------------------------------------------


def test_a_message_an_integration_posted_never_triggers_that_integration(world: World) -> None:
    poster = hook(world.org)
    listener = hook(world.org)
    [delivery] = fan_out(
        lambda: post(world.public, world.alice, "the reply", bot={"i": str(poster.pk)})
    )
    assert delivery.integration_id == listener.pk
    assert delivery.payload["bot"] is True  # a message with data.bot is a bot's


def test_the_loop_guard_holds_for_edits_and_deletes_too(world: World) -> None:
    on_edits = hook(world.org, run_on_edits=True)
    edited = hook(world.org, "messageEdited")
    deleted = hook(world.org, "messageDeleted")

    def edit(message: Message) -> set[int]:
        deliveries = fan_out(
            lambda: message_text_update(
                organization=world.org, actor=SYSTEM, message=message, text="changed"
            )
        )
        return {d.integration_id for d in deliveries}

    def delete(message: Message) -> set[int]:
        deliveries = fan_out(
            lambda: message_delete(organization=world.org, actor=SYSTEM, message=message)
        )
        return {d.integration_id for d in deliveries}

    by_on_edits = post(world.public, world.alice, "a", bot={"i": str(on_edits.pk)})
    by_edited = post(world.public, world.alice, "b", bot={"i": str(edited.pk)})
    by_deleted = post(world.public, world.alice, "c", bot={"i": str(deleted.pk)})
    assert edit(by_on_edits) == {edited.pk}
    assert edit(by_edited) == {on_edits.pk}
    assert delete(by_deleted) == set()
    assert delete(by_edited) == {deleted.pk}


def test_an_incoming_webhooks_message_is_a_bot_message_with_its_alias(world: World) -> None:
    incoming = integration_create(
        organization=world.org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        targets=[f"#{world.public.channel_id}"],
        username="ci.bot",
        alias="CI",
    ).integration
    hook(world.org)
    [delivery] = fan_out(
        lambda: incoming_post(integration=incoming, message=IncomingMessage(text="build green"))
    )
    assert delivery.payload["bot"] is True
    assert delivery.payload["alias"] == "CI"
    assert delivery.payload["user_id"] == "ci.bot"


# --- which integrations -----------------------------------------------------------------


def test_disabled_integrations_and_other_events_are_skipped(world: World) -> None:
    disabled = hook(world.org)
    integration_update(actor=SYSTEM, integration=disabled, enabled=False)
    hook(world.org, "roomJoined")
    assert fan_out(lambda: post(world.public, world.alice, "hi")) == []


def test_another_organizations_integrations_are_never_triggered(
    world: World, other_org: Organization
) -> None:
    hook(other_org, targets=["all_public_channels"])
    hook(other_org, "userCreated")
    outsider = make_member(other_org, user_id="mallory")
    theirs = conversation(other_org, "Their square", "public", [outsider])
    ours = hook(world.org)
    deliveries = fan_out(lambda: post(world.public, world.alice, "hi"))
    assert [d.integration_id for d in deliveries] == [ours.pk]
    assert {d.organization_id for d in deliveries} == {world.org.pk}
    their_deliveries = fan_out(lambda: post(theirs, outsider, "hi"))
    assert all(d.organization_id == other_org.pk for d in their_deliveries)
    assert ours.pk not in {d.integration_id for d in their_deliveries}


def test_messaging_api_outgoing_webhooks_run_by_command_only(world: World) -> None:
    bot = make_member(world.org, user_id="ci.bot", is_bot=True)
    integration_create(
        organization=world.org,
        actor=SYSTEM,
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.OUTGOING,
        channel=world.public,
        bot=bot,
        trigger_words=["deploy"],
        urls=[URL],
    )
    assert fan_out(lambda: post(world.public, world.alice, "deploy now")) == []


def test_messages_of_a_channel_closed_before_the_dispatch_are_skipped(world: World) -> None:
    hook(world.org)

    def act() -> None:
        post(world.public, world.alice, "last words")
        channel_close(channel=world.public, actor=SYSTEM, reason="spam")

    assert fan_out(act) == []


# --- room and user events -----------------------------------------------------------------


def test_joining_users_become_one_room_joined_delivery_each_with_their_own_event_id(
    world: World,
) -> None:
    helper = make_member(world.org, user_id="helper.bot", display_name="Helper", is_bot=True)
    integration = hook(world.org, "roomJoined", targets=[f"#{world.public.channel_id}"])
    hook(world.org, "roomJoined", targets=["all_private_groups"])
    deliveries = fan_out(
        lambda: channel_users_add(
            channel=world.public, actor=SYSTEM, user_ids=["carol", "helper.bot", "newcomer"]
        )
    )
    event = last_event(EventType.MEMBER_JOINED)
    assert [d.integration_id for d in deliveries] == [integration.pk] * 3
    by_user = {d.payload["user_id"]: d for d in deliveries}
    assert set(by_user) == {"carol", "helper.bot", "newcomer"}
    for user_id, delivery in by_user.items():
        assert delivery.event == "roomJoined"
        assert delivery.event_id == uuid.uuid5(event.event_id, user_id)
        assert delivery.webhook_id == webhook_id(integration.pk, delivery.event_id, URL)
        assert TIMESTAMP.match(delivery.payload["timestamp"])
    carol = by_user["carol"]
    assert carol.payload == {
        "bot": False,
        "timestamp": event.payload["joinedAt"][:23] + "Z",
        "channel_id": world.public.channel_id,
        "channel_name": "Town square",
        "user_id": "carol",
        "user_name": "carol",
        "user": {"_id": "carol", "username": "carol", "name": "Carol", "type": "user"},
        "room": {"_id": world.public.channel_id, "name": "Town square", "t": "c"},
    }
    assert carol.context == {
        "channel": world.public.pk,
        "author": world.carol.pk,
        "triggerWord": None,
    }
    assert by_user["helper.bot"].payload["bot"] is True
    assert by_user["helper.bot"].payload["user"]["type"] == "bot"
    assert by_user["helper.bot"].context["author"] == helper.pk
    # delivered again: the same three, nothing new
    redispatch(event)
    assert Delivery.objects.filter(event="roomJoined").count() == 3


def test_leaving_users_become_one_room_left_delivery_each(world: World) -> None:
    integration = hook(world.org, "roomLeft", targets=["all_private_groups"])
    deliveries = fan_out(
        lambda: channel_users_remove(channel=world.private, actor=SYSTEM, user_ids=["alice", "bob"])
    )
    assert sorted(d.payload["user_id"] for d in deliveries) == ["alice", "bob"]
    assert {d.integration_id for d in deliveries} == {integration.pk}
    assert {d.event for d in deliveries} == {"roomLeft"}
    assert all(d.payload["room"]["t"] == "p" for d in deliveries)


def test_an_at_target_sees_its_member_leave_the_conversation(world: World) -> None:
    hook(world.org, "roomLeft", targets=["@bob"])
    [delivery] = fan_out(
        lambda: channel_users_remove(channel=world.direct, actor=SYSTEM, user_ids=["bob"])
    )
    assert delivery.payload["user_id"] == "bob" and delivery.payload["room"]["t"] == "d"


def test_an_archive_becomes_room_archived_for_every_channel_with_the_member_who_did_it(
    world: World,
) -> None:
    # Rocket.Chat's roomArchived uses no channel: the targets do not narrow it
    integration = hook(world.org, "roomArchived", targets=[f"#{world.public.channel_id}"])
    [delivery] = fan_out(
        lambda: channel_archive(channel=world.private, actor=Actor.for_member(world.alice))
    )
    world.private.refresh_from_db()
    assert delivery.integration_id == integration.pk and delivery.event == "roomArchived"
    assert delivery.payload == {
        "bot": False,
        "timestamp": ts(world.private.archived_at),
        "channel_id": world.private.channel_id,
        "channel_name": "Back office",
        "user_id": "alice",
        "user_name": "alice",
        "user": {"_id": "alice", "username": "alice", "name": "Alice", "type": "user"},
        "room": {"_id": world.private.channel_id, "name": "Back office", "t": "p"},
    }
    assert delivery.context == {
        "channel": world.private.pk,
        "author": world.alice.pk,
        "triggerWord": None,
    }


def test_an_archive_by_the_system_has_no_user(world: World) -> None:
    hook(world.org, "roomArchived")
    [delivery] = fan_out(lambda: channel_archive(channel=world.public, actor=SYSTEM))
    assert "user" not in delivery.payload and "user_id" not in delivery.payload
    assert delivery.context["author"] is None


def test_a_new_channel_becomes_room_created_with_its_owner(world: World) -> None:
    integration = hook(world.org, "roomCreated")
    made: list[Channel] = []
    deliveries = fan_out(
        lambda: made.append(
            conversation(world.org, "Launch", "private", [world.carol], owners=[world.carol])
        )
    )
    [delivery] = deliveries
    channel = made[0]
    assert delivery.integration_id == integration.pk and delivery.event == "roomCreated"
    assert delivery.payload == {
        "bot": False,
        "channel_id": channel.channel_id,
        "channel_name": "Launch",
        "timestamp": ts(channel.last_activity_at),
        "user_id": "carol",
        "user_name": "carol",
        "owner": {"_id": "carol", "username": "carol", "name": "Carol", "type": "user"},
        "room": {"_id": channel.channel_id, "name": "Launch", "t": "p"},
    }
    assert delivery.context == {
        "channel": channel.pk,
        "author": world.carol.pk,
        "triggerWord": None,
    }


def test_a_channel_made_by_the_system_has_no_owner(world: World) -> None:
    hook(world.org, "roomCreated")
    [delivery] = fan_out(
        lambda: channel_create(organization=world.org, actor=SYSTEM, channel_id="ops")
    )
    assert "owner" not in delivery.payload and delivery.payload["channel_id"] == "ops"
    assert delivery.payload["room"] == {"_id": "ops", "name": "ops", "t": "p"}


def test_new_members_become_one_user_created_delivery_each(world: World) -> None:
    integration = hook(world.org, "userCreated", urls=[URL, OTHER_URL])
    deliveries = fan_out(
        lambda: members_provision(
            organization=world.org,
            rows=[
                Member(user_id="newbie", display_name="Newbie"),
                Member(user_id="robot", display_name="Robot", is_bot=True),
            ],
            actor=SYSTEM,
        )
    )
    assert len(deliveries) == 4  # two users, two URLs
    by_user: dict[str, list[Delivery]] = {}
    for delivery in deliveries:
        by_user.setdefault(delivery.payload["user_id"], []).append(delivery)
    newbie = Member.objects.get(organization=world.org, user_id="newbie")
    [first, second] = by_user["newbie"]
    assert first.event_id == second.event_id
    assert first.payload == {
        "bot": False,
        "timestamp": ts(newbie.created_at),
        "user_id": "newbie",
        "user_name": "newbie",
        "user": {"_id": "newbie", "username": "newbie", "name": "Newbie", "type": "user"},
    }
    assert first.context == {"channel": None, "author": newbie.pk, "triggerWord": None}
    assert by_user["robot"][0].payload["bot"] is True
    assert by_user["robot"][0].event_id != first.event_id
    assert {d.integration_id for d in deliveries} == {integration.pk}


# --- secrets ------------------------------------------------------------------------------


def test_no_payload_or_context_carries_a_secret(world: World) -> None:
    secrets: list[str] = []
    for event in (
        "sendMessage",
        "fileUploaded",
        "messageEdited",
        "messageDeleted",
        "roomJoined",
        "roomLeft",
        "roomArchived",
        "roomCreated",
        "userCreated",
    ):
        issued = issue(world.org, event, targets=["all_public_channels"], run_on_edits=True)
        secrets += [issued.integration.outgoing_token, issued.signing_secret or ""]
    secrets.append(member_session_issue(actor=SYSTEM, member=world.alice).token)
    incoming = integration_create(
        organization=world.org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        targets=[f"#{world.public.channel_id}"],
        username="ci.bot",
    )
    secrets.append(incoming.token or "")

    def act() -> None:
        msg = post(world.public, world.alice, "hello")
        message_text_update(organization=world.org, actor=SYSTEM, message=msg, text="hello!")
        message_delete(organization=world.org, actor=SYSTEM, message=msg)
        incoming_post(integration=incoming.integration, message=IncomingMessage(text="ci"))
        message_create_file(
            organization=world.org,
            actor=SYSTEM,
            channel=world.public,
            upload=SimpleUploadedFile("a.txt", b"abc", "text/plain"),
            author=world.bob,
        )
        channel_users_add(channel=world.public, actor=SYSTEM, user_ids=["carol", "dave"])
        channel_users_remove(channel=world.public, actor=SYSTEM, user_ids=["dave"])
        conversation(world.org, "New", "public", [world.alice], owners=[world.alice])
        channel_archive(channel=world.public, actor=Actor.for_member(world.alice))

    deliveries = fan_out(act)
    assert {d.event for d in deliveries} == {
        "sendMessage",
        "fileUploaded",
        "messageEdited",
        "messageDeleted",
        "roomJoined",
        "roomLeft",
        "roomArchived",
        "roomCreated",
        "userCreated",
    }
    assert all(s for s in secrets)
    for delivery in deliveries:
        text = json.dumps([delivery.payload, delivery.context])
        for secret in secrets:
            assert secret not in text
        keys = set(_keys(delivery.payload))
        assert not keys & {"token", "password", "email", "emails", "services", "signing_secret"}


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in [key, *_keys(item)]]
    if isinstance(value, list):
        return [k for item in value for k in _keys(item)]
    return []


# --- the cost -----------------------------------------------------------------------------


def test_fanning_out_to_ten_integrations_costs_what_one_costs(
    world: World, django_assert_max_num_queries: Any
) -> None:
    def targets() -> list[str]:
        return [f"#{world.direct.channel_id}", "@bob", "all_direct_messages", "#Back office"]

    hook(world.org, targets=targets(), trigger_words=["!a", "hi"], urls=[URL, OTHER_URL])
    post(world.direct, world.alice, "hi one")
    one_event = last_event(EventType.MESSAGE_CREATED)
    with CaptureQueriesContext(connection) as one:
        on_event(one_event)
    for _ in range(9):
        hook(world.org, targets=targets(), trigger_words=["!a", "hi"], urls=[URL, OTHER_URL])
    post(world.direct, world.alice, "hi ten")
    ten_event = last_event(EventType.MESSAGE_CREATED)
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as ten:
        on_event(ten_event)
    assert len(ten.captured_queries) == len(one.captured_queries)
    assert Delivery.objects.filter(event_id=ten_event.event_id).count() == 20


def test_an_event_nobody_listens_to_costs_one_query(
    world: World, django_assert_num_queries: Any
) -> None:
    hook(world.org, "roomJoined")
    post(world.public, world.alice, "quiet")
    event = last_event(EventType.MESSAGE_CREATED)
    with django_assert_num_queries(1):
        on_event(event)


def test_a_malformed_payload_is_skipped_not_raised(world: World) -> None:
    hook(world.org)
    for payload in ({}, {"channelId": 5, "messageId": None}, {"channelId": "nope"}):
        event = Event.objects.create(
            organization=world.org, type=EventType.MESSAGE_CREATED, payload=payload
        )
        on_event(event)
    for type in (EventType.MESSAGE_UPDATED, EventType.MEMBER_JOINED, EventType.USER_CREATED):
        on_event(Event.objects.create(organization=world.org, type=type, payload={}))
    assert not Delivery.objects.exists()


# --- the test event -----------------------------------------------------------------------


def test_a_test_event_sends_a_sample_send_message_from_the_bot_and_is_audited(
    world: World,
) -> None:
    integration = hook(
        world.org,
        targets=[f"#{world.public.channel_id}"],
        urls=[URL, OTHER_URL],
        username="hook.bot",
    )
    delivery = delivery_test_send(actor=SYSTEM, integration=integration)
    assert Delivery.objects.filter(integration=integration, event="test").count() == 2
    assert delivery.event == "test" and delivery.status == Delivery.Status.PENDING
    bot = Member.objects.get(organization=world.org, user_id="hook.bot")
    payload = delivery.payload
    assert payload["text"] == TEST_TEXT
    assert payload["user_id"] == payload["user_name"] == "hook.bot"
    assert payload["channel_id"] == world.public.channel_id
    assert payload["channel_name"] == "Town square"
    assert payload["bot"] is False and payload["siteUrl"] == SITE
    assert TIMESTAMP.match(payload["timestamp"])
    assert "token" not in payload and integration.outgoing_token not in json.dumps(payload)
    assert delivery.context == {"channel": world.public.pk, "author": bot.pk, "triggerWord": None}
    entry = AuditEntry.objects.get(action="integration.test")
    assert entry.target_id == str(integration.pk)
    # a second test is a new event
    again = delivery_test_send(actor=SYSTEM, integration=integration)
    assert again.event_id != delivery.event_id


def test_a_messaging_webhooks_test_event_is_its_text_body(world: World) -> None:
    bot = make_member(world.org, user_id="ci.bot", is_bot=True)
    integration = integration_create(
        organization=world.org,
        actor=SYSTEM,
        flavor=Integration.Flavor.MESSAGING,
        direction=Integration.Direction.OUTGOING,
        channel=world.public,
        bot=bot,
        trigger_words=["deploy"],
        urls=[URL],
    ).integration
    delivery = delivery_test_send(actor=SYSTEM, integration=integration)
    assert delivery.payload == {"text": TEST_TEXT}
    assert delivery.context["channel"] == world.public.pk


def test_a_test_event_is_refused_for_incoming_and_disabled_integrations_and_unmanaging_members(
    world: World,
) -> None:
    incoming = integration_create(
        organization=world.org,
        actor=SYSTEM,
        flavor=Integration.Flavor.ROCKETCHAT,
        direction=Integration.Direction.INCOMING,
        targets=[f"#{world.public.channel_id}"],
        username="ci.bot",
    ).integration
    with pytest.raises(DomainError) as exc:
        delivery_test_send(actor=SYSTEM, integration=incoming)
    assert exc.value.code == "invalid_parameter"
    disabled = hook(world.org)
    disabled = integration_update(actor=SYSTEM, integration=disabled, enabled=False)
    with pytest.raises(DomainError) as exc:
        delivery_test_send(actor=SYSTEM, integration=disabled)
    assert exc.value.code == "integration_disabled"
    enabled = hook(world.org)
    with pytest.raises(DomainError) as exc:
        delivery_test_send(actor=Actor.for_member(world.bob), integration=enabled)
    assert exc.value.code == "forbidden"
    assert not Delivery.objects.exists()
    assert not AuditEntry.objects.filter(action="integration.test").exists()


# --- the URL check at create and update ----------------------------------------------------

HOSTILE = ["http://127.0.0.1/hook", "http://[::1]/", "http://169.254.169.254/"]
WHY = ["loopback", "loopback", "link-local"]


@pytest.mark.parametrize(("url", "why"), list(zip(HOSTILE, WHY, strict=True)))
def test_a_url_aimed_at_this_servers_neighbours_is_refused_at_create(
    org: Organization, url: str, why: str
) -> None:
    with pytest.raises(DomainError) as exc:
        hook(org, urls=[url])
    assert exc.value.code == "url_not_allowed" and exc.value.field == "urls"
    assert why in exc.value.message and "public address" in exc.value.message
    assert not Integration.objects.exists()


@pytest.mark.parametrize("url", HOSTILE)
def test_a_hostile_url_is_refused_at_update_too(org: Organization, url: str) -> None:
    integration = hook(org)
    with pytest.raises(DomainError) as exc:
        integration_update(actor=SYSTEM, integration=integration, urls=[URL, url])
    assert exc.value.code == "url_not_allowed"
    integration.refresh_from_db()
    assert integration.urls == [URL]


@pytest.mark.parametrize("url", HOSTILE)
def test_the_allowlist_lets_a_private_url_in(org: Organization, url: str) -> None:
    allow = ["127.0.0.1/32", "::1/128", "169.254.169.254/32"]
    with override_settings(CHATADMIN={**settings.CHATADMIN, "WEBHOOK_ALLOWLIST": allow}):
        integration = hook(org, urls=[url])
    assert integration.urls == [url]


def test_a_name_that_does_not_resolve_yet_is_accepted(org: Organization) -> None:
    integration = hook(org, urls=["https://not-yet.invalid/hook"])
    assert integration.urls == ["https://not-yet.invalid/hook"]


def test_a_non_http_url_is_still_invalid_urls(org: Organization) -> None:
    with pytest.raises(DomainError) as exc:
        hook(org, urls=["ftp://files.example/x"])
    assert exc.value.code == "invalid_urls"


def test_rocketchat_answers_a_refused_url_with_error_invalid_urls(org: Organization) -> None:
    from tests.rocketchat.conftest import rocket_client

    rc = rocket_client(org, "admin@acme.test")
    response = rc.call(
        "post",
        "integrations.create",
        {
            "type": "webhook-outgoing",
            "name": "Metadata",
            "enabled": True,
            "event": "sendMessage",
            "username": "rocket.cat",
            "urls": ["http://169.254.169.254/latest/meta-data/"],
            "scriptEnabled": False,
        },
    )
    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False and body["errorType"] == "error-invalid-urls"
    assert not Integration.objects.exists()


def test_rocketchat_accepts_the_new_message_events(org: Organization) -> None:
    from tests.rocketchat.conftest import rocket_client

    rc = rocket_client(org, "admin@acme.test")
    for event in ("messageEdited", "messageDeleted"):
        response = rc.call(
            "post",
            "integrations.create",
            {
                "type": "webhook-outgoing",
                "name": event,
                "enabled": True,
                "event": event,
                "username": "rocket.cat",
                "urls": [URL],
                "scriptEnabled": False,
            },
        )
        assert response.status_code == 200, response.content
        assert response.json()["integration"]["event"] == event
