"""Admin API v2: /api/v2/blacklist/records and /api/v2/whitelist/records."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.audit.models import AuditEntry
from apps.moderation.models import BlacklistRecord, WhitelistRecord
from apps.organizations.models import Organization
from tests.personas import TokenClient

from .helpers import blacklist, snapshot, version, whitelist

pytestmark = pytest.mark.django_db

BL = "/api/v2/blacklist/records"
WL = "/api/v2/whitelist/records"
FORM = "application/x-www-form-urlencoded"


def form(data: dict[str, Any]) -> str:
    return urlencode(data, doseq=True)


def one(url: str, rule_id: str) -> str:
    return f"{url}/{quote(rule_id, safe='')}"


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == code
    if field is not None:
        assert body["field"] == field


# --- authentication (every endpoint) ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", BL),
        ("post", BL),
        ("delete", BL),
        ("put", BL + "/bad"),
        ("get", WL),
        ("post", WL),
        ("delete", WL),
        ("put", WL + "/example.com"),
    ],
)
def test_it_refuses_no_token_and_a_bad_token(
    anon_api: TokenClient, bad_token_api: TokenClient, org: Organization, method: str, url: str
) -> None:
    blacklist(org, "bad")
    for client in (anon_api, bad_token_api):
        response = getattr(client, method)(url, {"regexs": ["x.com"], "ruleIds": ["bad"]})
        assert_error(response, 401, "unauthorized")
    assert snapshot(BlacklistRecord, org) != []


# --- blacklist: query -------------------------------------------------------------------


def test_it_lists_records_in_creation_order(api: TokenClient, org: Organization) -> None:
    blacklist(org, "bad", exact=True)
    blacklist(org, "ugly")
    response = api.get(BL)
    assert response.status_code == 200
    body = response.json()
    assert body["paging"] == {"next": None, "previous": None}
    assert [r["ruleId"] for r in body["records"]] == ["bad", "ugly"]
    first = body["records"][0]
    assert set(first) == {"ruleId", "regex", "isMatchExactWord", "createdAt"}
    assert first["regex"] == "bad" and first["isMatchExactWord"] is True
    assert first["createdAt"].endswith("Z")


def test_it_filters_by_regexs_ignoring_case(api: TokenClient, org: Organization) -> None:
    blacklist(org, "Bad", "ugly", "sadness", "fine")
    for query in (
        "?regexs[]=AD&regexs[]=gl",
        "?regexs=AD&regexs=gl",
        "?regexs[0]=AD&regexs[1]=gl",
    ):
        response = api.get(BL + query)
        assert [r["ruleId"] for r in response.json()["records"]] == ["Bad", "ugly", "sadness"]
    # a GET with a form body (the document's Content-Type) works too
    response = api.generic("GET", BL, form({"regexs[]": ["fin"]}), content_type=FORM)
    assert [r["ruleId"] for r in response.json()["records"]] == ["fine"]


def test_it_pages_with_signed_tokens(api: TokenClient, org: Organization) -> None:
    blacklist(org, *[f"w{i}" for i in range(5)])
    page1 = api.get(BL, {"options[limit]": 2}).json()
    assert [r["ruleId"] for r in page1["records"]] == ["w0", "w1"]
    page2 = api.get(BL, {"options[limit]": 2, "options[token]": page1["paging"]["next"]}).json()
    assert [r["ruleId"] for r in page2["records"]] == ["w2", "w3"]
    back = api.get(BL, {"options[limit]": 2, "options[token]": page2["paging"]["previous"]})
    assert [r["ruleId"] for r in back.json()["records"]] == ["w0", "w1"]
    # a token only works for the query that issued it
    other = api.get(BL, {"regexs": "w", "options[token]": page1["paging"]["next"]})
    assert_error(other, 400, "invalid_page_token", "options.token")
    assert_error(
        api.get(WL, {"options[token]": page1["paging"]["next"]}), 400, "invalid_page_token"
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"options[limit]": 0}, "options.limit"),
        ({"options[limit]": 1001}, "options.limit"),
        ({"options[limit]": "many"}, "options.limit"),
        ({"regexs": [f"t{i}" for i in range(101)]}, "regexs"),
        ({"regexs": "x" * 256}, "regexs.0"),
        ({"options[token]": "forged"}, "options.token"),
    ],
)
def test_list_refuses_bad_parameters(api: TokenClient, params: dict, field: str) -> None:
    response = api.get(BL, params)
    assert response.status_code == 400
    assert response.json()["field"] == field


@pytest.mark.parametrize(("url", "make"), [(BL, blacklist), (WL, whitelist)])
def test_list_query_count_does_not_grow_with_rows(
    api: TokenClient, org: Organization, url: str, make: Any
) -> None:
    make(org, "seed.com")
    api.get(url)  # the token's first use refreshes its last_used_at: not measured
    with CaptureQueriesContext(connection) as one_row:
        assert len(api.get(url).json()["records"]) == 1
    make(org, *[f"w{i}.com" for i in range(49)])
    with CaptureQueriesContext(connection) as fifty_rows:
        assert len(api.get(url).json()["records"]) == 50
    # the token lookup (with its account and organization) and one page query
    assert len(fifty_rows) == len(one_row) == 2


def test_list_shows_only_this_organizations_records(
    api: TokenClient, other_api: TokenClient, org: Organization, other_org: Organization
) -> None:
    blacklist(org, "mine")
    blacklist(other_org, "theirs")
    assert [r["ruleId"] for r in api.get(BL).json()["records"]] == ["mine"]
    assert [r["ruleId"] for r in other_api.get(BL).json()["records"]] == ["theirs"]


# --- blacklist: add ---------------------------------------------------------------------


def test_it_adds_words_from_json(api: TokenClient, org: Organization) -> None:
    before = version(org)
    response = api.post(BL, {"regexs": ["bad", "ug+ly"], "isMatchExactWord": True}, format="json")
    assert response.status_code == 201
    records = response.json()["records"]
    assert [(r["ruleId"], r["isMatchExactWord"]) for r in records] == [
        ("bad", True),
        ("ug+ly", True),
    ]
    assert version(org) > before
    entry = AuditEntry.objects.get(organization=org, action="blacklist.add")
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.after["patterns"] == ["bad", "ug+ly"]


def test_it_adds_words_from_a_form(api: TokenClient, org: Organization) -> None:
    body = form({"regexs[]": ["bad", "worse"], "isMatchExactWord": "true"})
    response = api.post(BL, body, content_type=FORM)
    assert response.status_code == 201
    assert [r["ruleId"] for r in response.json()["records"]] == ["bad", "worse"]
    assert BlacklistRecord.objects.filter(organization=org, is_match_exact_word=True).count() == 2
    # one word, no brackets, flag defaults to false
    response = api.post(BL, form({"regexs": "ugly"}), content_type=FORM)
    assert response.json()["records"][0]["isMatchExactWord"] is False


def test_adding_existing_words_returns_them_with_200(api: TokenClient, org: Organization) -> None:
    blacklist(org, "bad", exact=True)
    response = api.post(BL, {"regexs": ["bad"]}, format="json")
    assert response.status_code == 200
    assert response.json()["records"][0]["isMatchExactWord"] is True


def test_added_words_block_messages_at_once(api: TokenClient, org: Organization) -> None:
    from apps.core.errors import DomainError
    from apps.moderation.filter.policy import check_message_text

    check_message_text(organization=org, texts=["a bad day"])  # cached, empty
    api.post(BL, {"regexs": ["bad"], "isMatchExactWord": True}, format="json")
    with pytest.raises(DomainError):
        check_message_text(organization=org, texts=["a bad day"])


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 400, "missing_parameter", "regexs"),
        ({"regexs": []}, 400, "invalid_parameter", "regexs"),
        ({"regexs": ""}, 400, "invalid_parameter", "regexs"),  # JSON: an array, not a string
        ({"regexs": [{"a": 1}]}, 400, "invalid_parameter", "regexs"),
        ({"regexs": ["x" * 256]}, 400, "invalid_parameter", "regexs.0"),
        ({"regexs": [f"w{i}" for i in range(1001)]}, 400, "invalid_parameter", "regexs"),
        ({"regexs": ["ok"], "isMatchExactWord": "maybe"}, 400, "invalid_parameter", None),
        ({"regexs": ["ok", r"(a)\1"]}, 400, "invalid_pattern", "regexs"),
        ({"regexs": ["(?=x)"]}, 400, "invalid_pattern", "regexs"),
        ({"regexs": ["a*"]}, 400, "invalid_pattern", "regexs"),
    ],
)
def test_add_refuses_bad_input_and_writes_nothing(
    api: TokenClient, org: Organization, body: dict, status: int, code: str, field: str | None
) -> None:
    response = api.post(BL, body, format="json")
    assert_error(response, status, code, field)
    if field is None:
        assert response.json()["field"] == "isMatchExactWord"
    assert not BlacklistRecord.objects.exists()
    assert not AuditEntry.objects.exists()


def test_an_invalid_patterns_message_quotes_it_as_written_with_single_backslashes(
    api: TokenClient,
) -> None:
    response = api.post(BL, {"regexs": [r"\bok\b", r"(\w)\1"]}, format="json")
    assert_error(response, 400, "invalid_pattern", "regexs")
    message = response.json()["message"]
    assert message.startswith("“(\\w)\\1” "), message
    assert "\\\\" not in message  # (repr doubled them)


def test_add_refuses_malformed_bodies(api: TokenClient) -> None:
    response = api.post(BL, "{not json", content_type="application/json")
    assert_error(response, 400, "malformed_body")
    response = api.post(BL, '["bad"]', content_type="application/json")
    assert_error(response, 400, "malformed_body")
    response = api.post(BL, "regexs=bad", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


# --- blacklist: delete ------------------------------------------------------------------


def test_it_deletes_from_json_form_and_query_string(api: TokenClient, org: Organization) -> None:
    blacklist(org, "a/b", "c d", "ünï", "keep")
    assert api.delete(BL, {"ruleIds": ["a/b"]}, format="json").json() == {"success": True}
    response = api.delete(BL, form({"ruleIds[]": ["c d"]}), content_type=FORM)
    assert response.json() == {"success": True}
    assert api.delete(BL + "?" + form({"ruleIds": "ünï"})).status_code == 200
    assert [p for _, p in snapshot(BlacklistRecord, org)] == ["keep"]
    assert AuditEntry.objects.filter(action="blacklist.delete").count() == 3


def test_delete_with_an_unknown_rule_id_deletes_nothing(
    api: TokenClient, org: Organization
) -> None:
    blacklist(org, "bad", "ugly")
    response = api.delete(BL, {"ruleIds": ["bad", "nope"]}, format="json")
    assert_error(response, 404, "rule_not_found", "ruleIds")
    assert len(snapshot(BlacklistRecord, org)) == 2


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "ruleIds"),
        ({"ruleIds": []}, "invalid_parameter", "ruleIds"),
        ({"ruleIds": ["x" * 256]}, "invalid_parameter", "ruleIds.0"),
        ({"ruleIds": [f"w{i}" for i in range(1001)]}, "invalid_parameter", "ruleIds"),
    ],
)
def test_delete_refuses_bad_input(api: TokenClient, body: dict, code: str, field: str) -> None:
    assert_error(api.delete(BL, body, format="json"), 400, code, field)


def test_another_organization_cannot_delete_these_records(
    other_api: TokenClient, org: Organization
) -> None:
    blacklist(org, "bad")
    whitelist(org, "example.com")
    before = snapshot(BlacklistRecord, org), snapshot(WhitelistRecord, org), version(org)
    assert_error(other_api.delete(BL, {"ruleIds": ["bad"]}, format="json"), 404, "rule_not_found")
    assert_error(
        other_api.delete(WL, {"ruleIds": ["example.com"]}, format="json"), 404, "rule_not_found"
    )
    assert (snapshot(BlacklistRecord, org), snapshot(WhitelistRecord, org), version(org)) == before


# --- blacklist: update ------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule_id", ["a/b", "a b", "über", "悪い", "x%y", "q?a#b", "tail/", "\\d+/x"]
)
def test_update_finds_any_rule_id_in_the_path(
    api: TokenClient, org: Organization, rule_id: str
) -> None:
    blacklist(org, rule_id)
    response = api.put(one(BL, rule_id), {"isMatchExactWord": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["record"]["ruleId"] == rule_id
    assert response.json()["record"]["isMatchExactWord"] is True


def test_update_renames_from_json_and_form(api: TokenClient, org: Organization) -> None:
    blacklist(org, "bad", exact=True)
    response = api.put(one(BL, "bad"), {"ruleId": "b/a d"}, format="json")
    assert response.status_code == 200
    assert response.json()["record"] == {
        **response.json()["record"],
        "ruleId": "b/a d",
        "regex": "b/a d",
        "isMatchExactWord": True,  # kept
    }
    response = api.put(
        one(BL, "b/a d"), form({"ruleId": "worse", "isMatchExactWord": "0"}), content_type=FORM
    )
    assert response.json()["record"]["ruleId"] == "worse"
    assert response.json()["record"]["isMatchExactWord"] is False
    assert [p for _, p in snapshot(BlacklistRecord, org)] == ["worse"]
    entries = AuditEntry.objects.filter(action="blacklist.update").order_by("pk")
    assert [e.target_id for e in entries] == ["b/a d", "worse"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 400, "missing_parameter", "ruleId"),
        ({"ruleId": "x" * 256}, 400, "invalid_parameter", "ruleId"),
        ({"ruleId": r"(a)\1"}, 400, "invalid_pattern", "ruleId"),
        ({"ruleId": ""}, 400, "invalid_parameter", "ruleId"),
        ({"isMatchExactWord": "perhaps"}, 400, "invalid_parameter", "isMatchExactWord"),
        ({"ruleId": "ugly"}, 409, "rule_exists", "ruleId"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(
    api: TokenClient, org: Organization, body: dict, status: int, code: str, field: str
) -> None:
    blacklist(org, "bad", "ugly")
    before = snapshot(BlacklistRecord, org), version(org)
    assert_error(api.put(one(BL, "bad"), body, format="json"), status, code, field)
    assert (snapshot(BlacklistRecord, org), version(org)) == before


def test_update_of_an_unknown_rule_id_is_not_found(api: TokenClient) -> None:
    response = api.put(one(BL, "nope"), {"ruleId": "x"}, format="json")
    assert_error(response, 404, "rule_not_found", "ruleId")


def test_another_organization_cannot_update_these_records(
    other_api: TokenClient, org: Organization
) -> None:
    blacklist(org, "bad")
    whitelist(org, "example.com")
    before = snapshot(BlacklistRecord, org), snapshot(WhitelistRecord, org), version(org)
    response = other_api.put(one(BL, "bad"), {"ruleId": "x"}, format="json")
    assert_error(response, 404, "rule_not_found")
    response = other_api.put(one(WL, "example.com"), {"ruleId": "x.com"}, format="json")
    assert_error(response, 404, "rule_not_found")
    assert (snapshot(BlacklistRecord, org), snapshot(WhitelistRecord, org), version(org)) == before
    assert not AuditEntry.objects.exists()


# --- whitelist --------------------------------------------------------------------------


def test_whitelist_add_list_update_delete(api: TokenClient, org: Organization) -> None:
    response = api.post(WL, {"regexs": ["https://www.Example.com/", "acme.io/docs"]}, format="json")
    assert response.status_code == 201
    records = response.json()["records"]
    assert [r["ruleId"] for r in records] == ["example.com", "acme.io/docs"]
    assert set(records[0]) == {"ruleId", "regex", "createdAt"}

    response = api.post(WL, form({"regexs[]": ["example.com", "b.org"]}), content_type=FORM)
    assert response.status_code == 201
    assert [r["ruleId"] for r in response.json()["records"]] == ["example.com", "b.org"]

    listed = api.get(WL, {"regexs[]": ["ACME"]}).json()["records"]
    assert [r["ruleId"] for r in listed] == ["acme.io/docs"]

    response = api.put(one(WL, "acme.io/docs"), form({"ruleId": "acme.io/help"}), content_type=FORM)
    assert response.json()["record"]["ruleId"] == "acme.io/help"
    response = api.put(one(WL, "https://b.org"), {"ruleId": "c.org"}, format="json")
    assert response.json()["record"]["ruleId"] == "c.org"

    response = api.delete(WL, form({"ruleIds[]": ["acme.io/help", "c.org"]}), content_type=FORM)
    assert response.json() == {"success": True}
    assert [p for _, p in snapshot(WhitelistRecord, org)] == ["example.com"]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert actions == {"whitelist.add", "whitelist.update", "whitelist.delete"}


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "code", "field"),
    [
        ("post", WL, {}, 400, "missing_parameter", "regexs"),
        ("post", WL, {"regexs": ["not a url"]}, 400, "invalid_pattern", "regexs"),
        ("post", WL, {"regexs": ["ok.com", "nodot"]}, 400, "invalid_pattern", "regexs"),
        ("post", WL, {"regexs": ["a.com"] * 1 + ["x" * 256]}, 400, "invalid_parameter", None),
        ("put", WL + "/a.com", {}, 400, "missing_parameter", "ruleId"),
        ("put", WL + "/a.com", {"ruleId": "bad url"}, 400, "invalid_pattern", "ruleId"),
        ("put", WL + "/a.com", {"ruleId": "www.b.com"}, 409, "rule_exists", "ruleId"),
        ("put", WL + "/nope.com", {"ruleId": "c.com"}, 404, "rule_not_found", "ruleId"),
        ("delete", WL, {"ruleIds": ["a.com", "nope.com"]}, 404, "rule_not_found", "ruleIds"),
        ("delete", WL, {}, 400, "missing_parameter", "ruleIds"),
    ],
)
def test_whitelist_refuses_bad_input_and_changes_nothing(
    api: TokenClient,
    org: Organization,
    method: str,
    url: str,
    body: dict,
    status: int,
    code: str,
    field: str | None,
) -> None:
    whitelist(org, "a.com", "b.com")
    before = snapshot(WhitelistRecord, org), version(org)
    assert_error(getattr(api, method)(url, body, format="json"), status, code, field)
    assert (snapshot(WhitelistRecord, org), version(org)) == before


def test_the_schema_lists_every_route(api: TokenClient) -> None:
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for operation in (
        "blacklist_records_query",
        "blacklist_records_add",
        "blacklist_records_delete",
        "blacklist_record_update",
        "whitelist_records_query",
        "whitelist_records_add",
        "whitelist_records_delete",
        "whitelist_record_update",
    ):
        assert operation in schema
