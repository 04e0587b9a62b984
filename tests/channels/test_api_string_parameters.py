"""String parameters of the Channel API take JSON strings only (apps.core.fields)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apps.channels.models import Channel
from tests.personas import TokenClient
from tests.string_parameters import StringCase, assert_type_refused, string_cases

NEW = {"channelId": "new", "type": "standard"}
# (method, url, valid JSON body, path of the string to send as a number, field named)
CASES = [
    ("post", "/api/v2/channel", NEW, ["channelId"], "channelId"),
    ("post", "/api/v2/channel", {**NEW, "displayName": "New"}, ["displayName"], "displayName"),
    ("post", "/api/v2/channel", {**NEW, "tags": ["a"]}, ["tags", 0], "tags"),
    ("post", "/api/v2/channel", {**NEW, "userIds": ["bob"]}, ["userIds", 0], "userIds"),
    (
        "post",
        "/api/v2/channel/displayName",
        {"channelId": "general", "displayName": "Renamed"},
        ["displayName"],
        "displayName",
    ),
    ("post", "/api/v2/channel/general/users", {"userIds": ["bob"]}, ["userIds", 0], "userIds"),
    (
        "put",
        "/api/v2/channel/general/mute",
        {"mutePeriod": 60000, "reason": "calm"},
        ["reason"],
        "reason",
    ),
    (
        "post",
        "/api/v2/channel/general/users/ban",
        {"userIds": ["alice"], "reason": "spam"},
        ["reason"],
        "reason",
    ),
    ("post", "/api/v2/channel/general/close", {"reason": "done"}, ["reason"], "reason"),
    ("post", "/api/v2/channels", {"userId": "alice"}, ["userId"], "userId"),
    ("post", "/api/v2/channels", {"tags": ["a"]}, ["tags", 0], "tags"),
    ("post", "/api/v2/channels", {"options": {"token": ""}}, ["options", "token"], "options.token"),
]


@string_cases(CASES)
def test_a_json_number_for_a_string_parameter_is_a_400_naming_it_and_writes_nothing(
    api: TokenClient,
    make_channel: Callable[..., Channel],
    case: StringCase,
    value: Any,
) -> None:
    make_channel("general", user_ids=["alice"])
    assert_type_refused(api, case, value)
