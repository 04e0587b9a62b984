"""The messaging API's message shape (apps.messaging.messages.shapes): what a member sees,
and a page rendered in a fixed number of queries however many messages it has."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.selectors.conversation import messages_for_render
from apps.messages.services.bookmarks import message_bookmark
from apps.messages.services.messages import message_create_file, message_create_image
from apps.messages.services.pins import message_pin
from apps.messages.services.reactions import reaction_create
from apps.messaging.messages.shapes import mentions_in, render_message, render_messages
from tests.builders import image_bytes
from tests.personas import make_member

from .message_scenes import make_channel, posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(org, alice: Member, bob: Member) -> Channel:
    return make_channel(org, alice, bob, owner=bob)


def busy_page(channel: Channel, alice: Member, bob: Member, n: int) -> list[int]:
    """``n`` messages, each with replies, reactions, a bookmark, a pin; files and images
    among them: everything rendering reads."""
    pks = []
    for i in range(n):
        if i % 5 == 3:
            message = message_create_file(
                organization=channel.organization,
                actor=Actor.for_member(alice),
                channel=channel,
                upload=SimpleUploadedFile(f"f{i}.txt", b"data", content_type="text/plain"),
                author=alice,
            )
        elif i % 5 == 4:
            message = message_create_image(
                organization=channel.organization,
                actor=Actor.for_member(alice),
                channel=channel,
                upload=SimpleUploadedFile("i.png", image_bytes("PNG"), content_type="image/png"),
                author=alice,
            )
        else:
            message = posted(channel, alice, f"hi <@{bob.pk}> #{i}")
            posted(channel, bob, "reply", parent=message)
        for member in (alice, bob):
            reaction_create(
                organization=channel.organization,
                actor=Actor.for_member(member),
                message=message,
                reaction_name="tada",
                member=member,
            )
        message_bookmark(member=bob, message=message)
        if i % 2:
            message_pin(
                organization=channel.organization,
                actor=Actor.for_member(bob),
                member=bob,
                message=message,
            )
        pks.append(message.pk)
    return pks


def queries_to_render(org: Any, member: Member, pks: list[int]) -> int:
    fresh = Member.objects.get(pk=member.pk)  # no cached rules
    with CaptureQueriesContext(connection) as captured:
        render_messages(messages_for_render(organization=org, message_pks=pks), member=fresh)
    return len(captured.captured_queries)


def test_a_page_costs_the_same_queries_for_5_or_30_messages(
    org, alice: Member, bob: Member, channel: Channel, django_assert_num_queries
) -> None:
    small = busy_page(channel, alice, bob, 5)
    large = busy_page(channel, alice, bob, 30)
    # messages + files (2), reactions, bookmarks and repliers in one statement, channel
    # ownership (2); the member has no roles, so no rules are read
    viewer = Member.objects.get(pk=bob.pk)
    with django_assert_num_queries(4):
        render_messages(messages_for_render(organization=org, message_pks=small), member=viewer)
    assert queries_to_render(org, bob, small) == queries_to_render(org, bob, large) == 4


def test_messages_loaded_elsewhere_are_completed_in_bounded_queries(
    org, alice: Member, bob: Member, channel: Channel
) -> None:
    pks = busy_page(channel, alice, bob, 10)
    other = make_channel(org, alice, channel_id="other")
    pks.append(posted(other, alice, "elsewhere").pk)
    plain = list(Message.objects.filter(pk__in=pks).order_by("pk"))  # no joins, no prefetch
    with CaptureQueriesContext(connection) as captured:
        rendered = render_messages(plain, member=bob)
    # channels, files, reactions + bookmarks + repliers (one statement), ownership
    assert len(captured.captured_queries) == 4
    assert {r["channelID"] for r in rendered} == {str(channel.pk), str(other.pk)}


def test_the_shape_is_what_the_member_sees(
    org, alice: Member, bob: Member, channel: Channel
) -> None:
    message = posted(channel, alice, f"hello <@{bob.pk} Bob>")
    posted(channel, bob, "hi", parent=message)
    posted(channel, bob, "again", parent=message)
    carol = make_member(org, user_id="carol")
    message_bookmark(member=bob, message=message)
    loaded = messages_for_render(organization=org, message_pks=[message.pk])[0]

    as_bob = render_message(loaded, member=bob)
    as_carol = render_message(loaded, member=carol)
    as_alice = render_message(loaded, member=alice)

    assert as_bob["replies"] == 2 and as_bob["repliesFrom"] == [str(bob.pk)]
    assert as_bob["mentions"] == [str(bob.pk)]
    assert as_bob["isBookmarked"] is True and as_carol["isBookmarked"] is False
    assert as_alice["canEdit"] and as_alice["canDelete"]  # her own
    assert not as_bob["canEdit"] and as_bob["canDelete"]  # the channel's owner
    assert not as_carol["canEdit"] and not as_carol["canDelete"]
    assert as_carol["canReply"]
    assert list(as_bob) == [
        "messageID",
        "type",
        "message",
        "channelID",
        "userID",
        "replyTo",
        "replies",
        "repliesFrom",
        "att",
        "mentions",
        "reactions",
        "isBookmarked",
        "isPinned",
        "canReply",
        "canEdit",
        "canDelete",
        "createdAt",
        "updatedAt",
        "deletedAt",
    ]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("<@1> <@22 Name> <@1>", ["1", "22"]),
        ("<@007>", ["7"]),
        ("<@x> <@> @3 <@ 4>", []),
        ("<@12345678901234567890>", []),
    ],
)
def test_mentions_are_corteza_markup(text: str, ids: list[str]) -> None:
    assert mentions_in(text) == ids
