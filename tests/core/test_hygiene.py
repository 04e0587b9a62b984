"""Input hygiene at the door (apps/core/hygiene.py, apps/core/parsers.py): NUL, lone
surrogates and invalid UTF-8 are refused where a request is decoded, on every surface,
before any serializer or database sees them; nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apps.channels.models import Channel
from apps.members.models import Member
from apps.organizations.models import Organization, StaffRole
from tests.factories import ChannelFactory, StaffRoleFactory
from tests.personas import TokenClient

FORM = "application/x-www-form-urlencoded"


def _json_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert body["status"] == "error"
    assert body["code"] == code
    return body


@pytest.fixture
def console(org: Organization) -> Client:
    staff = StaffRoleFactory(organization=org, role=StaffRole.Role.MODERATOR)
    client = Client()
    client.force_login(staff.account)
    return client


# --- paths ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/channel/a%00b/close",
        "/api/v2/users/a%00b/flags",
        "/api/v2/channel/a%C2%85b",
        "/api/messenger/chatrooms/1%00",
    ],
)
def test_a_control_character_in_an_api_path_is_a_json_404(api: TokenClient, path: str) -> None:
    for method in ("get", "post", "put", "delete"):
        _json_error(getattr(api, method)(path), 404, "not_found")


def test_a_nul_in_a_console_path_is_a_404_page(console: Client, org: Organization) -> None:
    response = console.get(f"/console/{org.slug}/channels/a%00b/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- query strings ------------------------------------------------------------------------


def test_a_nul_in_a_query_value_is_a_400_naming_the_parameter(api: TokenClient) -> None:
    body = _json_error(api.get("/api/v2/channels?channelId=a%00b"), 400, "invalid_parameter")
    assert body["field"] == "channelId"


def test_invalid_utf8_in_a_query_string_is_a_400(api: TokenClient) -> None:
    _json_error(api.get("/api/v2/channels?channelId=fff%FF"), 400, "invalid_parameter")


def test_a_nul_in_a_console_query_is_a_400_page(console: Client, org: Organization) -> None:
    response = console.get(f"/console/{org.slug}/filters/?q=a%00")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"U+0000" in response.content


# --- urlencoded bodies ------------------------------------------------------------------


def test_invalid_utf8_in_a_form_body_is_malformed_and_writes_nothing(api: TokenClient) -> None:
    response = api.generic(
        "POST", "/api/v2/channel", "channelId=fff%FF&type=standard", content_type=FORM
    )
    _json_error(response, 400, "malformed_body")
    assert not Channel.objects.exists()


def test_a_nul_in_a_form_value_is_refused_and_writes_nothing(api: TokenClient) -> None:
    response = api.generic(
        "POST",
        "/api/v2/channel",
        "channelId=ok&type=standard&displayName=a%00b",
        content_type=FORM,
    )
    assert _json_error(response, 400, "invalid_parameter")["field"] == "displayName"
    assert not Channel.objects.exists()


def test_a_form_body_in_its_declared_charset_is_read_in_that_charset(api: TokenClient) -> None:
    response = api.generic(
        "POST",
        "/api/v2/channel",
        "channelId=caf%E9&type=standard",
        content_type=f"{FORM}; charset=latin-1",
    )
    assert response.status_code == 201, response.content
    assert Channel.objects.get().channel_id == "café"


def test_a_well_formed_utf8_form_body_still_works(api: TokenClient) -> None:
    response = api.generic(
        "POST", "/api/v2/channel", "channelId=caf%C3%A9&type=standard", content_type=FORM
    )
    assert response.status_code == 201, response.content


# --- JSON bodies --------------------------------------------------------------------------

NUL_AND_SURROGATES = [
    ('{"channelId": "a", "type": "standard", "metadata": {"k": "a\\u0000b"}}', "metadata.k"),
    ('{"channelId": "a", "type": "standard", "metadata": {"a\\u0000": "v"}}', "metadata"),
    ('{"channelId": "a", "type": "standard", "metadata": {"k": "\\ud800"}}', "metadata.k"),
    ('{"channelId": "a", "type": "standard", "metadata": {"\\udfff": 1}}', "metadata"),
    ('{"channelId": "a", "type": "standard", "tags": ["x", "\\u0000"]}', "tags[1]"),
    ('{"channelId": "a\\u0000", "type": "standard"}', "channelId"),
    (
        '{"channelId": "a", "type": "standard", "metadata": {"d": {"e": ["\\ud83d"]}}}',
        "metadata.d.e[0]",
    ),
]


@pytest.mark.parametrize(("body", "field"), NUL_AND_SURROGATES)
def test_nul_or_a_lone_surrogate_anywhere_in_json_is_refused_naming_where(
    api: TokenClient, body: str, field: str
) -> None:
    response = api.generic("POST", "/api/v2/channel", body, content_type="application/json")
    assert _json_error(response, 400, "invalid_parameter")["field"] == field
    assert not Channel.objects.exists()


def test_a_surrogate_pair_is_a_character_and_is_accepted(api: TokenClient) -> None:
    body = '{"channelId": "a", "type": "standard", "displayName": "\\ud83d\\ude00"}'
    response = api.generic("POST", "/api/v2/channel", body, content_type="application/json")
    assert response.status_code == 201, response.content
    assert Channel.objects.get().display_name == "\U0001f600"


def test_a_duplicate_json_key_is_a_malformed_body(api: TokenClient) -> None:
    body = '{"channelId": "a", "type": "standard", "channelId": "b"}'
    response = api.generic("POST", "/api/v2/channel", body, content_type="application/json")
    body_ = _json_error(response, 400, "malformed_body")
    assert "duplicate key" in body_["message"]
    assert not Channel.objects.exists()


def test_a_nul_in_a_json_message_text_is_refused_before_the_member_is_provisioned(
    api: TokenClient, org: Organization
) -> None:
    ChannelFactory(organization=org, channel_id="room")
    body = (
        '{"channelId": "room", "userId": "new-user", "type": "text", "data": {"text": "a\\u0000b"}}'
    )
    response = api.generic("POST", "/api/v2/message", body, content_type="application/json")
    assert _json_error(response, 400, "invalid_parameter")["field"] == "data.text"
    assert not Member.objects.filter(user_id="new-user").exists()


# --- multipart ------------------------------------------------------------------------------


def test_a_nul_in_a_multipart_field_is_refused(api: TokenClient) -> None:
    response = api.post(
        "/api/v2/channel",
        {"channelId": "a", "type": "standard", "displayName": "a\x00b"},
        format="multipart",
    )
    assert _json_error(response, 400, "invalid_parameter")["field"] == "displayName"
    assert not Channel.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF", "%C0%AF"])
def test_a_path_that_is_not_utf8_names_nothing_and_creates_nothing(
    api: TokenClient, raw: str
) -> None:
    """Django would decode it leniently (``%ED%A0%80`` as that text): a route that creates
    what its path names would create a channel of that name."""
    response = api.put(f"/api/v2/channel/c{raw}", {"type": "standard"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not Channel.objects.exists()
