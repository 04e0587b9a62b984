"""String parameters of the Users and Roles APIs take JSON strings only
(apps.core.fields)."""

from __future__ import annotations

from typing import Any

from apps.organizations.models import Organization
from tests.factories import MemberFactory, RoleFactory
from tests.personas import TokenClient
from tests.string_parameters import StringCase, assert_type_refused, string_cases

# (method, url, valid JSON body, path of the string to send as a number, field named)
CASES = [
    ("put", "/api/v2/roles", {"publicIds": ["mod"]}, ["publicIds", 0], "publicIds"),
    (
        "put",
        "/api/v2/roles",
        {"publicIds": ["mod"], "permissions": ["ban"]},
        ["permissions", 0],
        "permissions",
    ),
    ("put", "/api/v2/users", {"userId": "alice", "displayName": "A"}, ["userId"], "userId"),
    (
        "put",
        "/api/v2/users",
        {"userId": "alice", "displayName": "A"},
        ["displayName"],
        "displayName",
    ),
    ("put", "/api/v2/users", {"userId": "alice", "roles": ["mod"]}, ["roles", 0], "roles"),
    ("post", "/api/v2/users/ban", {"userId": "alice", "reason": "spam"}, ["reason"], "reason"),
    ("post", "/api/v2/users/unban", {"userId": "alice", "reason": "ok"}, ["userId"], "userId"),
]


@string_cases(CASES)
def test_a_json_number_for_a_string_parameter_is_a_400_naming_it_and_writes_nothing(
    api: TokenClient,
    org: Organization,
    case: StringCase,
    value: Any,
) -> None:
    MemberFactory(organization=org, user_id="alice")
    RoleFactory(organization=org, role_id="mod")
    assert_type_refused(api, case, value)
