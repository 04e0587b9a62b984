"""Request size limits: hostile bodies get a clear 4xx (never a 500) on the Admin API and
the chatroom service. The body cap is CHATADMIN_MAX_BODY_BYTES (1 MiB): a larger body is
413 ``payload_too_large`` before it is parsed; JSON deeper than 32 levels is 400
``malformed_body``; lists and strings have per-field limits (400 ``invalid_parameter``)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from apps.channels.models import Channel
from apps.organizations.models import Organization
from tests.factories import ChannelFactory
from tests.personas import api_token_client

MB = 1024 * 1024


@pytest.fixture
def channel(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


def endpoints(api: APIClient, org: Organization) -> list[tuple[APIClient, str, dict]]:
    """(client, path, a body the endpoint would accept) for each endpoint."""
    messenger = api_token_client(org)
    return [
        (api, "/api/v2/channel", {"channelId": "c1", "type": "standard"}),
        (api, "/api/v2/message", {"channelId": "general", "type": "text", "data": {"text": "x"}}),
        (messenger, "/api/messenger/chatrooms", {"name": "room"}),
    ]


def post_raw(client: APIClient, url: str, body: str | bytes) -> object:
    return client.generic("POST", url, body, content_type="application/json")


def assert_refused(response: object, *codes: str) -> None:
    assert 400 <= response.status_code < 500, response.content[:300]
    assert response.json()["code"] in codes


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_ten_megabyte_body_is_413(api, org, channel, which: int) -> None:
    client, url, body = endpoints(api, org)[which]
    response = post_raw(client, url, json.dumps({**body, "pad": "x" * (10 * MB)}))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_ten_megabyte_form_body_is_413(api, org, channel, which: int) -> None:
    client, url, _ = endpoints(api, org)[which]
    response = client.generic(
        "POST", url, "pad=" + "x" * (10 * MB), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


@pytest.mark.parametrize("which", [0, 1, 2])
def test_json_nested_ten_thousand_levels_is_400(api, org, channel, which: int) -> None:
    client, url, _ = endpoints(api, org)[which]
    response = post_raw(client, url, "[" * 10_000 + "]" * 10_000)
    assert_refused(response, "malformed_body")
    response = post_raw(client, url, '{"a":' * 10_000 + "1" + "}" * 10_000)
    assert_refused(response, "malformed_body")


@pytest.mark.parametrize("which,field", [(0, "userIds"), (1, "tags"), (2, "assignedUsers")])
def test_ten_thousand_array_items_are_refused(api, org, channel, which: int, field: str) -> None:
    client, url, body = endpoints(api, org)[which]
    for items in (["1"] * 10_000, [str(n) for n in range(1, 10_001)]):  # same / distinct
        response = post_raw(client, url, json.dumps({**body, field: items}))
        assert_refused(response, "invalid_parameter")
        assert response.json()["field"] == field


@pytest.mark.parametrize("which,field", [(0, "displayName"), (1, "data"), (2, "name")])
def test_a_one_megabyte_string_in_a_field_is_refused(
    api, org, channel, which: int, field: str
) -> None:
    client, url, body = endpoints(api, org)[which]
    value = {"text": "x" * MB} if field == "data" else "x" * MB
    response = post_raw(client, url, json.dumps({**body, field: value}))
    # A 1 MiB string makes a body just over the 1 MiB cap: 413 before any parsing.
    assert_refused(response, "payload_too_large")


@pytest.mark.parametrize("which,field", [(0, "displayName"), (1, "data"), (2, "name")])
def test_a_long_string_under_the_body_cap_is_refused_by_the_field(
    api, org, channel, which: int, field: str
) -> None:
    client, url, body = endpoints(api, org)[which]
    size = 900 * 1024
    value = {"text": "x" * size} if field == "data" else "x" * size
    response = post_raw(client, url, json.dumps({**body, field: value}))
    assert_refused(response, "invalid_parameter")
    assert response.json()["field"] == field


@pytest.mark.parametrize("which", [0, 1, 2])
def test_the_valid_body_is_accepted(api, org, channel, which: int) -> None:
    client, url, body = endpoints(api, org)[which]
    assert post_raw(client, url, json.dumps(body)).status_code == 201
