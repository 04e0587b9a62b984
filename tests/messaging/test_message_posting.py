"""Messaging API: post, edit, delete and reply (docs/api/messaging-messages.md), with the
moderation of every surface refusing with the same codes as the Admin API v2."""

from __future__ import annotations

import pytest

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import channel_mute, channel_users_ban, channel_users_mute
from apps.events.models import Event, EventType
from apps.members.models import Member, Role
from apps.members.services import member_ban
from apps.messages.models import Message
from apps.messages.services.messages import MAX_TEXT_LENGTH
from apps.permissions.models import Rule
from apps.retention.services import channel_close
from tests.factories import RoleFactory
from tests.moderation.helpers import blacklist, whitelist
from tests.personas import MessagingClient, make_member, session_client

from .message_scenes import (
    SYSTEM,
    archive,
    error,
    make_channel,
    message_url,
    messages_url,
    post,
    posted,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(org, alice: Member, bob: Member) -> Channel:
    return make_channel(org, alice, bob)


def deny(member: Member, operation: str) -> None:
    """A role of ``member`` denying ``operation`` on every channel (plain rows)."""
    role = RoleFactory(organization=member.organization, role_id=f"no-{operation}")
    Rule.objects.create(
        organization=member.organization,
        role=role,
        resource="messaging:channel:*",
        operation=operation,
        access=Rule.Access.DENY,
    )
    Member.objects.filter(pk=member.pk).update(roles=[role.role_id])


# --- post ------------------------------------------------------------------------------------


def test_a_member_posts_a_message_and_gets_it_in_the_message_shape(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    response = post(as_alice, channel, f"hello <@{alice.pk}> and <@999 Bob>")

    assert response.status_code == 201, response.json()
    body = response.json()["response"]
    message = Message.objects.get()
    assert body["messageID"] == str(message.pk)
    assert body["channelID"] == str(channel.pk)
    assert body["userID"] == str(alice.pk)
    assert body["type"] == "text"
    assert body["message"] == message.data["text"]
    assert body["mentions"] == [str(alice.pk), "999"]
    assert body["replyTo"] is None and body["replies"] == 0 and body["repliesFrom"] == []
    assert body["reactions"] == [] and body["att"] is None
    assert body["isBookmarked"] is False and body["isPinned"] is False
    assert body["canReply"] and body["canEdit"] and body["canDelete"]
    assert body["createdAt"].endswith("Z") and body["updatedAt"] is None
    assert body["deletedAt"] is None
    event = Event.objects.get(type=EventType.MESSAGE_CREATED)
    assert event.payload["userId"] == "alice"


def test_the_channel_counters_are_those_of_every_surface(
    as_alice: MessagingClient, channel: Channel
) -> None:
    post(as_alice, channel)
    channel.refresh_from_db()
    assert channel.message_count == 1 and channel.last_activity_at is not None


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_parameter"),
        ({"message": ""}, "invalid_parameter"),
        ({"message": "   \u200b "}, "invalid_parameter"),
        ({"message": 42}, "invalid_parameter"),
        ({"message": ["a"]}, "invalid_parameter"),
        ({"message": "x" * (MAX_TEXT_LENGTH + 1)}, "invalid_parameter"),
    ],
)
def test_it_refuses_a_missing_malformed_or_oversized_message(
    as_alice: MessagingClient, channel: Channel, body: dict, code: str
) -> None:
    response = as_alice.post(messages_url(channel), body, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == code
    assert error(response)["field"] == "message"
    assert not Message.objects.exists()


def test_a_message_of_the_maximum_length_is_accepted(
    as_alice: MessagingClient, channel: Channel
) -> None:
    assert post(as_alice, channel, "x" * MAX_TEXT_LENGTH).status_code == 201


def test_a_form_encoded_post_works_like_json(as_alice: MessagingClient, channel: Channel) -> None:
    response = as_alice.post(
        messages_url(channel), "message=hi+there", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 201
    assert response.json()["response"]["message"] == "hi there"


@pytest.mark.parametrize("pk", ["999999", str(2**63), "0"])
def test_an_unknown_channel_is_404(as_alice: MessagingClient, pk: str) -> None:
    response = post(as_alice, int(pk))
    assert response.status_code == 404
    assert error(response)["code"] == "channel_not_found"


def test_another_organizations_channel_is_404_like_a_missing_one(
    as_outsider: MessagingClient, channel: Channel
) -> None:
    response = post(as_outsider, channel)
    assert response.status_code == 404
    assert error(response) == {
        "message": f"No channel {channel.pk}.",
        "code": "channel_not_found",
        "field": "channelID",
    }


def test_a_private_channel_is_404_to_a_non_member(org, alice: Member, as_bob) -> None:
    private = make_channel(org, alice, channel_id="secret", visibility="private")
    assert post(as_bob, private).status_code == 404


def test_it_needs_a_session(anon: MessagingClient, channel: Channel) -> None:
    assert post(anon, channel).status_code == 401


def test_a_role_rule_denying_message_send_is_403(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    deny(alice, "message.send")
    response = post(as_alice, channel)
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    assert not Message.objects.exists()


def test_a_non_member_of_a_public_channel_cannot_post(org, channel: Channel) -> None:
    carol = make_member(org, user_id="carol")
    response = post(session_client(carol), channel)
    assert response.status_code == 403
    assert error(response)["code"] == "not_a_member"


# --- moderation: the same refusals and codes as v2 ---------------------------------------------


def test_a_muted_member_cannot_post(as_alice: MessagingClient, channel: Channel) -> None:
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["alice"], mute_period=-1)
    response = post(as_alice, channel)
    assert response.status_code == 403
    assert error(response)["code"] == "user_muted"


def test_nobody_but_admins_posts_in_a_muted_channel(
    as_alice: MessagingClient, as_admin: MessagingClient, channel: Channel
) -> None:
    channel_mute(channel=channel, actor=SYSTEM, mute_period=-1)
    response = post(as_alice, channel)
    assert response.status_code == 403
    assert error(response)["code"] == "channel_muted"
    assert post(as_admin, channel).status_code == 201


def test_a_member_banned_from_the_channel_cannot_post(org, alice: Member, bob: Member) -> None:
    # a ban removes the member; the channel is public, so it still sees it
    channel = make_channel(org, alice, bob)
    client = session_client(alice)
    channel_users_ban(channel=channel, actor=SYSTEM, user_ids=["alice"])
    response = post(client, channel)
    assert response.status_code == 403
    assert error(response)["code"] == "user_banned"


def test_a_globally_banned_members_session_is_refused(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    member_ban(actor=SYSTEM, member=alice)
    response = post(as_alice, channel)
    assert response.status_code == 403
    assert error(response)["code"] == "user_globally_banned"


def test_a_closed_channel_is_gone(as_alice: MessagingClient, channel: Channel) -> None:
    channel_close(channel=channel, actor=SYSTEM)
    response = post(as_alice, channel)
    assert response.status_code == 404
    assert error(response)["code"] == "channel_not_found"


def test_an_archived_channel_is_read_only(as_alice: MessagingClient, channel: Channel) -> None:
    archive(channel)
    response = post(as_alice, channel)
    assert response.status_code == 403
    assert error(response)["code"] == "channel_archived"


def test_blacklisted_content_is_refused_like_v2(
    org, as_alice: MessagingClient, channel: Channel
) -> None:
    blacklist(org, "darn")
    response = post(as_alice, channel, "well darn it")
    assert response.status_code == 400
    assert error(response)["code"] == "blacklisted_content"
    assert error(response)["field"] == "message"
    assert not Message.objects.exists()


def test_a_url_off_the_whitelist_is_refused_like_v2(
    org, as_alice: MessagingClient, channel: Channel
) -> None:
    whitelist(org, "good.com")
    response = post(as_alice, channel, "see https://evil.example/x")
    assert response.status_code == 400
    assert error(response)["code"] == "url_not_whitelisted"
    assert post(as_alice, channel, "see https://good.com/x").status_code == 201


# --- edit ------------------------------------------------------------------------------------


def test_a_member_edits_its_own_message(
    org, as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice, "helo")
    response = as_alice.put(message_url(channel, message), {"message": "hello"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()["response"]
    assert body["message"] == "hello" and body["updatedAt"] is not None
    message.refresh_from_db()
    assert message.data["text"] == "hello"
    entry = AuditEntry.objects.get(action="message.edit")
    assert entry.actor_label == "member alice"
    event = Event.objects.get(type=EventType.MESSAGE_UPDATED)
    assert event.payload["changed"] == ["text"] and event.payload["data"]["text"] == "hello"


def test_a_member_cannot_edit_anothers_message(
    as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice, "mine")
    response = as_bob.put(message_url(channel, message), {"message": "yours"}, format="json")
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    message.refresh_from_db()
    assert message.data["text"] == "mine"


def test_an_admin_edits_anyones_message(
    as_admin: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice, "mine")
    response = as_admin.put(message_url(channel, message), {"message": "edited"}, format="json")
    assert response.status_code == 200


def test_a_role_granting_update_all_lets_a_member_edit_anyones_message(
    org, as_bob: MessagingClient, bob: Member, alice: Member, channel: Channel
) -> None:
    role = RoleFactory(organization=org, role_id="editor")
    Rule.objects.create(
        organization=org,
        role=role,
        resource="messaging:channel:*",
        operation="message.update.all",
        access=Rule.Access.ALLOW,
    )
    Member.objects.filter(pk=bob.pk).update(roles=["editor"])
    message = posted(channel, alice, "mine")
    response = as_bob.put(message_url(channel, message), {"message": "fixed"}, format="json")
    assert response.status_code == 200
    assert Role.objects.filter(role_id="editor").exists()


def test_an_edit_is_filtered_like_a_post(
    org, as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice, "fine")
    blacklist(org, "darn")
    response = as_alice.put(message_url(channel, message), {"message": "darn"}, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == "blacklisted_content"
    assert error(response)["field"] == "message"
    whitelist(org, "good.com")
    response = as_alice.put(
        message_url(channel, message), {"message": "http://bad.example"}, format="json"
    )
    assert error(response)["code"] == "url_not_whitelisted"
    message.refresh_from_db()
    assert message.data["text"] == "fine"


def test_a_muted_member_cannot_edit(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice, "fine")
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["alice"], mute_period=-1)
    response = as_alice.put(message_url(channel, message), {"message": "sneaky"}, format="json")
    assert response.status_code == 403
    assert error(response)["code"] == "user_muted"


def test_an_archived_channels_messages_cannot_be_edited(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice, "fine")
    archive(channel)
    response = as_alice.put(message_url(channel, message), {"message": "x"}, format="json")
    assert error(response)["code"] == "channel_archived"


@pytest.mark.parametrize(
    ("body", "code"),
    [({}, "missing_parameter"), ({"message": "y" * (MAX_TEXT_LENGTH + 1)}, "invalid_parameter")],
)
def test_an_edit_refuses_a_missing_or_oversized_message(
    as_alice: MessagingClient, alice: Member, channel: Channel, body: dict, code: str
) -> None:
    message = posted(channel, alice, "fine")
    response = as_alice.put(message_url(channel, message), body, format="json")
    assert response.status_code == 400
    assert error(response)["code"] == code


def test_an_edit_of_an_unknown_deleted_or_foreign_message_is_404(
    org, other_org, as_alice: MessagingClient, alice: Member, channel: Channel, outsider
) -> None:
    other = make_channel(other_org, outsider, channel_id="theirs")
    theirs = posted(other, outsider, "theirs")
    gone = posted(channel, alice, "gone")
    Message.objects.filter(pk=gone.pk).update(deleted_at=gone.created_at)
    elsewhere = make_channel(org, alice, channel_id="elsewhere")
    moved = posted(elsewhere, alice, "in another channel")
    for target in (999999, theirs.pk, gone.pk, moved.pk):
        response = as_alice.put(message_url(channel, target), {"message": "x"}, format="json")
        assert response.status_code == 404, target
        assert error(response)["code"] == "message_not_found"
        assert error(response)["field"] == "messageID"
    response = as_alice.put(message_url(other, theirs), {"message": "x"}, format="json")
    assert error(response)["code"] == "channel_not_found"


def test_a_hidden_message_is_404_except_to_admins(
    as_alice: MessagingClient, as_admin: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice, "reported")
    Message.objects.filter(pk=message.pk).update(hidden_at=message.created_at)
    url = message_url(channel, message)
    assert as_alice.put(url, {"message": "x"}, format="json").status_code == 404
    assert as_admin.put(url, {"message": "x"}, format="json").status_code == 200


# --- delete ----------------------------------------------------------------------------------


def test_a_member_deletes_its_own_message(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice)
    response = as_alice.delete(message_url(channel, message))
    assert response.status_code == 200
    assert response.json() == {"success": {"message": "OK"}}
    message.refresh_from_db()
    channel.refresh_from_db()
    assert message.deleted_at is not None and channel.message_count == 0
    assert AuditEntry.objects.get(action="message.delete").actor_label == "member alice"
    assert Event.objects.filter(type=EventType.MESSAGE_DELETED).count() == 1
    assert as_alice.delete(message_url(channel, message)).status_code == 404


def test_a_member_cannot_delete_anothers_message(
    as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice)
    response = as_bob.delete(message_url(channel, message))
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"
    message.refresh_from_db()
    assert message.deleted_at is None


def test_an_admin_and_the_channels_owner_delete_anyones_message(
    org, as_admin: MessagingClient, alice: Member, bob: Member
) -> None:
    channel = make_channel(org, alice, bob, owner=bob)
    first, second = posted(channel, alice), posted(channel, alice)
    assert as_admin.delete(message_url(channel, first)).status_code == 200
    assert session_client(bob).delete(message_url(channel, second)).status_code == 200


def test_a_muted_member_may_still_delete_its_own_message(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice)
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["alice"], mute_period=-1)
    assert as_alice.delete(message_url(channel, message)).status_code == 200


def test_nothing_is_deleted_in_an_archived_channel(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice)
    archive(channel)
    response = as_alice.delete(message_url(channel, message))
    assert response.status_code == 403
    assert error(response)["code"] == "channel_archived"


def test_a_delete_of_another_organizations_message_is_404(
    other_org, outsider, as_alice: MessagingClient, channel: Channel
) -> None:
    other = make_channel(other_org, outsider, channel_id="theirs")
    theirs = posted(other, outsider)
    assert as_alice.delete(message_url(channel, theirs)).status_code == 404
    assert as_alice.delete(message_url(other, theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_a_role_rule_denying_delete_own_is_403(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    message = posted(channel, alice)
    deny(alice, "message.delete.own")
    assert as_alice.delete(message_url(channel, message)).status_code == 403


# --- reply -----------------------------------------------------------------------------------


def test_a_reply_goes_into_the_messages_thread(
    as_bob: MessagingClient, alice: Member, bob: Member, channel: Channel
) -> None:
    parent = posted(channel, alice, "question")
    response = as_bob.post(
        message_url(channel, parent, "/replies"), {"message": "answer"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()["response"]
    assert body["replyTo"] == str(parent.pk)
    assert body["canReply"] is False  # a reply is not a thread
    reply = Message.objects.get(pk=int(body["messageID"]))
    assert reply.parent_id == parent.pk
    parent.refresh_from_db()
    assert parent.children_count == 1
    event = Event.objects.filter(type=EventType.MESSAGE_CREATED).latest("pk")
    assert event.payload["parentId"] == str(parent.public_id)


def test_a_reply_to_a_reply_is_refused_like_v2(
    as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    parent = posted(channel, alice, "question")
    reply = posted(channel, alice, "answer", parent=parent)
    response = as_bob.post(message_url(channel, reply, "/replies"), {"message": "x"}, format="json")
    assert response.status_code == 400
    assert error(response) == {
        "message": "A reply cannot be the parent of another reply.",
        "code": "invalid_parent",
        "field": "messageID",
    }


def test_a_reply_is_moderated_like_a_post(
    org, as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    parent = posted(channel, alice, "question")
    url = message_url(channel, parent, "/replies")
    blacklist(org, "darn")
    assert error(as_bob.post(url, {"message": "darn"}, format="json"))["code"] == (
        "blacklisted_content"
    )
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["bob"], mute_period=-1)
    assert error(as_bob.post(url, {"message": "ok"}, format="json"))["code"] == "user_muted"
    assert as_bob.post(url, {}, format="json").status_code in (400, 403)


def test_a_reply_needs_message_reply(
    as_bob: MessagingClient, alice: Member, bob: Member, channel: Channel
) -> None:
    parent = posted(channel, alice, "question")
    deny(bob, "message.reply")
    response = as_bob.post(
        message_url(channel, parent, "/replies"), {"message": "x"}, format="json"
    )
    assert response.status_code == 403


def test_a_reply_to_a_missing_or_foreign_message_is_404(
    other_org, outsider, as_bob: MessagingClient, channel: Channel
) -> None:
    other = make_channel(other_org, outsider, channel_id="theirs")
    theirs = posted(other, outsider)
    for target in (999999, theirs.pk):
        response = as_bob.post(
            message_url(channel, target, "/replies"), {"message": "x"}, format="json"
        )
        assert response.status_code == 404
        assert error(response)["code"] == "message_not_found"


def test_a_reply_refuses_an_oversized_message(
    as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    parent = posted(channel, alice)
    response = as_bob.post(
        message_url(channel, parent, "/replies"),
        {"message": "z" * (MAX_TEXT_LENGTH + 1)},
        format="json",
    )
    assert response.status_code == 400
    assert error(response)["field"] == "message"


def test_a_post_costs_no_more_queries_than_through_v2(
    org, api, as_alice: MessagingClient, channel: Channel
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    v2_body = {"channelId": channel.channel_id, "type": "text", "data": {"text": "x"}}
    post(as_alice, channel)  # warm both doors
    api.post("/api/v2/message", v2_body, format="json")
    # the same work through both: the v2 admin is a member too (its read state moves)
    admin = Member.objects.get(organization=org, account__isnull=False)
    channel.memberships.create(organization=org, member=admin, joined_at=channel.created_at)
    counts = []
    for send in (
        lambda: post(as_alice, channel),
        lambda: api.post("/api/v2/message", v2_body, format="json"),
    ):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            assert send().status_code == 201
        counts.append(len(captured.captured_queries))
    messaging, v2 = counts
    # + the channel the messaging API loads for its permission check (v2 passes the
    # channelId: the post's own read loads it)
    assert messaging <= v2 + 1, counts
