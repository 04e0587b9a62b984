"""String parameters of the blacklist/whitelist records and reports APIs take JSON strings
only (apps.core.fields)."""

from __future__ import annotations

from typing import Any

from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import Organization
from tests.factories import MemberFactory
from tests.personas import TokenClient
from tests.string_parameters import StringCase, assert_type_refused, string_cases

BL = "/api/v2/blacklist/records"
WL = "/api/v2/whitelist/records"
# (method, url, valid JSON body, path of the string to send as a number, field named)
CASES = [
    ("post", BL, {"regexs": ["spam"]}, ["regexs", 0], "regexs"),
    ("post", WL, {"regexs": ["example.com"]}, ["regexs", 0], "regexs"),
    ("post", BL, {"regexs": ["spam"], "options": {"token": ""}}, ["regexs", 0], "regexs"),
    ("put", f"{BL}/badword", {"ruleId": "worse"}, ["ruleId"], "ruleId"),
    ("put", f"{WL}/example.org", {"ruleId": "example.net"}, ["ruleId"], "ruleId"),
    ("delete", BL, {"ruleIds": ["badword"]}, ["ruleIds", 0], "ruleIds"),
    ("delete", WL, {"ruleIds": ["example.org"]}, ["ruleIds", 0], "ruleIds"),
    (
        "post",
        "/api/v2/users/author/flags",
        {"reporterId": "reporter", "reason": "rude"},
        ["reporterId"],
        "reporterId",
    ),
    (
        "post",
        "/api/v2/users/author/flags",
        {"reporterId": "reporter", "reason": "rude"},
        ["reason"],
        "reason",
    ),
]


@string_cases(CASES)
def test_a_json_number_for_a_string_parameter_is_a_400_naming_it_and_writes_nothing(
    api: TokenClient,
    org: Organization,
    case: StringCase,
    value: Any,
) -> None:
    BlacklistRecord.objects.create(organization=org, pattern="badword")
    WhitelistRecord.objects.create(organization=org, pattern="example.org")
    MemberFactory(organization=org, user_id="author")
    MemberFactory(organization=org, user_id="reporter")
    assert_type_refused(api, case, value)
