"""Messaging API: mark-as-read, and unread counts kept exact as data across posts,
deletes and marks (never a COUNT over the channel per request)."""

from __future__ import annotations

import pytest

from apps.channels.models import Channel, Membership
from apps.members.models import Member
from apps.messages.models import ThreadRead
from tests.personas import MessagingClient, make_member, session_client

from .message_scenes import (
    error,
    live_unread,
    make_channel,
    mark_url,
    message_url,
    post,
    posted,
    unread,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(org, alice: Member, bob: Member) -> Channel:
    return make_channel(org, alice, bob)


def assert_exact(channel: Channel, *members: Member) -> None:
    for member in members:
        assert unread(channel, member) == live_unread(channel, member), member.user_id


def test_unread_counts_stay_exact_across_posts_deletes_and_marks(
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    alice: Member,
    bob: Member,
    channel: Channel,
) -> None:
    ids = [int(post(as_alice, channel, f"m{i}").json()["response"]["messageID"]) for i in range(3)]
    assert unread(channel, alice) == 0  # one's own messages are never unread
    assert unread(channel, bob) == 3
    assert_exact(channel, alice, bob)

    response = as_bob.get(mark_url(channel))
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "response": {
            "channelID": str(channel.pk),
            "threadID": None,
            "count": 0,
            "lastMessageID": str(ids[-1]),
        }
    }
    assert unread(channel, bob) == 0

    ids += [int(post(as_alice, channel, f"m{i}").json()["response"]["messageID"]) for i in (3, 4)]
    assert unread(channel, bob) == 2
    response = as_bob.get(mark_url(channel), {"lastReadMessageID": str(ids[3])})
    assert response.json()["response"]["count"] == 1
    assert_exact(channel, alice, bob)

    # a message bob had read goes: still exactly one unread; then the unread one goes
    as_alice.delete(message_url(channel, ids[1]))
    assert unread(channel, bob) == 1
    as_alice.delete(message_url(channel, ids[4]))
    assert unread(channel, bob) == 0
    assert_exact(channel, alice, bob)

    # marking an earlier message makes the newer ones unread again
    response = as_bob.get(mark_url(channel), {"lastReadMessageID": ids[0]})
    assert response.json()["response"] == {
        "channelID": str(channel.pk),
        "threadID": None,
        "count": 2,  # ids[2] and ids[3]; ids[1] and ids[4] are deleted
        "lastMessageID": str(ids[0]),
    }
    assert_exact(channel, alice, bob)

    # bob posting reads the channel up to his own message
    post(as_bob, channel, "caught up")
    assert unread(channel, bob) == 0
    assert unread(channel, alice) == 1
    assert_exact(channel, alice, bob)


def test_the_thread_of_a_message_has_its_own_unread_count(
    as_alice: MessagingClient,
    as_bob: MessagingClient,
    alice: Member,
    bob: Member,
    channel: Channel,
) -> None:
    parent = posted(channel, alice, "question")
    for text in ("a", "b"):
        as_bob.post(message_url(channel, parent, "/replies"), {"message": text}, format="json")
    parent.refresh_from_db()
    assert parent.children_count == 2
    bobs = ThreadRead.objects.get(member=bob, thread=parent)
    assert parent.children_count - bobs.read_count == 0  # his own replies

    response = as_alice.get(mark_url(channel), {"threadID": parent.pk})
    assert response.status_code == 200
    body = response.json()["response"]
    assert body["threadID"] == str(parent.pk) and body["count"] == 0
    alices = ThreadRead.objects.get(member=alice, thread=parent)
    assert alices.read_count == 2 and str(alices.last_read_message_pk) == body["lastMessageID"]

    first = parent.children.order_by("pk").first()
    response = as_alice.get(
        mark_url(channel), {"threadID": parent.pk, "lastReadMessageID": first.pk}
    )
    assert response.json()["response"]["count"] == 1

    # a reply deleted after alice read it: her thread count stays exact
    as_bob.delete(message_url(channel, first))
    parent.refresh_from_db()
    alices.refresh_from_db()
    assert parent.children_count - alices.read_count == 1


def test_the_parameters_may_come_in_a_post_or_put_body(
    as_alice: MessagingClient, as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    first, second = posted(channel, alice), posted(channel, alice)
    response = as_bob.post(mark_url(channel), {"lastReadMessageID": str(first.pk)}, format="json")
    assert response.status_code == 200 and response.json()["response"]["count"] == 1
    response = as_bob.put(mark_url(channel), {"lastReadMessageID": second.pk}, format="json")
    assert response.json()["response"]["count"] == 0


@pytest.mark.parametrize("none", ["", "0", 0])
def test_zero_or_empty_ids_mean_none_as_in_corteza(
    as_bob: MessagingClient, alice: Member, channel: Channel, none
) -> None:
    posted(channel, alice)
    response = as_bob.post(
        mark_url(channel), {"threadID": none, "lastReadMessageID": none}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["response"]["count"] == 0


@pytest.mark.parametrize(
    "params", [{"threadID": "abc"}, {"lastReadMessageID": "-1"}, {"lastReadMessageID": "1.5"}]
)
def test_malformed_ids_are_400(as_bob: MessagingClient, channel: Channel, params) -> None:
    response = as_bob.get(mark_url(channel), params)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["field"] == next(iter(params))


def test_a_thread_is_named_by_its_first_message(
    as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    parent = posted(channel, alice)
    reply = posted(channel, alice, parent=parent)
    response = as_bob.get(mark_url(channel), {"threadID": reply.pk})
    assert response.status_code == 400
    assert error(response)["field"] == "threadID"


def test_unknown_or_foreign_messages_are_404(
    org,
    other_org,
    outsider: Member,
    as_bob: MessagingClient,
    alice: Member,
    channel: Channel,
) -> None:
    parent = posted(channel, alice)
    elsewhere = make_channel(org, alice, channel_id="elsewhere")
    there = posted(elsewhere, alice)
    theirs = posted(make_channel(other_org, outsider, channel_id="theirs"), outsider)
    cases = [
        ({"threadID": 999999}, "threadID"),
        ({"threadID": theirs.pk}, "threadID"),
        ({"lastReadMessageID": theirs.pk}, "lastReadMessageID"),
        ({"lastReadMessageID": there.pk}, "lastReadMessageID"),
        ({"threadID": parent.pk, "lastReadMessageID": parent.pk}, "lastReadMessageID"),
    ]
    for params, field in cases:
        response = as_bob.get(mark_url(channel), params)
        assert response.status_code == 404, params
        assert error(response)["code"] == "message_not_found"
        assert error(response)["field"] == field
    row = Membership.objects.get(channel=channel, member__user_id="bob")
    assert row.last_read_message_pk is None


def test_another_organizations_channel_is_404(as_outsider: MessagingClient, channel) -> None:
    response = as_outsider.get(mark_url(channel))
    assert response.status_code == 404
    assert error(response)["code"] == "channel_not_found"


def test_a_non_member_of_a_public_channel_has_no_channel_read_state(
    org, alice: Member, channel: Channel
) -> None:
    parent = posted(channel, alice)
    carol = session_client(make_member(org, user_id="carol"))
    response = carol.get(mark_url(channel))
    assert response.status_code == 403
    assert error(response)["code"] == "not_a_member"
    # a thread's read state needs no membership: whoever reads the channel has one
    assert carol.get(mark_url(channel), {"threadID": parent.pk}).status_code == 200


def test_it_needs_a_session(anon: MessagingClient, channel: Channel) -> None:
    assert anon.get(mark_url(channel)).status_code == 401
