"""Every channel endpoint: 401 without or with a bad token, and another organization's
token on this organization's channel answers 404 exactly like an unknown id, writing
nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import snapshot
from tests.personas import TokenClient

# (method, path, a valid body)
ENDPOINTS: list[tuple[str, str, dict[str, Any]]] = [
    ("post", "/api/v2/channel/displayName", {"channelId": "general", "displayName": "New"}),
    ("post", "/api/v2/channel/general/users", {"userIds": ["u9"]}),
    ("delete", "/api/v2/channel/general/users", {"userIds": ["u1"]}),
    ("put", "/api/v2/channel/general/mute", {"mutePeriod": -1}),
    ("put", "/api/v2/channel/general/users/mute", {"userIds": ["u1"], "mutePeriod": -1}),
    ("post", "/api/v2/channel/general/users/ban", {"userIds": ["u1"]}),
    ("post", "/api/v2/channel/general/users/unban", {"userIds": ["u1"]}),
    ("post", "/api/v2/channel/general/close", {}),
    (
        "put",
        "/api/v2/channel/general/scheduledDeletion",
        {"scheduledDeletion": "2030-01-01T00:00:00Z"},
    ),
]
ALL = [
    ("post", "/api/v2/channels", {}),
    ("get", "/api/v2/channels", {}),
    ("post", "/api/v2/channel", {"channelId": "new", "type": "standard"}),
    *ENDPOINTS,
]


def _call(client: TokenClient, method: str, path: str, body: dict[str, Any]) -> Any:
    if method == "get":
        return client.get(path, body)
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), ALL)
def test_it_answers_401_without_a_token(
    anon_api: TokenClient, make_channel: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    make_channel("general", user_ids=["u1"])
    response = _call(anon_api, method, path, body)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), ALL)
def test_it_answers_401_with_a_bad_token(
    bad_api: TokenClient, make_channel: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    make_channel("general", user_ids=["u1"])
    response = _call(bad_api, method, path, body)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_another_organizations_token_gets_404_and_changes_nothing(
    org: Any,
    other_org: Any,
    other_api: TokenClient,
    make_channel: Any,
    method: str,
    path: str,
    body: dict[str, Any],
) -> None:
    make_channel("general", user_ids=["u1"])
    before = snapshot(org)
    response = _call(other_api, method, path, body)
    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"
    assert snapshot(org) == before
    assert snapshot(other_org)["channels"] == []


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_an_unknown_channel_gets_the_same_404(
    api: TokenClient, make_channel: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    body = {**body, "channelId": "nope"} if "channelId" in body else body
    response = _call(api, method, path.replace("/general/", "/nope/"), body)
    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"


def test_another_organizations_query_does_not_list_this_organizations_channels(
    other_api: TokenClient, make_channel: Any
) -> None:
    make_channel("general", user_ids=["u1"])
    response = other_api.post("/api/v2/channels", {"userId": "u1"}, format="json")
    assert response.status_code == 200
    assert response.json()["channels"] == []


def test_another_organization_may_reuse_a_channel_id(
    other_api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    response = other_api.post(
        "/api/v2/channel", {"channelId": "general", "type": "standard"}, format="json"
    )
    assert response.status_code == 201
