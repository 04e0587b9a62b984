"""String parameters of the chatroom service take JSON strings only (apps.core.fields):
``name`` of a chatroom and the text of a ``message``."""

from __future__ import annotations

from typing import Any

from apps.channels.models import Channel
from apps.members.models import Member
from tests.personas import BASE, MessengerClient
from tests.string_parameters import StringCase, assert_type_refused, string_cases


@string_cases(
    [
        ("post", "/chatrooms", {"name": "Crew"}, ["name"], "name"),
        ("put", "/chatrooms/{room}", {"name": "Renamed"}, ["name"], "name"),
        ("post", "/chatrooms/{room}/messages", {"message": "hello"}, ["message"], "message"),
    ]
)
def test_a_json_number_for_a_string_parameter_is_a_400_naming_it_and_writes_nothing(
    admin: Member, admin_pat: MessengerClient, room: Channel, case: StringCase, value: Any
) -> None:
    body = case.body
    if case.method == "post" and not case.url.endswith("/messages"):
        body = {**body, "organizationID": room.organization_id}
    url = BASE + case.url.format(room=room.pk)
    assert_type_refused(admin_pat, case._replace(url=url, body=body), value)
