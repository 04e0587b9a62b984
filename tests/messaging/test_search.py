"""Messaging API: ``GET /search/messages`` and ``GET /search/threads``."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.channels.models import Channel, Membership
from apps.members.models import Member
from apps.messages.models import Bookmark, Message
from apps.organizations.models import Organization
from apps.permissions.models import Rule
from tests.factories import ChannelFactory, MessageFactory, RoleFactory
from tests.personas import MessagingClient, make_member, session_client

pytestmark = pytest.mark.django_db

MESSAGES = "/api/messaging/search/messages"
THREADS = "/api/messaging/search/threads"


def post(channel: Channel, text: str = "hello", **kw: Any) -> Message:
    kw.setdefault("data", {"text": text})
    return MessageFactory(channel=channel, organization=channel.organization, **kw)


def found(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["messageID"] for m in response.json()["response"]]


def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return response.json()["error"]


@pytest.fixture
def public(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general", visibility="public")


@pytest.fixture
def private(org: Organization, bob: Member) -> Channel:
    channel = ChannelFactory(organization=org, channel_id="secret", visibility="private")
    Membership.objects.create(
        organization=org, channel=channel, member=bob, joined_at=timezone.now()
    )
    return channel


# --- success ---------------------------------------------------------------------------------


def test_it_answers_messages_in_the_messaging_shape_newest_first(
    as_alice: MessagingClient, alice: Member, public: Channel
) -> None:
    older = post(public, "first", author=alice)
    newer = post(public, "second")
    response = as_alice.get(MESSAGES)
    assert found(response) == [str(newer.pk), str(older.pk)]
    message = response.json()["response"][1]
    assert message["message"] == "first"
    assert message["channelID"] == str(public.pk)
    assert message["userID"] == str(alice.pk)
    assert message["replyTo"] is None
    assert message["canEdit"] is True


def test_it_answers_an_empty_list_when_nothing_matches(as_alice: MessagingClient) -> None:
    assert as_alice.get(MESSAGES).json() == {"response": []}


def test_channel_ids_come_as_repeated_keys_brackets_strings_or_numbers(
    as_alice: MessagingClient, org: Organization, public: Channel
) -> None:
    other = ChannelFactory(organization=org, visibility="public")
    third = ChannelFactory(organization=org, visibility="public")
    a, b, _ = post(public), post(other), post(third)
    wanted = [str(b.pk), str(a.pk)]
    assert found(as_alice.get(f"{MESSAGES}?channelID={public.pk}&channelID={other.pk}")) == wanted
    assert (
        found(as_alice.get(f"{MESSAGES}?channelID[]={public.pk}&channelID[]={other.pk}")) == wanted
    )
    assert found(as_alice.get(MESSAGES, {"channelID": public.pk})) == [str(a.pk)]


def test_it_filters_by_thread_user_and_type(
    as_alice: MessagingClient, bob: Member, public: Channel
) -> None:
    root = post(public, "root", children_count=2)
    reply = post(public, "reply", parent=root, author=bob)
    post(public, "other reply", parent=root)
    image = post(public, type="image", data={"caption": "cat"})
    assert found(as_alice.get(MESSAGES, {"threadID": root.pk, "userID": bob.pk})) == [str(reply.pk)]
    assert found(as_alice.get(f"{MESSAGES}?type=inlineImage&type=attachment")) == [str(image.pk)]
    assert found(as_alice.get(f"{MESSAGES}?type[]=image")) == [str(image.pk)]


def test_it_pages_with_the_message_id_bounds(as_alice: MessagingClient, public: Channel) -> None:
    pks = [post(public, f"m{i}").pk for i in range(8)]
    assert found(as_alice.get(MESSAGES, {"beforeMessageID": pks[5], "limit": 2})) == [
        str(pks[4]),
        str(pks[3]),
    ]
    assert found(as_alice.get(MESSAGES, {"afterMessageID": pks[1], "limit": 2})) == [
        str(pks[3]),
        str(pks[2]),
    ]
    assert found(
        as_alice.get(MESSAGES, {"fromMessageID": str(pks[6]), "toMessageID": str(pks[7])})
    ) == [str(pks[7]), str(pks[6])]


def test_pinned_only_and_bookmarked_only(
    as_alice: MessagingClient, alice: Member, org: Organization, public: Channel
) -> None:
    pinned = post(public, pinned_at=timezone.now())
    marked = post(public)
    Bookmark.objects.create(organization=org, member=alice, message=marked)
    assert found(as_alice.get(MESSAGES, {"pinnedOnly": "true"})) == [str(pinned.pk)]
    assert found(as_alice.get(MESSAGES, {"bookmarkedOnly": "1"})) == [str(marked.pk)]
    bookmarked = as_alice.get(MESSAGES, {"bookmarkedOnly": "true"}).json()["response"]
    assert bookmarked[0]["isBookmarked"] is True
    assert len(found(as_alice.get(MESSAGES, {"pinnedOnly": "false"}))) == 2


def test_query_searches_the_text(as_alice: MessagingClient, public: Channel) -> None:
    match = post(public, "The kettle is on")
    post(public, "tea time")
    assert found(as_alice.get(MESSAGES, {"query": "kettle"})) == [str(match.pk)]
    assert len(found(as_alice.get(MESSAGES, {"query": ""}))) == 2


def test_limit_defaults_to_50_and_0_means_the_default(
    as_alice: MessagingClient, public: Channel
) -> None:
    for i in range(55):
        post(public, f"m{i}")
    assert len(found(as_alice.get(MESSAGES))) == 50
    assert len(found(as_alice.get(MESSAGES, {"limit": 0}))) == 50
    assert len(found(as_alice.get(MESSAGES, {"limit": 200}))) == 55
    assert len(found(as_alice.get(MESSAGES, {"limit": "3"}))) == 3


def test_threads_answer_each_root_followed_by_its_replies(
    as_alice: MessagingClient, public: Channel
) -> None:
    post(public, "no thread")
    old = post(public, "old", children_count=1)
    old_reply = post(public, "old reply", parent=old)
    new = post(public, "new", children_count=2)
    first, second = post(public, "r1", parent=new), post(public, "r2", parent=new)
    response = as_alice.get(THREADS)
    assert found(response) == [str(p.pk) for p in (new, first, second, old, old_reply)]
    assert response.json()["response"][0]["replies"] == 2
    assert found(as_alice.get(THREADS, {"limit": 1})) == [
        str(new.pk),
        str(first.pk),
        str(second.pk),
    ]
    assert found(as_alice.get(THREADS, {"query": "old"})) == [str(old.pk), str(old_reply.pk)]
    assert found(as_alice.get(THREADS, {"channelID[]": str(public.pk), "query": "r2"}))[0] == str(
        new.pk
    )


# --- visibility, other organizations ----------------------------------------------------------


def test_a_private_channel_is_searched_by_its_members_only(
    as_alice: MessagingClient, as_bob: MessagingClient, private: Channel
) -> None:
    secret = post(private, "secret plans")
    assert found(as_alice.get(MESSAGES, {"channelID": private.pk})) == []
    assert found(as_alice.get(MESSAGES, {"query": "secret"})) == []
    assert found(as_bob.get(MESSAGES, {"query": "secret"})) == [str(secret.pk)]


def test_another_organizations_ids_match_nothing_like_missing_ones(
    as_alice: MessagingClient,
    as_outsider: MessagingClient,
    outsider: Member,
    other_org: Organization,
    public: Channel,
) -> None:
    theirs = ChannelFactory(organization=other_org, visibility="public")
    their_root = post(theirs, "theirs", children_count=1, author=outsider)
    post(theirs, "reply", parent=their_root)
    post(public, "ours")
    for params in (
        {"channelID": theirs.pk},
        {"threadID": their_root.pk},
        {"userID": outsider.pk},
        {"channelID": 999_999_999},
    ):
        assert found(as_alice.get(MESSAGES, params)) == [], params
    assert found(as_alice.get(THREADS, {"channelID": theirs.pk})) == []
    assert found(as_outsider.get(MESSAGES, {"channelID": public.pk})) == []
    assert found(as_outsider.get(MESSAGES)) == [str(their_root.pk)]


# --- 4xx -------------------------------------------------------------------------------------


def test_it_needs_a_session(anon: MessagingClient) -> None:
    assert error(anon.get(MESSAGES), 401)["code"] == "unauthorized"
    assert error(anon.get(THREADS), 401)["code"] == "unauthorized"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"channelID": "abc"}, "channelID"),
        ({"channelID": "0"}, "channelID"),
        ({"channelID": "-4"}, "channelID"),
        ({"channelID": str(2**63)}, "channelID"),
        ({"threadID": "1.5"}, "threadID"),
        ({"userID": "x"}, "userID"),
        ({"afterMessageID": "first"}, "afterMessageID"),
        ({"beforeMessageID": "0"}, "beforeMessageID"),
        ({"fromMessageID": ""}, "fromMessageID"),
        ({"toMessageID": "1e3"}, "toMessageID"),
        ({"type": "gif"}, "type"),
        ({"pinnedOnly": "maybe"}, "pinnedOnly"),
        ({"bookmarkedOnly": "2"}, "bookmarkedOnly"),
        ({"limit": "201"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"query": "x" * 501}, "query"),
    ],
)
def test_it_refuses_malformed_or_oversized_parameters(
    as_alice: MessagingClient, params: dict[str, str], field: str
) -> None:
    body = error(as_alice.get(MESSAGES, params), 400)
    assert body["code"] == "invalid_parameter"
    assert body["field"].startswith(field)


def test_it_refuses_too_many_ids(as_alice: MessagingClient) -> None:
    query = "&".join(f"channelID={i}" for i in range(1, 502))
    assert error(as_alice.get(f"{MESSAGES}?{query}"), 400)["field"] == "channelID"


@pytest.mark.parametrize("params", [{"channelID": "abc"}, {"limit": "500"}, {"query": "q" * 501}])
def test_threads_refuse_malformed_parameters(
    as_alice: MessagingClient, params: dict[str, str]
) -> None:
    assert error(as_alice.get(THREADS, params), 400)["code"] == "invalid_parameter"


def test_it_answers_get_only(as_alice: MessagingClient) -> None:
    assert as_alice.post(MESSAGES, {}).status_code == 405
    assert as_alice.delete(THREADS).status_code == 405


# --- permissions and moderation ----------------------------------------------------------------


def test_a_role_denied_access_to_the_messaging_api_gets_403(
    org: Organization, public: Channel
) -> None:
    role = RoleFactory(organization=org, role_id="banned-from-chat")
    Rule.objects.create(
        organization=org, role=role, resource="messaging", operation="access", access="deny"
    )
    member = make_member(org, roles=["banned-from-chat"])
    client = session_client(member)
    assert error(client.get(MESSAGES), 403)["code"] == "forbidden"
    assert error(client.get(THREADS), 403)["code"] == "forbidden"


def test_a_deny_rule_on_read_hides_the_channel_from_search(
    org: Organization, public: Channel
) -> None:
    role = RoleFactory(organization=org, role_id="no-general")
    Rule.objects.create(
        organization=org,
        role=role,
        resource=f"messaging:channel:{public.pk}",
        operation="read",
        access="deny",
    )
    post(public, "hidden from them")
    client = session_client(make_member(org, roles=["no-general"]))
    assert found(client.get(MESSAGES, {"channelID": public.pk})) == []


def test_a_globally_banned_member_cannot_search(
    org: Organization, as_alice: MessagingClient, alice: Member
) -> None:
    Member.objects.filter(pk=alice.pk).update(banned_at=timezone.now())
    assert error(as_alice.get(MESSAGES), 403)["code"] == "user_globally_banned"


def test_deleted_and_hidden_messages_are_never_answered(
    as_alice: MessagingClient, public: Channel
) -> None:
    shown = post(public, "visible")
    post(public, "visible too, deleted", deleted_at=timezone.now())
    post(public, "visible too, hidden", hidden_at=timezone.now())
    assert found(as_alice.get(MESSAGES)) == [str(shown.pk)]
    assert found(as_alice.get(MESSAGES, {"query": "visible"})) == [str(shown.pk)]


def test_a_muted_member_still_reads(
    as_alice: MessagingClient, alice: Member, public: Channel
) -> None:
    Membership.objects.create(
        organization=public.organization,
        channel=public,
        member=alice,
        joined_at=timezone.now(),
        muted_at=timezone.now(),
    )
    message = post(public)
    assert found(as_alice.get(MESSAGES, {"channelID": public.pk})) == [str(message.pk)]


# --- cost --------------------------------------------------------------------------------------


def _queries(client: MessagingClient, url: str, params: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(captured)


def test_a_page_of_50_costs_as_many_queries_as_a_page_of_2(
    as_alice: MessagingClient, org: Organization, public: Channel
) -> None:
    authors = [make_member(org) for _ in range(5)]
    other = ChannelFactory(organization=org, visibility="public")
    for i in range(60):
        message = post(public if i % 2 else other, f"m{i}", author=authors[i % 5])
        if i % 3 == 0:
            post(message.channel, "reply", parent=message)
            Message.objects.filter(pk=message.pk).update(children_count=1)
    _queries(as_alice, MESSAGES, {"limit": 1})  # the session's last-use stamp, once a minute
    small = _queries(as_alice, MESSAGES, {"limit": 2})
    big = _queries(as_alice, MESSAGES, {"limit": 50})
    assert big == small
    # the session, the readable channels, the page with its channels, reactions,
    # bookmarks and repliers, then the member's channel ownership (no file messages here:
    # no stored files read)
    assert big == 4, big
    assert _queries(as_alice, THREADS, {"limit": 20}) == _queries(as_alice, THREADS, {"limit": 1})
