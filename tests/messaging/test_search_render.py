"""The messaging API's search lists read reactions, the member's bookmarks and the repliers
in the page's own statement (``with_render_context``); the JSON is what rendering the
same messages loaded elsewhere gives (``messages_for_render`` + ``render_messages``, their
values read in one more statement), field for field, for messages with every field set,
and the three folded fields are what the rows say."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Bookmark, Message, Reaction
from apps.messages.selectors.conversation import messages_for_render
from apps.messages.services.messages import message_create_file, message_create_image
from apps.messaging.messages.shapes import render_messages
from apps.organizations.models import Organization
from tests.builders import image_bytes
from tests.personas import MessagingClient, make_member

from .message_scenes import make_channel, posted

pytestmark = pytest.mark.django_db

MESSAGES = "/api/messaging/search/messages"
THREADS = "/api/messaging/search/threads"


def _react(message: Message, member: Member, name: str) -> None:
    Reaction.objects.create(
        organization=message.organization, message=message, member=member, name=name
    )


@pytest.fixture
def carol(org: Organization) -> Member:
    return make_member(org, user_id="carol")


@pytest.fixture
def channel(org: Organization, alice: Member, bob: Member, carol: Member) -> Channel:
    return make_channel(org, alice, bob, carol, owner=bob)


@pytest.fixture
def scene(
    org: Organization, channel: Channel, alice: Member, bob: Member, carol: Member
) -> list[Message]:
    """Top-level messages with every field set: mentions, replies by several members
    (one deleted, one hidden, a second by the first replier), reactions of several names
    in an order unlike their names', a bookmark of alice's and one of bob's, a pin, an
    edit, a file and an image."""
    actor = Actor.for_member(alice)
    root = posted(channel, alice, f"hello <@{bob.pk} Bob> and <@{carol.pk}>")
    for author in (bob, carol, bob, alice):
        posted(channel, author, f"re {author.user_id}", parent=root)
    gone, hidden = posted(channel, carol, "gone", parent=root), posted(channel, bob, "x", root)
    Message.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    Message.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now())
    file = message_create_file(
        organization=org,
        actor=actor,
        channel=channel,
        upload=SimpleUploadedFile("notes.txt", b"data", content_type="text/plain"),
        author=alice,
    )
    image = message_create_image(
        organization=org,
        actor=actor,
        channel=channel,
        upload=SimpleUploadedFile("i.png", image_bytes("PNG"), content_type="image/png"),
        author=bob,
    )
    plain = posted(channel, bob, "plain")
    for message, reactions in (
        (root, [(bob, "zeta"), (alice, "+1"), (carol, "zeta"), (alice, "zeta"), (bob, "+1")]),
        (file, [(carol, "éclair"), (alice, "Ärger")]),
        (image, [(alice, "alpha")]),
    ):
        for member, name in reactions:
            _react(message, member, name)
    for member, message in ((alice, root), (alice, image), (bob, file)):
        Bookmark.objects.create(organization=org, member=member, message=message)
    now = timezone.now()
    Message.objects.filter(pk=root.pk).update(
        pinned_at=now, edited_at=now + timedelta(seconds=1), children_count=6
    )
    return [root, file, image, plain]


def _json(value: Any) -> bytes:
    return JSONRenderer().render(value)


def _elsewhere(org: Organization, member: Member, rendered: list[dict[str, Any]]) -> bytes:
    """The same messages loaded without the folded values, rendered for ``member``."""
    pks = [int(m["messageID"]) for m in rendered]
    viewer = Member.objects.get(pk=member.pk)
    return _json(
        render_messages(messages_for_render(organization=org, message_pks=pks), member=viewer)
    )


def _from_rows(message_pk: int, member: Member) -> tuple[list[Any], list[str], bool]:
    """reactions, repliesFrom and isBookmarked of a message, read from the rows here."""
    names: dict[str, list[str]] = {}
    for name, member_pk in (
        Reaction.objects.filter(message_id=message_pk)
        .order_by("pk")
        .values_list("name", "member_id")
    ):
        names.setdefault(name, []).append(str(member_pk))
    reactions = [{"reaction": n, "userIDs": pks, "count": len(pks)} for n, pks in names.items()]
    repliers = Message.objects.filter(
        parent_id=message_pk, deleted_at__isnull=True, hidden_at__isnull=True
    ).order_by("pk")
    return (
        reactions,
        list(dict.fromkeys(str(pk) for pk in repliers.values_list("author_id", flat=True))),
        Bookmark.objects.filter(member=member, message_id=message_pk).exists(),
    )


@pytest.mark.parametrize("viewer", ["alice", "bob"])
@pytest.mark.parametrize(
    "url,params",
    [(MESSAGES, {}), (MESSAGES, {"thread": True}), (THREADS, {})],
    ids=["messages", "thread", "threads"],
)
def test_the_folded_lists_render_what_messages_loaded_elsewhere_render(
    org: Organization,
    scene: list[Message],
    alice: Member,
    bob: Member,
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    url: str,
    params: dict[str, Any],
    viewer: str,
) -> None:
    member, client = (alice, as_alice) if viewer == "alice" else (bob, as_bob)
    query = {"threadID": scene[0].pk} if params.get("thread") else {}
    response = client.get(url, query)
    assert response.status_code == 200, response.content
    rendered = response.json()["response"]

    assert len(rendered) == (5 if url == THREADS else 4)  # 4 live replies, or 4 top-level
    assert _json(rendered) == _elsewhere(org, member, rendered)
    for message in rendered:
        reactions, repliers, bookmarked = _from_rows(int(message["messageID"]), member)
        assert message["reactions"] == reactions
        assert message["repliesFrom"] == (repliers if message["replyTo"] is None else [])
        assert message["isBookmarked"] is bookmarked
    if not query:
        root = next(m for m in rendered if m["messageID"] == str(scene[0].pk))
        assert [r["reaction"] for r in root["reactions"]] == ["zeta", "+1"]
        carol = Member.objects.get(organization=org, user_id="carol")
        assert root["repliesFrom"] == [str(bob.pk), str(carol.pk), str(alice.pk)]
        assert root["isPinned"] and root["updatedAt"] and len(root["mentions"]) == 2
    if url == MESSAGES and not query:  # the file and the image
        assert {m["att"] is not None for m in rendered} == {True, False}


def test_the_page_reads_the_folded_values_in_its_own_statement(
    scene: list[Message], as_alice: MessagingClient
) -> None:
    as_alice.get(MESSAGES, {"limit": 1})  # the session's last-use stamp, once a minute
    with CaptureQueriesContext(connection) as captured:
        response = as_alice.get(MESSAGES)
    assert response.status_code == 200
    tables = ["chat_messages_reaction", "chat_messages_bookmark"]
    reading = [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in tables)]
    assert len(reading) == 1 and reading[0].startswith('SELECT "chat_messages_message"'), reading
    assert json.loads(response.content)["response"]
