"""Messaging API: pins (public), bookmarks (private) and reactions of messages."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import channel_users_mute
from apps.events.models import Event, EventType
from apps.members.models import Member
from apps.messages.models import Bookmark, Message, Reaction
from apps.messages.selectors.messages import message_reaction_counts
from apps.permissions.models import Rule
from tests.factories import RoleFactory
from tests.personas import MessagingClient, make_member, session_client

from .message_scenes import SYSTEM, archive, error, make_channel, message_url, posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(org, alice: Member, bob: Member) -> Channel:
    return make_channel(org, alice, bob)


@pytest.fixture
def message(channel: Channel, alice: Member) -> Message:
    return posted(channel, alice, "pin me")


@pytest.fixture
def foreign(other_org, outsider: Member) -> tuple[Channel, Message]:
    other = make_channel(other_org, outsider, channel_id="theirs")
    return other, posted(other, outsider, "theirs")


def deny(member: Member, operation: str) -> None:
    role = RoleFactory(organization=member.organization, role_id=f"no-{operation}")
    Rule.objects.create(
        organization=member.organization,
        role=role,
        resource="messaging:channel:*",
        operation=operation,
        access=Rule.Access.DENY,
    )
    Member.objects.filter(pk=member.pk).update(roles=[role.role_id])


# --- pins ------------------------------------------------------------------------------------


def test_a_member_pins_and_unpins_a_message_for_everyone(
    as_bob: MessagingClient, as_alice: MessagingClient, bob: Member, channel, message
) -> None:
    url = message_url(channel, message, "/pin")
    response = as_bob.post(url)
    assert response.status_code == 200, response.json()
    assert response.json()["response"]["isPinned"] is True
    message.refresh_from_db()
    assert message.pinned_at is not None and message.pinned_by_id == bob.pk
    entry = AuditEntry.objects.get(action="message.pin")
    assert entry.actor_label == "member bob" and entry.target_id == str(message.public_id)
    event = Event.objects.get(type=EventType.MESSAGE_UPDATED)
    assert event.payload["changed"] == ["pinned"] and event.payload["isPinned"] is True

    assert as_bob.post(url).status_code == 200  # idempotent: no second entry
    assert AuditEntry.objects.filter(action="message.pin").count() == 1

    response = as_alice.delete(url)
    assert response.status_code == 200
    assert response.json()["response"]["isPinned"] is False
    assert AuditEntry.objects.filter(action="message.unpin").count() == 1
    assert as_alice.delete(url).status_code == 200
    assert AuditEntry.objects.filter(action="message.unpin").count() == 1


def test_a_guest_may_not_pin_by_default(org, channel: Channel, message: Message) -> None:
    guest = make_member(org, role=Member.OrgRole.GUEST, user_id="guest")
    from apps.channels.services.channels import channel_users_add

    channel_users_add(channel=channel, actor=SYSTEM, user_ids=["guest"])
    response = session_client(guest).post(message_url(channel, message, "/pin"))
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"


def test_a_rule_denying_message_pin_is_403(
    as_bob: MessagingClient, bob: Member, channel, message
) -> None:
    deny(bob, "message.pin")
    assert as_bob.post(message_url(channel, message, "/pin")).status_code == 403
    assert as_bob.delete(message_url(channel, message, "/pin")).status_code == 403


def test_a_muted_member_cannot_pin(as_bob: MessagingClient, channel, message) -> None:
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["bob"], mute_period=-1)
    response = as_bob.post(message_url(channel, message, "/pin"))
    assert error(response)["code"] == "user_muted"
    message.refresh_from_db()
    assert message.pinned_at is None


def test_nothing_is_pinned_in_an_archived_channel(
    as_bob: MessagingClient, channel, message
) -> None:
    archive(channel)
    response = as_bob.post(message_url(channel, message, "/pin"))
    assert response.status_code == 403
    assert error(response)["code"] == "channel_archived"


def test_pinning_a_missing_or_foreign_message_is_404(
    as_bob: MessagingClient, channel, foreign
) -> None:
    other, theirs = foreign
    for url in (
        message_url(channel, 999999, "/pin"),
        message_url(channel, theirs, "/pin"),
        message_url(other, theirs, "/pin"),
    ):
        assert as_bob.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.pinned_at is None


# --- bookmarks -------------------------------------------------------------------------------


def test_a_bookmark_is_private_to_its_member(
    as_bob: MessagingClient, as_alice: MessagingClient, bob: Member, channel, message
) -> None:
    url = message_url(channel, message, "/bookmark")
    response = as_bob.post(url)
    assert response.status_code == 200
    assert response.json()["response"]["isBookmarked"] is True
    assert as_bob.post(url).status_code == 200  # idempotent
    assert Bookmark.objects.filter(member=bob, message=message).count() == 1
    assert not AuditEntry.objects.filter(action__contains="bookmark").exists()
    assert not Event.objects.filter(type=EventType.MESSAGE_UPDATED).exists()

    # alice sees no bookmark of bob's
    other_view = as_alice.post(message_url(channel, message, "/pin")).json()["response"]
    assert other_view["isBookmarked"] is False

    response = as_bob.delete(url)
    assert response.status_code == 200
    assert response.json()["response"]["isBookmarked"] is False
    assert as_bob.delete(url).status_code == 200
    assert not Bookmark.objects.exists()


def test_bookmarks_work_in_an_archived_channel_and_while_muted(
    as_bob: MessagingClient, channel, message
) -> None:
    archive(channel)
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["bob"], mute_period=-1)
    assert as_bob.post(message_url(channel, message, "/bookmark")).status_code == 200


def test_bookmarking_a_missing_or_foreign_message_is_404(
    as_bob: MessagingClient, channel, foreign
) -> None:
    other, theirs = foreign
    assert as_bob.post(message_url(channel, 999999, "/bookmark")).status_code == 404
    assert as_bob.post(message_url(channel, theirs, "/bookmark")).status_code == 404
    response = as_bob.post(message_url(other, theirs, "/bookmark"))
    assert error(response)["code"] == "channel_not_found"
    assert not Bookmark.objects.exists()


def test_a_private_channels_messages_cannot_be_bookmarked_by_outsiders(
    org, alice: Member, as_bob: MessagingClient
) -> None:
    private = make_channel(org, alice, channel_id="secret", visibility="private")
    message = posted(private, alice)
    assert as_bob.post(message_url(private, message, "/bookmark")).status_code == 404


# --- reactions -------------------------------------------------------------------------------


def test_a_member_reacts_with_the_reaction_rows_v2_counts(
    as_bob: MessagingClient, as_alice: MessagingClient, bob: Member, alice: Member, channel, message
) -> None:
    response = as_bob.post(message_url(channel, message, "/reaction/👍"))
    assert response.status_code == 200, response.json()
    as_alice.post(message_url(channel, message, "/reaction/👍"))
    response = as_alice.post(message_url(channel, message, "/reaction/tada"))
    reactions = response.json()["response"]["reactions"]
    assert reactions == [
        {"reaction": "👍", "userIDs": [str(bob.pk), str(alice.pk)], "count": 2},
        {"reaction": "tada", "userIDs": [str(alice.pk)], "count": 1},
    ]
    assert message_reaction_counts(message_ids=[message.pk]) == {message.pk: {"👍": 2, "tada": 1}}
    assert Reaction.objects.get(member=bob).organization_id == message.organization_id
    entry = AuditEntry.objects.filter(action="reaction.create").first()
    assert entry.actor_label == "member bob"

    assert as_bob.post(message_url(channel, message, "/reaction/👍")).status_code == 200
    assert Reaction.objects.filter(member=bob).count() == 1  # idempotent

    response = as_bob.delete(message_url(channel, message, "/reaction/👍"))
    assert response.status_code == 200
    assert response.json()["response"]["reactions"][0]["count"] == 1
    assert AuditEntry.objects.filter(action="reaction.delete").count() == 1


def test_removing_a_reaction_one_never_made_is_404(as_bob: MessagingClient, channel, message):
    response = as_bob.delete(message_url(channel, message, "/reaction/tada"))
    assert response.status_code == 404
    assert error(response)["code"] == "reaction_not_found"


@pytest.mark.parametrize("name", ["x" * 65, "%20%20"])
def test_a_malformed_or_oversized_reaction_is_400(
    as_bob: MessagingClient, channel, message, name: str
) -> None:
    response = as_bob.post(message_url(channel, message, f"/reaction/{name}"))
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parameter"
    assert error(response)["field"] == "reaction"
    assert not Reaction.objects.exists()


def test_a_rule_denying_message_react_is_403(
    as_bob: MessagingClient, bob: Member, channel, message
) -> None:
    deny(bob, "message.react")
    response = as_bob.post(message_url(channel, message, "/reaction/tada"))
    assert response.status_code == 403
    assert not Reaction.objects.exists()


def test_a_muted_member_cannot_react_but_may_take_its_reaction_back(
    as_bob: MessagingClient, channel, message
) -> None:
    as_bob.post(message_url(channel, message, "/reaction/tada"))
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["bob"], mute_period=-1)
    response = as_bob.post(message_url(channel, message, "/reaction/heart"))
    assert error(response)["code"] == "user_muted"
    assert as_bob.delete(message_url(channel, message, "/reaction/tada")).status_code == 200


def test_reactions_are_frozen_in_an_archived_channel(
    as_bob: MessagingClient, channel, message
) -> None:
    as_bob.post(message_url(channel, message, "/reaction/tada"))
    archive(channel)
    for method in ("post", "delete"):
        response = getattr(as_bob, method)(message_url(channel, message, "/reaction/tada"))
        assert response.status_code == 403
        assert error(response)["code"] == "channel_archived"


def test_reacting_to_a_missing_or_foreign_message_is_404(
    as_bob: MessagingClient, channel, foreign
) -> None:
    other, theirs = foreign
    assert as_bob.post(message_url(channel, 999999, "/reaction/tada")).status_code == 404
    assert as_bob.post(message_url(channel, theirs, "/reaction/tada")).status_code == 404
    assert as_bob.post(message_url(other, theirs, "/reaction/tada")).status_code == 404
    assert not Reaction.objects.exists()
