"""POST (and GET) /api/v2/messages: filters and keyset pagination."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.messages.models import Message, Reaction
from apps.reports.models import Report
from tests.builders import make_messages, tag
from tests.factories import ChannelFactory, MemberFactory, MessageFactory

URL = "/api/v2/messages"


def query(api, **params):
    return api.post(URL, {"channelId": "general", **params}, format="json")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [m["messageId"] for m in response.json()["messages"]]


def pids(messages: list[Message]) -> list[str]:
    return [str(m.public_id) for m in messages]


def test_it_returns_the_last_25_in_chronological_order_by_default(api, channel) -> None:
    messages = make_messages(channel, 30)

    response = query(api)

    assert ids(response) == pids(messages[5:])
    paging = response.json()["paging"]
    assert paging["next"] is None
    assert paging["previous"] is not None


def test_first_and_last_pick_the_oldest_or_newest(api, channel) -> None:
    messages = make_messages(channel, 12)

    first = query(api, options={"first": 5})
    last = query(api, options={"last": 5})

    assert ids(first) == pids(messages[:5])
    assert first.json()["paging"]["previous"] is None
    assert first.json()["paging"]["next"] is not None
    assert ids(last) == pids(messages[-5:])


def test_before_and_after_bound_the_window(api, channel) -> None:
    messages = make_messages(channel, 20)
    pivot = str(messages[10].public_id)

    assert ids(query(api, options={"before": pivot, "last": 3})) == pids(messages[7:10])
    assert ids(query(api, options={"before": pivot})) == pids(messages[:10])
    assert ids(query(api, options={"after": pivot, "first": 3})) == pids(messages[11:14])
    assert ids(query(api, options={"after": pivot, "last": 3})) == pids(messages[17:20])
    between = query(api, options={"after": str(messages[2].public_id), "before": pivot})
    assert ids(between) == pids(messages[3:10])


def test_tokens_walk_forward_and_stay_stable_while_new_messages_arrive(api, channel) -> None:
    messages = make_messages(channel, 25)
    seen: list[str] = []
    response = query(api, options={"first": 10})
    seen += ids(response)
    # New messages arrive while the client pages: nothing shifts, nothing repeats.
    messages += make_messages(channel, 3)
    while response.json()["paging"]["next"]:
        response = query(api, options={"token": response.json()["paging"]["next"]})
        seen += ids(response)
        assert len(ids(response)) <= 10

    assert seen == pids(messages)


def test_tokens_walk_backward_from_the_newest(api, channel) -> None:
    messages = make_messages(channel, 23)
    response = query(api, options={"last": 10})
    pages = [ids(response)]
    while response.json()["paging"]["previous"]:
        response = query(api, options={"token": response.json()["paging"]["previous"]})
        pages.insert(0, ids(response))

    assert [len(p) for p in pages] == [3, 10, 10]
    assert [m for page in pages for m in page] == pids(messages)
    # the oldest page can go forward again
    assert response.json()["paging"]["next"] is not None


def test_it_refuses_tokens_of_another_channel_filter_organization_or_forged(
    api, other_api, org, other_org, channel
) -> None:
    make_messages(channel, 5)
    token = query(api, options={"first": 2}).json()["paging"]["next"]
    other_channel = ChannelFactory(organization=org, channel_id="other")
    make_messages(other_channel, 5)
    theirs = ChannelFactory(organization=other_org, channel_id="general")
    make_messages(theirs, 5)

    attempts = [
        api.post(URL, {"channelId": "other", "options": {"token": token}}, format="json"),
        query(api, tags=["x"], options={"token": token}),
        query(api, filterByParentId=True, options={"token": token}),
        other_api.post(URL, {"channelId": "general", "options": {"token": token}}, format="json"),
        query(api, options={"token": token[:-3] + "abc"}),
        query(api, options={"token": "garbage"}),
    ]

    for response in attempts:
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_page_token"
        assert response.json()["field"] == "options.token"


def test_it_filters_replies_and_top_level_messages(api, channel) -> None:
    parent, other = make_messages(channel, 2)
    replies = make_messages(channel, 2, parent=parent)
    make_messages(channel, 1, parent=other)

    assert ids(query(api, parentId=str(parent.public_id))) == pids(replies)
    assert ids(query(api, filterByParentId=True)) == pids([parent, other])
    response = query(api, parentId="not-a-message")
    assert response.status_code == 404
    assert response.json()["field"] == "parentId"
    response = query(api, parentId=str(parent.public_id), filterByParentId=True)
    assert response.status_code == 400
    assert response.json()["field"] == "filterByParentId"


def test_it_filters_by_any_tag_and_excludes_tags(api, channel) -> None:
    a, b, c, d = make_messages(channel, 4)
    tag(a, "red")
    tag(b, "blue", "big")
    tag(c, "red", "big")

    assert ids(query(api, tags=["red", "blue"])) == pids([a, b, c])
    assert ids(query(api, excludeTags=["big"])) == pids([a, d])
    assert ids(query(api, tags=["red"], excludeTags=["big"])) == pids([a])


def test_it_hides_deleted_messages(api, channel) -> None:
    kept = MessageFactory(channel=channel)
    MessageFactory(channel=channel, deleted_at=timezone.now())

    assert ids(query(api)) == pids([kept])


def test_it_answers_get_with_query_string_parameters(api, channel) -> None:
    _, b = make_messages(channel, 2)
    tag(b, "x")
    qs = urlencode({"channelId": "general", "tags[]": "x", "options[last]": "5"})

    assert ids(api.get(f"{URL}?{qs}")) == pids([b])


def test_it_accepts_a_form_encoded_body(api, channel) -> None:
    messages = make_messages(channel, 4)
    body = urlencode({"channelId": "general", "options[first]": "2"})

    response = api.post(URL, body, content_type="application/x-www-form-urlencoded")

    assert ids(response) == pids(messages[:2])


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({}, 400, "missing_parameter", "channelId"),
        ({"channelId": "nope"}, 404, "channel_not_found", "channelId"),
        (
            {"channelId": "general", "options": {"first": 2, "last": 2}},
            400,
            "invalid_parameter",
            "options.first",
        ),
        (
            {"channelId": "general", "options": {"last": 101}},
            400,
            "invalid_parameter",
            "options.last",
        ),
        (
            {"channelId": "general", "options": {"first": 0}},
            400,
            "invalid_parameter",
            "options.first",
        ),
        (
            {"channelId": "general", "options": {"last": "many"}},
            400,
            "invalid_parameter",
            "options.last",
        ),
        ({"channelId": "general", "options": "oops"}, 400, "invalid_parameter", "options"),
        (
            {"channelId": "general", "options": {"before": "nope"}},
            404,
            "message_not_found",
            "options.before",
        ),
        (
            {"channelId": "general", "options": {"token": "t" * 600}},
            400,
            "invalid_parameter",
            "options.token",
        ),
        (
            {"channelId": "general", "tags": [f"t{i}" for i in range(51)]},
            400,
            "invalid_parameter",
            "tags",
        ),
        (
            {"channelId": "general", "filterByParentId": "maybe"},
            400,
            "invalid_parameter",
            "filterByParentId",
        ),
    ],
)
def test_it_refuses_bad_parameters(api, channel, params, status, code, field) -> None:
    response = api.post(URL, params, format="json")

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"] == field


def test_another_organizations_channel_is_unknown(other_api, anon_api, channel) -> None:
    make_messages(channel, 3)

    response = other_api.post(URL, {"channelId": "general"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"
    assert anon_api.post(URL, {"channelId": "general"}, format="json").status_code == 401


def test_a_pivot_in_another_channel_is_unknown(api, org, channel) -> None:
    make_messages(channel, 3)
    foreign = MessageFactory(channel=ChannelFactory(organization=org, channel_id="other"))

    response = query(api, options={"after": str(foreign.public_id)})

    assert response.status_code == 404
    assert response.json()["code"] == "message_not_found"


def _add_replies(org, parent: Message, n: int) -> None:
    """n replies, each with tags, a reaction and an open report."""
    reactor = MemberFactory(organization=org)
    for message in make_messages(parent.channel, n, parent=parent):
        tag(message, "a", "b")
        Reaction.objects.create(organization=org, message=message, member=reactor, name="like")
        Report.objects.create(organization=org, target_member=reactor, target_message=message)


def test_the_query_count_does_not_grow_with_the_page(api, org, channel) -> None:
    parent = MessageFactory(channel=channel)
    params = {"parentId": str(parent.public_id), "tags": ["a"], "options": {"last": 100}}

    def count() -> int:
        query(api, **params)  # warm up (the token's last_used_at refresh)
        with CaptureQueriesContext(connection) as ctx:
            response = query(api, **params)
        assert response.status_code == 200
        return len(ctx.captured_queries)

    _add_replies(org, parent, 1)
    one = count()
    _add_replies(org, parent, 49)
    many = count()

    # 4 queries, whatever the page size: the token, the channel, the parent, and the
    # page (author/channel/parent joins; flagCount, tags and reaction counts as
    # subqueries of the same statement).
    assert one == many == 4
