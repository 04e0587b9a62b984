"""POST /api/v2/channel and POST /api/v2/channel/displayName."""

from __future__ import annotations

from typing import Any

import pytest

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.members.models import Member
from tests.builders import form, joined_user_ids, last_audit, snapshot
from tests.personas import TokenClient

URL = "/api/v2/channel"


def test_it_creates_a_channel_with_tags_metadata_and_members(org: Any, api: TokenClient) -> None:
    response = api.post(
        URL,
        {
            "channelId": "general",
            "type": "standard",
            "displayName": "General",
            "metadata": {"color": "red"},
            "tags": ["team", "public"],
            "userIds": ["alice", "bob"],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()["channel"]
    assert body["channelId"] == "general"
    assert body["type"] == "standard"
    assert body["displayName"] == "General"
    assert body["metadata"] == {"color": "red"}
    assert body["tags"] == ["public", "team"]
    assert body["memberCount"] == 2
    assert body["messageCount"] == 0
    assert body["isMuted"] is False
    assert body["muteTimeout"] is None
    assert body["isClosed"] is False
    assert body["createdAt"].endswith("Z")
    assert body["updatedAt"].endswith("Z")
    assert body["lastActivity"].endswith("Z")
    channel = Channel.objects.get(organization=org, channel_id="general")
    assert joined_user_ids(channel) == ["alice", "bob"]


def test_it_provisions_unknown_user_ids(org: Any, api: TokenClient) -> None:
    api.post(URL, {"channelId": "c", "type": "standard", "userIds": ["new1"]}, format="json")
    assert Member.objects.filter(organization=org, user_id="new1").exists()


def test_it_accepts_a_form_body(org: Any, api: TokenClient) -> None:
    response = form(
        api,
        "post",
        URL,
        {
            "channelId": "general",
            "type": "standard",
            "metadata": {"color": "red"},
            "tags": ["a", "b"],
            "userIds": ["alice"],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()["channel"]
    assert body["metadata"] == {"color": "red"}
    assert body["tags"] == ["a", "b"]
    assert body["memberCount"] == 1


def test_display_name_defaults_to_the_channel_id(api: TokenClient) -> None:
    response = api.post(URL, {"channelId": "general", "type": "standard"}, format="json")
    assert response.json()["channel"]["displayName"] == "general"


def test_it_audits_the_creation(org: Any, api: TokenClient) -> None:
    api.post(URL, {"channelId": "general", "type": "standard", "userIds": ["a"]}, format="json")
    entry = last_audit(org)
    assert entry.action == "channel.create"
    assert (entry.target_type, entry.target_id) == ("channel", "general")
    assert entry.actor_account.email == "admin@acme.test"
    assert entry.actor_token is not None
    assert entry.after["userIds"] == ["a"]


def test_a_duplicate_channel_id_is_409_and_writes_nothing(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    make_channel("general")
    before = snapshot(org)
    response = api.post(
        URL, {"channelId": "general", "type": "standard", "userIds": ["zed"]}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "channel_exists"
    assert snapshot(org) == before


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"type": "standard"}, "missing_parameter", "channelId"),
        ({"channelId": "c"}, "missing_parameter", "type"),
        ({"channelId": "c", "type": "private"}, "invalid_parameter", "type"),
        ({"channelId": "", "type": "standard"}, "invalid_parameter", "channelId"),
        ({"channelId": "a/b", "type": "standard"}, "invalid_parameter", "channelId"),
        ({"channelId": "a\nb", "type": "standard"}, "invalid_parameter", "channelId"),
        ({"channelId": "x" * 129, "type": "standard"}, "invalid_parameter", "channelId"),
        (
            {"channelId": "c", "type": "standard", "displayName": "x" * 256},
            "invalid_parameter",
            "displayName",
        ),
        ({"channelId": "c", "type": "standard", "metadata": [1]}, "invalid_parameter", "metadata"),
        (
            {"channelId": "c", "type": "standard", "metadata": {"k": "x" * 17000}},
            "invalid_parameter",
            "metadata",
        ),
        (
            {"channelId": "c", "type": "standard", "tags": [f"t{i}" for i in range(51)]},
            "invalid_parameter",
            "tags",
        ),
        ({"channelId": "c", "type": "standard", "tags": ["x" * 65]}, "invalid_parameter", "tags"),
        (
            {"channelId": "c", "type": "standard", "userIds": {"a": 1}},
            "invalid_parameter",
            "userIds",
        ),
        (
            {"channelId": "c", "type": "standard", "userIds": [f"u{i}" for i in range(1001)]},
            "invalid_parameter",
            "userIds",
        ),
    ],
)
def test_it_rejects_bad_input_with_the_field(
    org: Any, api: TokenClient, body: dict[str, Any], code: str, field: str
) -> None:
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"].startswith(field)
    assert not Channel.objects.filter(organization=org).exists()
    assert not AuditEntry.objects.filter(organization=org).exists()


@pytest.mark.parametrize("channel_type", ["custom", "event", "default", "Standard", ""])
def test_only_the_standard_type_can_be_created_through_v2(
    org: Any, api: TokenClient, channel_type: str
) -> None:
    """custom, event and default chatrooms belong to the chatroom service: a v2 create
    naming one is refused like any unknown type, and nothing is made or audited."""
    for send in (
        lambda body: api.post(URL, body, format="json"),
        lambda body: form(api, "post", URL, body),
    ):
        response = send({"channelId": "c", "type": channel_type})
        assert response.status_code == 400, response.json()
        assert response.json()["code"] == "invalid_parameter"
        assert response.json()["field"] == "type"
    assert not Channel.objects.filter(organization=org).exists()
    assert not AuditEntry.objects.filter(organization=org).exists()


def test_a_v2_create_cannot_block_the_default_chatroom_of_the_organization(
    org: Any, api: TokenClient
) -> None:
    from apps.audit.actor import Actor
    from apps.channels.services.chatrooms import chatroom_default_create

    refused = api.post(URL, {"channelId": "lobby", "type": "default"}, format="json")
    assert refused.status_code == 400

    default = chatroom_default_create(organization=org, actor=Actor.system())
    assert default.type == Channel.Type.DEFAULT
    assert list(Channel.objects.filter(organization=org).values_list("type", flat=True)) == [
        "default"
    ]


def test_a_malformed_json_body_is_400(api: TokenClient) -> None:
    response = api.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_body"


# --- displayName -------------------------------------------------------------------------

DN_URL = "/api/v2/channel/displayName"


def test_it_renames_a_channel_and_audits_before_and_after(
    org: Any, api: TokenClient, make_channel: Any
) -> None:
    make_channel("general", display_name="Old")
    response = api.post(DN_URL, {"channelId": "general", "displayName": "New"}, format="json")
    assert response.status_code == 200
    assert response.json()["channel"]["displayName"] == "New"
    entry = last_audit(org)
    assert entry.action == "channel.displayName"
    assert entry.target_id == "general"
    assert entry.before == {"displayName": "Old"}
    assert entry.after == {"displayName": "New"}


def test_rename_accepts_a_form_body(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    response = form(api, "post", DN_URL, {"channelId": "general", "displayName": "Form"})
    assert response.status_code == 200
    assert response.json()["channel"]["displayName"] == "Form"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"displayName": "x"}, "missing_parameter", "channelId"),
        ({"channelId": "general"}, "missing_parameter", "displayName"),
        ({"channelId": "general", "displayName": ""}, "invalid_parameter", "displayName"),
        ({"channelId": "general", "displayName": "x" * 256}, "invalid_parameter", "displayName"),
    ],
)
def test_rename_rejects_bad_input(
    api: TokenClient, make_channel: Any, body: dict[str, Any], code: str, field: str
) -> None:
    make_channel("general")
    response = api.post(DN_URL, body, format="json")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (code, field)


def test_rename_of_a_closed_channel_is_refused(api: TokenClient, make_channel: Any) -> None:
    make_channel("general")
    api.post("/api/v2/channel/general/close", format="json")
    response = api.post(DN_URL, {"channelId": "general", "displayName": "x"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"
