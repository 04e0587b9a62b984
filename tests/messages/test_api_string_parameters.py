"""String parameters of the Message and Reactions APIs take JSON strings only
(apps.core.fields)."""

from __future__ import annotations

from typing import Any

from apps.channels.models import Channel
from tests.factories import MessageFactory
from tests.personas import TokenClient
from tests.string_parameters import StringCase, assert_type_refused, string_cases

MESSAGE = {"channelId": "general", "type": "text", "data": {"text": "hello"}}
MESSAGE_ID = "6f1c2f4e-0000-4000-8000-000000000001"
REACTION = {"referenceId": MESSAGE_ID, "referenceType": "message", "reactionName": "like"}
# (method, url, valid JSON body, path of the string to send as a number, field named)
CASES = [
    ("post", "/api/v2/message", MESSAGE, ["channelId"], "channelId"),
    ("post", "/api/v2/message", {**MESSAGE, "tags": ["news"]}, ["tags", 0], "tags"),
    ("post", "/api/v2/message", {**MESSAGE, "parentId": MESSAGE_ID}, ["parentId"], "parentId"),
    ("delete", f"/api/v2/message/{MESSAGE_ID}", {"reason": "spam"}, ["reason"], "reason"),
    ("post", "/api/v2/reactions", REACTION, ["reactionName"], "reactionName"),
    ("post", "/api/v2/reactions", REACTION, ["referenceId"], "referenceId"),
    ("post", "/api/v2/messages", {"channelId": "general"}, ["channelId"], "channelId"),
    (
        "post",
        "/api/v2/messages",
        {"channelId": "general", "options": {"before": MESSAGE_ID}},
        ["options", "before"],
        "options.before",
    ),
]


@string_cases(CASES)
def test_a_json_number_for_a_string_parameter_is_a_400_naming_it_and_writes_nothing(
    api: TokenClient,
    channel: Channel,
    case: StringCase,
    value: Any,
) -> None:
    MessageFactory(channel=channel, public_id=MESSAGE_ID)
    assert_type_refused(api, case, value)
