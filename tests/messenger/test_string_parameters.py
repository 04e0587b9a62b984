"""String parameters of the chatroom service take JSON strings only (apps.core.fields):
``name`` of a chatroom and the text of a ``message``."""

from __future__ import annotations

from typing import Any

import pytest

from apps.channels.models import Channel
from apps.members.models import Member
from tests.messenger.conftest import BASE, MessengerClient
from tests.string_parameters import NOT_STRINGS, assert_type_refused


@pytest.mark.parametrize("value", NOT_STRINGS.values(), ids=NOT_STRINGS.keys())
@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("post", "/chatrooms", {"name": "Crew"}, "name"),
        ("put", "/chatrooms/{room}", {"name": "Renamed"}, "name"),
        ("post", "/chatrooms/{room}/messages", {"message": "hello"}, "message"),
    ],
    ids=["create name", "update name", "message"],
)
def test_a_json_number_for_a_string_parameter_is_a_400_naming_it_and_writes_nothing(
    admin: Member,
    admin_pat: MessengerClient,
    room: Channel,
    method: str,
    url: str,
    body: dict[str, Any],
    field: str,
    value: Any,
) -> None:
    body = {**body, "organizationID": room.organization_id} if method == "post" else body
    if url.endswith("/messages"):
        body.pop("organizationID")
    url = BASE + url.format(room=room.pk)
    assert_type_refused(admin_pat, method, url, body, [field], field, value)
