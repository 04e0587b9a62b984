"""POST (and GET) /api/v2/channels."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.models import Account
from apps.channels.models import Channel
from apps.channels.services import channels as services
from apps.members.models import Member
from tests.builders import form
from tests.personas import SYSTEM, TokenClient, token_member

URL = "/api/v2/channels"


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.json()
    return [c["channelId"] for c in response.json()["channels"]]


def test_it_lists_every_channel_including_closed_ones(api: TokenClient, make_channel: Any) -> None:
    make_channel("a")
    make_channel("b")
    api.post("/api/v2/channel/b/close", format="json")
    response = api.post(URL, {}, format="json")
    assert ids(response) == ["a", "b"]
    assert [c["isClosed"] for c in response.json()["channels"]] == [False, True]
    assert response.json()["paging"] == {"next": None, "previous": None}


def test_it_filters_by_any_tag_and_excludes_tags(api: TokenClient, make_channel: Any) -> None:
    make_channel("a", tags=["red"])
    make_channel("b", tags=["blue", "green"])
    make_channel("c", tags=["green"])
    make_channel("d")
    assert ids(api.post(URL, {"tags": ["red", "blue"]}, format="json")) == ["a", "b"]
    assert ids(api.post(URL, {"excludeTags": ["green"]}, format="json")) == ["a", "d"]
    assert ids(api.post(URL, {"tags": ["green"], "excludeTags": ["blue"]}, format="json")) == ["c"]


def test_it_filters_by_current_members(org: Any, api: TokenClient, make_channel: Any) -> None:
    make_channel("a", user_ids=["alice"])
    b = make_channel("b", user_ids=["alice", "bob"])
    make_channel("c", user_ids=["bob"])
    services.channel_users_remove(channel=b, actor=SYSTEM, user_ids=["alice"])
    assert ids(api.post(URL, {"userId": "alice"}, format="json")) == ["a"]
    assert ids(api.post(URL, {"userId": "bob"}, format="json")) == ["b", "c"]


def test_an_unknown_user_id_gives_an_empty_list_and_is_not_provisioned(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    make_channel("a", user_ids=["alice"])
    assert ids(api.post(URL, {"userId": "ghost"}, format="json")) == []
    assert not Member.objects.filter(organization=org, user_id="ghost").exists()


def test_it_filters_by_the_admins_own_membership(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    account = Account.objects.get(email="admin@acme.test")
    admin = token_member(org, account)
    make_channel("mine", user_ids=[admin.user_id])
    make_channel("theirs", user_ids=["bob"])
    assert ids(api.post(URL, {"filter": "member"}, format="json")) == ["mine"]
    assert ids(api.post(URL, {"filter": "notMember"}, format="json")) == ["theirs"]
    assert ids(api.post(URL, {"filter": "all"}, format="json")) == ["mine", "theirs"]


def test_it_answers_get_with_query_string_parameters(api: TokenClient, make_channel: Any) -> None:
    make_channel("a", tags=["red"])
    make_channel("b", tags=["blue"])
    assert ids(api.get(URL + "?tags[]=blue")) == ["b"]
    assert ids(api.get(URL + "?excludeTags=blue&options[limit]=5")) == ["a"]


def test_it_accepts_a_form_body(api: TokenClient, make_channel: Any) -> None:
    make_channel("a", tags=["red"])
    make_channel("b", tags=["blue"])
    response = form(api, "post", URL, {"tags": ["red"], "options": {"limit": "10"}})
    assert ids(response) == ["a"]


def test_it_pages_with_opaque_tokens_both_ways(api: TokenClient, make_channel: Any) -> None:
    for i in range(5):
        make_channel(f"c{i}")
    first = api.post(URL, {"options": {"limit": 2}}, format="json")
    assert ids(first) == ["c0", "c1"]
    token = first.json()["paging"]["next"]
    assert first.json()["paging"]["previous"] is None
    second = api.post(URL, {"options": {"limit": 2, "token": token}}, format="json")
    assert ids(second) == ["c2", "c3"]
    third = api.post(
        URL, {"options": {"limit": 2, "token": second.json()["paging"]["next"]}}, format="json"
    )
    assert ids(third) == ["c4"]
    assert third.json()["paging"]["next"] is None
    back = api.post(
        URL, {"options": {"limit": 2, "token": second.json()["paging"]["previous"]}}, format="json"
    )
    assert ids(back) == ["c0", "c1"]


def test_skip_applies_to_the_first_page(api: TokenClient, make_channel: Any) -> None:
    for i in range(4):
        make_channel(f"c{i}")
    response = api.post(URL, {"options": {"skip": 1, "limit": 2}}, format="json")
    assert ids(response) == ["c1", "c2"]
    assert response.json()["paging"]["previous"] is not None


def test_the_default_limit_is_25(api: TokenClient, org: Any) -> None:
    Channel.objects.bulk_create([Channel(organization=org, channel_id=f"c{i}") for i in range(30)])
    response = api.post(URL, {}, format="json")
    assert len(ids(response)) == 25
    assert response.json()["paging"]["next"]


def test_a_token_of_another_query_is_refused(api: TokenClient, make_channel: Any) -> None:
    for i in range(3):
        make_channel(f"c{i}", tags=["red"])
    token = api.post(URL, {"options": {"limit": 1}}, format="json").json()["paging"]["next"]
    response = api.post(URL, {"tags": ["red"], "options": {"token": token}}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_page_token"


def test_a_token_of_another_organization_is_refused(
    api: TokenClient, other_api: TokenClient, make_channel: Any
) -> None:
    for i in range(3):
        make_channel(f"c{i}")
    token = api.post(URL, {"options": {"limit": 1}}, format="json").json()["paging"]["next"]
    response = other_api.post(URL, {"options": {"token": token}}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_page_token"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"filter": "mine"}, "invalid_parameter", "filter"),
        ({"options": {"limit": 0}}, "invalid_parameter", "options.limit"),
        ({"options": {"limit": 101}}, "invalid_parameter", "options.limit"),
        ({"options": {"limit": "ten"}}, "invalid_parameter", "options.limit"),
        ({"options": {"skip": -1}}, "invalid_parameter", "options.skip"),
        ({"options": {"skip": 10_001}}, "skip_too_large", "options.skip"),
        ({"options": {"token": "garbage"}}, "invalid_page_token", "options.token"),
        ({"options": {"token": "x" * 600}}, "invalid_parameter", "options.token"),
        ({"options": "limit"}, "invalid_parameter", "options"),
        ({"tags": ["x" * 65]}, "invalid_parameter", "tags"),
        ({"tags": [f"t{i}" for i in range(101)]}, "invalid_parameter", "tags"),
        ({"excludeTags": {"a": "b"}}, "invalid_parameter", "excludeTags"),
        ({"userId": "x" * 129}, "invalid_parameter", "userId"),
    ],
)
def test_it_rejects_bad_parameters_with_the_field(
    api: TokenClient, body: dict[str, Any], code: str, field: str
) -> None:
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"].startswith(field)


def test_an_expired_mute_reads_as_not_muted(api: TokenClient, org: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    Channel.objects.create(
        organization=org,
        channel_id="old",
        muted_at=now - timedelta(hours=2),
        mute_expires_at=now - timedelta(hours=1),
    )
    Channel.objects.create(
        organization=org, channel_id="live", muted_at=now, mute_expires_at=now + timedelta(hours=1)
    )
    Channel.objects.create(organization=org, channel_id="forever", muted_at=now)
    channels = {c["channelId"]: c for c in api.post(URL, {}, format="json").json()["channels"]}
    assert (channels["old"]["isMuted"], channels["old"]["muteTimeout"]) == (False, None)
    assert channels["live"]["isMuted"] is True
    assert channels["live"]["muteTimeout"].endswith("Z")
    assert (channels["forever"]["isMuted"], channels["forever"]["muteTimeout"]) == (True, None)


def _count_queries(api: TokenClient, body: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = api.post(URL, body, format="json")
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "body",
    [{}, {"filter": "member"}, {"tags": ["t0", "t1"], "excludeTags": ["x"], "userId": "u"}],
)
def test_the_query_count_does_not_grow_with_the_number_of_channels(
    org: Any, api: TokenClient, make_channel: Any, body: dict[str, Any]
) -> None:
    # Per request: the token lookup (select_related organization + account), at most one
    # last_used_at update (first request only, hence the warm-up), the admin's Member for
    # filter=member|notMember, the page of channels (filters are EXISTS subqueries), and
    # one prefetch of the page's tags. Nothing per channel.
    account = Account.objects.get(email="admin@acme.test")
    admin = token_member(org, account).user_id
    make_channel("c0", tags=["t0", "t1"], user_ids=["u", admin])
    _count_queries(api, body)  # warm-up: refreshes last_used_at
    one = _count_queries(api, body)
    for i in range(1, 50):
        make_channel(f"c{i}", tags=["t0", "t1"], user_ids=["u", admin, f"x{i}"])
    fifty = _count_queries(api, {**body, "options": {"limit": 100}})
    assert len(ids(api.post(URL, {**body, "options": {"limit": 100}}, format="json"))) == 50
    assert one == fifty
    assert one <= 4
