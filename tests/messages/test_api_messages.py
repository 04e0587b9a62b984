"""POST /api/v2/message, GET and DELETE /api/v2/message/:messageId."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.members.models import Member
from apps.messages.models import Message, MessageTag, Reaction
from apps.reports.models import Report
from tests.after_commit import queries_after_commit
from tests.builders import blacklist
from tests.factories import ChannelFactory, MemberFactory, MessageFactory
from tests.personas import make_admin_client

CREATE = "/api/v2/message"


def detail(message: Message | str) -> str:
    return f"/api/v2/message/{getattr(message, 'public_id', message)}"


def create(api, channel_id: str = "general", **extra):
    body = {"channelId": channel_id, "type": "text", "data": {"text": "hello"}, **extra}
    return api.post(CREATE, body, format="json")


# --- create ----------------------------------------------------------------------------


def test_it_creates_a_text_message_authored_by_the_admins_member(api, channel) -> None:
    response = create(api, tags=["news", "urgent"])

    assert response.status_code == 201, response.json()
    body = response.json()["message"]
    assert body["channelId"] == "general"
    assert body["type"] == "text"
    assert body["data"] == {"text": "hello"}
    assert body["tags"] == ["news", "urgent"]
    assert body["parentId"] is None
    assert body["childrenNumber"] == 0
    assert body["reactions"] == {}
    assert body["reactionsCount"] == 0
    assert body["flagCount"] == 0
    assert body["isDeleted"] is False
    assert body["createdAt"].endswith("Z")
    assert body["editedAt"] is None
    member = Member.objects.get(organization=channel.organization, account__isnull=False)
    assert body["userId"] == member.user_id == "admin@acme.test"
    channel.refresh_from_db()
    assert channel.message_count == 1
    assert channel.last_activity_at is not None
    assert Message.objects.get(public_id=body["messageId"]).author == member


def test_it_accepts_a_form_encoded_body(api, channel) -> None:
    body = urlencode(
        {"channelId": "general", "type": "text", "data[text]": "hi there", "tags[]": ["a", "b"]},
        doseq=True,
    )
    response = api.post(CREATE, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 201, response.json()
    assert response.json()["message"]["data"] == {"text": "hi there"}
    assert response.json()["message"]["tags"] == ["a", "b"]


def test_it_creates_a_custom_message_with_any_json_object(api, channel) -> None:
    data = {"kind": "poll", "options": [1, 2, {"x": None}]}
    response = api.post(
        CREATE, {"channelId": "general", "type": "custom", "data": data}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["message"]["data"] == data


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"type": "text", "data": {"text": "x"}}, 400, "missing_parameter", "channelId"),
        ({"channelId": "general", "data": {"text": "x"}}, 400, "missing_parameter", "type"),
        ({"channelId": "general", "type": "text"}, 400, "missing_parameter", "data"),
        (
            {"channelId": "general", "type": "video", "data": {}},
            400,
            "invalid_parameter",
            "type",
        ),
        (
            {"channelId": "general", "type": "text", "data": {}},
            400,
            "missing_parameter",
            "data.text",
        ),
        (
            {"channelId": "general", "type": "text", "data": {"text": "  "}},
            400,
            "invalid_parameter",
            "data.text",
        ),
        (
            {"channelId": "general", "type": "text", "data": {"text": 5}},
            400,
            "invalid_parameter",
            "data.text",
        ),
        (
            {"channelId": "general", "type": "text", "data": "not an object"},
            400,
            "invalid_parameter",
            "data",
        ),
        (
            {"channelId": "general", "type": "text", "data": {"text": "x" * 10_001}},
            400,
            "invalid_parameter",
            "data.text",
        ),
        (
            {"channelId": "general", "type": "custom", "data": {"blob": "x" * 70_000}},
            400,
            "invalid_parameter",
            "data",
        ),
        (
            {
                "channelId": "general",
                "type": "text",
                "data": {"text": "x"},
                "tags": [] + [f"t{i}" for i in range(51)],
            },
            400,
            "invalid_parameter",
            "tags",
        ),
        (
            {"channelId": "general", "type": "text", "data": {"text": "x"}, "tags": ["x" * 65]},
            400,
            "invalid_parameter",
            "tags.0",
        ),
        (
            {"channelId": "c" * 129, "type": "text", "data": {"text": "x"}},
            400,
            "invalid_parameter",
            "channelId",
        ),
        (
            {"channelId": "nope", "type": "text", "data": {"text": "x"}},
            404,
            "channel_not_found",
            "channelId",
        ),
    ],
)
def test_it_refuses_bad_input(api, channel, body, status, code, field) -> None:
    response = api.post(CREATE, body, format="json")

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert not Message.objects.exists()
    channel.refresh_from_db()
    assert channel.message_count == 0


def test_it_refuses_a_malformed_json_body(api, channel) -> None:
    response = api.post(CREATE, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


def test_it_refuses_blacklisted_text(api, org, channel) -> None:
    blacklist(org, "forbidden")

    response = create(api, data={"text": "this is ForBidden stuff"})

    assert response.status_code == 400
    assert response.json()["code"] == "blacklisted_content"
    assert response.json()["field"] == "data.text"
    assert not Message.objects.exists()


def test_it_refuses_posts_in_a_closed_channel(api, channel) -> None:
    Channel.objects.filter(pk=channel.pk).update(closed_at=timezone.now())

    response = create(api)

    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"
    assert not Message.objects.exists()


def test_it_creates_a_reply_and_counts_it_on_the_parent(api, channel) -> None:
    parent = create(api).json()["message"]

    response = create(api, parentId=parent["messageId"])

    assert response.status_code == 201
    assert response.json()["message"]["parentId"] == parent["messageId"]
    assert api.get(detail(parent["messageId"])).json()["message"]["childrenNumber"] == 1


def test_it_refuses_a_reply_to_a_reply(api, channel) -> None:
    parent = create(api).json()["message"]["messageId"]
    reply = create(api, parentId=parent).json()["message"]["messageId"]

    response = create(api, parentId=reply)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parent"
    assert response.json()["field"] == "parentId"
    assert Message.objects.count() == 2


def test_it_refuses_a_parent_that_is_unknown_deleted_or_in_another_channel(
    api, org, channel
) -> None:
    elsewhere = MessageFactory(channel=ChannelFactory(organization=org, channel_id="other"))
    deleted = MessageFactory(channel=channel, deleted_at=timezone.now())

    for parent_id in [
        str(uuid.uuid4()),
        "not-a-uuid",
        str(elsewhere.public_id),
        str(deleted.public_id),
    ]:
        response = create(api, parentId=parent_id)
        assert response.status_code == 400, parent_id
        assert response.json()["code"] == "parent_not_found"
        assert response.json()["field"] == "parentId"
    assert Message.objects.count() == 2


def test_it_refuses_no_token_and_a_bad_token(anon_api, bad_token_api, channel) -> None:
    for client in (anon_api, bad_token_api):
        response = create(client)
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
    assert not Message.objects.exists()


def test_another_organization_cannot_post_into_this_organizations_channel(
    other_api, channel
) -> None:
    response = create(other_api)

    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"
    assert not Message.objects.exists()


# --- get -------------------------------------------------------------------------------


def test_it_gets_a_message_with_reactions_and_open_flags(api, org, channel) -> None:
    message = MessageFactory(channel=channel, data={"text": "hi"})
    MessageTag.objects.create(message=message, name="t1")
    reactors = [MemberFactory(organization=org) for _ in range(3)]
    for member in reactors:
        Reaction.objects.create(organization=org, message=message, member=member, name="like")
    Reaction.objects.create(organization=org, message=message, member=reactors[0], name="love")
    Report.objects.create(organization=org, target_member=message.author, target_message=message)
    Report.objects.create(
        organization=org,
        target_member=message.author,
        target_message=message,
        state=Report.State.DISMISSED,
    )

    response = api.get(detail(message))

    assert response.status_code == 200
    body = response.json()["message"]
    assert body["messageId"] == str(message.public_id)
    assert body["userId"] == message.author.user_id
    assert body["tags"] == ["t1"]
    assert body["reactions"] == {"like": 3, "love": 1}
    assert body["reactionsCount"] == 4
    assert body["flagCount"] == 1


#: A well-formed id no message has (a constant: pytest-xdist needs the same test ids
#: in every process).
UNKNOWN_ID = "5b0e7b4c-3f7e-4c2a-9d61-0a8f6f3e2b19"


@pytest.mark.parametrize("message_id", [UNKNOWN_ID, "not-a-uuid", "x" * 200])
def test_it_answers_404_for_unknown_message_ids(api, channel, message_id) -> None:
    response = api.get(detail(message_id))

    assert response.status_code == 404
    assert response.json()["code"] == "message_not_found"


def test_another_organization_sees_a_404(other_api, channel) -> None:
    message = MessageFactory(channel=channel)

    for response in (other_api.get(detail(message)), other_api.delete(detail(message))):
        assert response.status_code == 404
        assert response.json()["code"] == "message_not_found"
    message.refresh_from_db()
    assert message.deleted_at is None
    assert not AuditEntry.objects.exists()


def test_messages_of_a_closed_channel_are_invisible(api, channel) -> None:
    message = MessageFactory(channel=channel)
    Channel.objects.filter(pk=channel.pk).update(closed_at=timezone.now())

    assert api.get(detail(message)).status_code == 404
    assert api.delete(detail(message)).status_code == 404
    response = api.post("/api/v2/messages", {"channelId": "general"}, format="json")
    assert response.status_code == 200
    assert response.json()["messages"] == []


def test_get_refuses_no_token(anon_api, channel) -> None:
    message = MessageFactory(channel=channel)

    assert anon_api.get(detail(message)).status_code == 401


# --- delete ----------------------------------------------------------------------------


def test_it_soft_deletes_a_message_with_an_audit_entry(api, org, channel) -> None:
    parent = create(api).json()["message"]["messageId"]
    reply = create(api, parentId=parent).json()["message"]["messageId"]

    response = api.delete(detail(reply), {"reason": "spam"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"success": True}
    message = Message.objects.get(public_id=reply)
    assert message.deleted_at is not None
    assert message.data == {"text": "hello"}  # soft: kept for moderators
    channel.refresh_from_db()
    assert channel.message_count == 1
    assert Message.objects.get(public_id=parent).children_count == 0
    entry = AuditEntry.objects.get()
    assert entry.action == "message.delete"
    assert entry.target_type == "message"
    assert entry.target_id == reply
    assert entry.reason == "spam"
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.actor_token is not None
    # GET by id still answers, emptied; the query no longer lists it.
    body = api.get(detail(reply)).json()["message"]
    assert body["isDeleted"] is True
    assert body["data"] == {}
    listed = api.post("/api/v2/messages", {"channelId": "general"}, format="json").json()
    assert [m["messageId"] for m in listed["messages"]] == [parent]


def test_deleting_twice_is_idempotent(api, channel) -> None:
    message = create(api).json()["message"]["messageId"]

    first = api.delete(detail(message))
    second = api.delete(detail(message))

    assert first.status_code == second.status_code == 200
    assert AuditEntry.objects.count() == 1
    channel.refresh_from_db()
    assert channel.message_count == 0


def test_delete_takes_the_reason_from_the_query_string_or_a_form_body(api, channel) -> None:
    one, two = MessageFactory(channel=channel), MessageFactory(channel=channel)

    api.delete(detail(one) + "?reason=abuse")
    api.delete(
        detail(two),
        urlencode({"reason": "flood"}),
        content_type="application/x-www-form-urlencoded",
    )

    reasons = dict(AuditEntry.objects.values_list("target_id", "reason"))
    assert reasons == {str(one.public_id): "abuse", str(two.public_id): "flood"}


def test_delete_refuses_an_oversized_reason_and_no_token(api, anon_api, channel) -> None:
    message = MessageFactory(channel=channel)

    response = api.delete(detail(message), {"reason": "x" * 1001}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "reason"
    assert anon_api.delete(detail(message)).status_code == 401
    message.refresh_from_db()
    assert message.deleted_at is None


def test_a_refused_post_provisions_no_author_and_records_no_event(org) -> None:
    """A new admin token posting to a closed channel is refused without leaving its
    chat identity (Member) or a user.created event behind."""
    from apps.channels.models import Channel
    from apps.events.models import Event
    from apps.members.models import Member
    from tests.personas import make_admin_client

    setup = make_admin_client(org, email="setup@acme.test")
    setup.post("/api/v2/channel", {"channelId": "shut", "type": "standard"}, format="json")
    setup.post("/api/v2/channel/shut/close")
    assert Channel.objects.get(channel_id="shut").is_closed
    newcomer = make_admin_client(org, email="newcomer@acme.test")
    members, events = Member.objects.count(), Event.objects.count()

    response = newcomer.post(
        "/api/v2/message",
        {"channelId": "shut", "type": "text", "data": {"text": "hello"}},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"
    assert (Member.objects.count(), Event.objects.count()) == (members, events)


@pytest.mark.django_db(transaction=True)
def test_a_created_message_is_answered_without_a_query_after_its_commit(org, channel) -> None:
    """A connection lost after the commit must not turn an accepted message into an error
    (the client would post it again): the answer is rendered from what the create service
    read inside its own transaction."""
    api = make_admin_client(org)
    with queries_after_commit(Message) as after:
        response = create(api)

    assert response.status_code == 201, response.content
    assert after == []
