"""The post path (issue 15): one transaction, the channel's state, the author and its
membership in one read, the answer rendered from what the insert holds."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from apps.moderation.models import FilterRefusalDay
from apps.organizations.models import Organization
from tests.builders import blacklist
from tests.factories import ChannelFactory, MemberFactory

CREATE = "/api/v2/message"


def statements(ctx: CaptureQueriesContext) -> list[str]:
    """The SQL a block ran, without the savepoints of the test's own transaction."""
    return [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT"))
    ]


def transactions(ctx: CaptureQueriesContext) -> int:
    """Atomic blocks a block opened (each is a savepoint inside the test's transaction)."""
    return sum(q["sql"].startswith("SAVEPOINT") for q in ctx.captured_queries)


def post(api, channel_id: str = "general", **extra):
    body = {"channelId": channel_id, "type": "text", "data": {"text": "hello"}, **extra}
    return api.post(CREATE, body, format="json")


@pytest.fixture
def warmed(api, channel) -> None:
    """The admin's member exists (its first post provisions it) and caches are warm."""
    assert post(api).status_code == 201


def test_a_post_is_one_transaction_of_five_statements(api, channel, warmed) -> None:
    with CaptureQueriesContext(connection) as ctx:
        response = post(api)

    assert response.status_code == 201, response.content
    sql = statements(ctx)
    # the token (at most: a cached token reads nothing); the channel by its channelId
    # with the member, its membership and the filter's version; the channel's counters;
    # the message; its event
    assert len(sql) <= 5, "\n".join(sql)
    assert transactions(ctx) == 1
    reads = [s for s in sql if s.startswith("SELECT")]
    assert sum('FROM "chat_channels_channel"' in s for s in reads) == 1
    assert not any('FROM "chat_messages_message"' in s for s in reads)  # no read-back
    assert not any('FROM "chat_messages_messagetag"' in s for s in reads)


def test_the_service_writes_a_post_in_four_statements_whatever_its_tags(org, channel) -> None:
    actor = Actor(account=Account.objects.create(email="poster@acme.test"))
    message_create(organization=org, actor=actor, channel=channel, type="text", data={"text": "a"})
    counts = []
    for tags in ([], ["one"], [f"t{n}" for n in range(20)]):
        with CaptureQueriesContext(connection) as ctx:
            message_create(
                organization=org,
                actor=actor,
                channel=channel,
                type="text",
                data={"text": "b"},
                tags=tags,
            )
        counts.append(len(statements(ctx)))
        assert transactions(ctx) == 1
    # posting row (with the filter's version), counters, message, event; then one
    # INSERT for any number of tags
    assert counts == [4, 5, 5]


def test_a_members_post_also_moves_its_read_state_in_the_same_transaction(org, channel) -> None:
    member = MemberFactory(organization=org, user_id="alice")
    Membership.objects.create(
        organization=org, channel=channel, member=member, joined_at=channel.created_at
    )
    actor = Actor(member=member)
    message_create(  # warms the content filter's matcher
        organization=org,
        actor=actor,
        channel=channel,
        type="text",
        data={"text": "a"},
        author=member,
    )
    with CaptureQueriesContext(connection) as ctx:
        message = message_create(
            organization=org,
            actor=actor,
            channel=channel,
            type="text",
            data={"text": "hi"},
            author=member,
        )

    assert len(statements(ctx)) == 5  # + the author's read state
    assert transactions(ctx) == 1
    row = Membership.objects.get(channel=channel, member=member)
    assert row.last_read_message_pk == message.pk
    assert row.read_count == Channel.objects.get(pk=channel.pk).message_count == 2


def test_the_answer_is_the_message_as_stored(api, channel, warmed) -> None:
    body = post(api, tags=["b", "a", "b"]).json()["message"]

    stored = api.get(f"/api/v2/message/{body['messageId']}").json()["message"]
    assert body == stored
    assert body["tags"] == ["b", "a"]


def test_a_reply_answers_its_parent_and_counts_it(api, channel, warmed) -> None:
    parent = post(api).json()["message"]["messageId"]

    body = post(api, parentId=parent).json()["message"]

    assert body["parentId"] == parent
    stored = api.get(f"/api/v2/message/{body['messageId']}").json()["message"]
    assert body == stored
    assert Message.objects.get(public_id=parent).children_count == 1


def test_a_flagged_post_answers_its_open_report_and_its_auto_hide(api, org, channel) -> None:
    Organization.objects.filter(pk=org.pk).update(filter_policy="flag", auto_hide_threshold=1)
    blacklist(org, "spam")

    body = post(api, data={"text": "buy spam"}).json()["message"]

    assert (body["flagCount"], body["isHidden"]) == (1, True)
    stored = api.get(f"/api/v2/message/{body['messageId']}").json()["message"]
    assert (stored["flagCount"], stored["isHidden"]) == (1, True)


def test_a_refused_post_leaves_nothing_but_its_refusal_count(api, org, channel) -> None:
    """The filter runs inside the post's transaction: a refusal rolls the provisioning
    of a first-time author back, and is counted for the dashboard after the rollback."""
    blacklist(org, "spam")
    members = Member.objects.count()

    response = post(api, data={"text": "buy spam"})

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "blacklisted_content"
    assert Member.objects.count() == members
    assert not Message.objects.exists()
    assert FilterRefusalDay.objects.get(organization=org).blacklisted == 1


def test_a_ban_of_a_moment_ago_refuses_the_members_post(org, channel) -> None:
    """The posting rule reads the author as it is now, not as the surface loaded it."""
    member = MemberFactory(organization=org, user_id="alice")
    Membership.objects.create(
        organization=org, channel=channel, member=member, joined_at=channel.created_at
    )
    loaded = Member.objects.get(pk=member.pk)
    Membership.objects.filter(member=member).update(banned_at=channel.created_at)

    with pytest.raises(DomainError) as refused:
        message_create(
            organization=org,
            actor=Actor(member=loaded),
            channel=channel,
            type="text",
            data={"text": "hi"},
            author=loaded,
        )
    assert refused.value.code == "user_banned"
    assert not Message.objects.exists()


def test_a_post_to_an_unknown_channel_is_a_404_naming_the_channel_id(api, warmed) -> None:
    response = post(api, "nowhere")

    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"
    assert response.json()["field"] == "channelId"
    assert "'nowhere'" in response.json()["message"]


def test_another_organizations_channel_id_is_unknown_here(api, other_org, warmed) -> None:
    ChannelFactory(organization=other_org, channel_id="theirs")
    assert post(api, "theirs").json()["code"] == "channel_not_found"
    assert not Message.objects.filter(channel__organization=other_org).exists()
