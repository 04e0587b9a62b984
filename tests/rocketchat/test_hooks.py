"""``POST /hooks/{_id}/{token}``: Rocket.Chat's incoming payload, as JSON, as ``payload=``
or as form fields, posted as the integration's bot through the posting rules every surface
shares; unknown URLs, disabled integrations, the call limit and hostile bodies."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import override_settings

from apps.channels.models import Channel
from apps.channels.services.channels import channel_users_ban, channel_users_mute
from apps.channels.services.conversations import channel_archive
from apps.integrations.models import Integration, IntegrationHistory
from apps.integrations.services.integrations import integration_create
from apps.members.models import Member
from apps.members.services import member_ban, member_deactivate
from apps.messages.models import Message
from apps.organizations.models import Organization
from apps.retention.services import channel_close
from tests.builders import blacklist
from tests.factories import ChannelFactory
from tests.personas import SYSTEM

from .conftest import RocketClient, create_incoming

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(rc: RocketClient, general: Channel, no_interval: Any) -> dict[str, Any]:
    """An incoming integration of acme posting as ``ci.bot`` into #general."""
    return create_incoming(rc, alias="CI")


def _url(doc: dict[str, Any], token: str | None = None) -> str:
    return f"/hooks/{doc['_id']}/{token if token is not None else doc['token']}"


def _post(doc: dict[str, Any], body: Any, **kwargs: Any) -> Any:
    return RocketClient().post(_url(doc), body, format="json", **kwargs)


def _error(response: Any) -> tuple[int, str]:
    body = response.json()
    assert body["success"] is False and isinstance(body["error"], str), body
    return response.status_code, body.get("errorType", "")


def _messages(channel: Channel) -> list[Message]:
    return list(Message.objects.filter(channel=channel).order_by("pk"))


# --- success --------------------------------------------------------------------------------


def test_a_json_payload_posts_as_the_bot_into_the_channel(
    hook: dict[str, Any], general: Channel
) -> None:
    response = _post(
        hook,
        {
            "text": "Build #42 passed",
            "emoji": ":rocket:",
            "attachments": [{"title": "Build", "title_link": "https://ci.example/42"}],
        },
    )
    assert response.status_code == 200
    assert response.json() == {"success": True}
    [message] = _messages(general)
    assert message.author.user_id == "ci.bot"
    assert message.data["text"] == "Build #42 passed"
    assert message.data["alias"] == "CI" and message.data["emoji"] == ":rocket:"
    assert message.data["attachments"] == [
        {"title": "Build", "title_link": "https://ci.example/42"}
    ]
    assert message.data["bot"] == {"i": hook["_id"]}


def test_a_form_field_payload_is_read_as_json(hook: dict[str, Any], general: Channel) -> None:
    body = urlencode({"payload": json.dumps({"text": "from slack", "icon_emoji": ":bell:"})})
    response = RocketClient().post(
        _url(hook), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    [message] = _messages(general)
    assert message.data["text"] == "from slack" and message.data["emoji"] == ":bell:"


def test_plain_form_fields_are_the_payload(hook: dict[str, Any], general: Channel) -> None:
    body = urlencode(
        {"text": "form text", "username": "Deployer", "attachments[0][title]": "Release"}
    )
    response = RocketClient().post(
        _url(hook), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    [message] = _messages(general)
    assert message.data["text"] == "form text"
    assert message.data["alias"] == "Deployer"  # Slack's username is the alias
    assert message.data["attachments"] == [{"title": "Release"}]


def test_json_sent_as_a_form_is_read_as_json_as_rocketchat_does(
    hook: dict[str, Any], general: Channel
) -> None:
    body = json.dumps({"text": "curl -d sent me", "icon_url": "https://img.example/a.png"})
    response = RocketClient().post(
        _url(hook), body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200, response.content
    [message] = _messages(general)
    assert message.data["text"] == "curl -d sent me"
    assert message.data["avatar"] == "https://img.example/a.png"


def test_attachments_alone_make_a_message(hook: dict[str, Any], general: Channel) -> None:
    response = _post(hook, {"attachments": [{"text": "only an attachment"}]})
    assert response.status_code == 200
    [message] = _messages(general)
    assert message.type == Message.Type.CUSTOM
    assert message.data["attachments"] == [{"text": "only an attachment"}]


def test_the_call_is_recorded_with_a_safe_subset_of_its_headers(
    hook: dict[str, Any],
) -> None:
    response = RocketClient().post(
        _url(hook) + "?source=ci",
        {"text": "hello"},
        format="json",
        HTTP_AUTHORIZATION="Bearer secret",
        HTTP_COOKIE="sessionid=abc",
        HTTP_X_HUB_SIGNATURE="sha1=abc",
        HTTP_X_FORWARDED_FOR="10.0.0.1",
        HTTP_X_GITHUB_EVENT="push",
    )
    assert response.status_code == 200
    entry = IntegrationHistory.objects.get(integration_id=int(hook["_id"]))
    assert entry.data["content"] == {"text": "hello"}
    assert entry.data["query"] == {"source": "ci"}
    headers = entry.data["headers"]
    assert headers["x-github-event"] == "push"
    assert not {"authorization", "cookie", "x-hub-signature", "x-forwarded-for"} & set(headers)


def test_a_channel_override_is_honoured_only_when_allowed(
    org: Organization, rc: RocketClient, hook: dict[str, Any], general: Channel
) -> None:
    ops = ChannelFactory(organization=org, channel_id="ops", display_name="Ops")
    refused = _post(hook, {"text": "elsewhere", "channel": "#ops"})
    assert _error(refused) == (403, "not_authorized")
    assert not Message.objects.exists()
    rc.call(
        "put",
        "integrations.update",
        {
            "type": "webhook-incoming",
            "integrationId": hook["_id"],
            "overrideDestinationChannelEnabled": True,
        },
    )
    # allowed now; the posting rule still applies: the bot is no member of #ops
    assert _error(_post(hook, {"text": "elsewhere", "channel": "#ops"})) == (403, "not_a_member")
    assert _error(_post(hook, {"text": "x", "channel": "#nowhere"})) == (
        400,
        "error-invalid-channel",
    )
    assert _error(_post(hook, {"text": "x", "channel": "nowhere"})) == (
        400,
        "error-invalid-channel-start-with-chars",
    )
    response = _post(hook, {"text": "both", "channel": ["#general", "#ops"]})
    assert _error(response) == (403, "not_a_member")  # all channels or none
    assert not Message.objects.exists()
    assert _post(hook, {"text": "here", "channel": "#general"}).status_code == 200
    assert [m.channel_id for m in Message.objects.all()] == [general.pk]
    assert ops.pk


def test_a_channel_override_into_a_channel_the_bot_belongs_to(
    org: Organization, rc: RocketClient, general: Channel, no_interval: Any
) -> None:
    ChannelFactory(organization=org, channel_id="ops", display_name="Ops")
    doc = create_incoming(rc, channel="#general,#ops", overrideDestinationChannelEnabled=True)
    response = _post(doc, {"text": "only ops", "roomId": "ops"})
    assert response.status_code == 200, response.content
    assert [m.channel.channel_id for m in Message.objects.all()] == ["ops"]


def test_without_override_a_multi_channel_integration_posts_into_each(
    org: Organization, rc: RocketClient, general: Channel, no_interval: Any
) -> None:
    ops = ChannelFactory(organization=org, channel_id="ops", display_name="Ops")
    doc = create_incoming(rc, channel="#general,#ops")
    assert _post(doc, {"text": "everywhere"}).status_code == 200
    assert len(_messages(general)) == 1 and len(_messages(ops)) == 1


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/hooks/{id}/wrong-token",
        "/hooks/999999/{token}",
        "/hooks/abc/{token}",
        "/hooks/{id}/{token}/extra",
        "/hooks/{id}",
        "/hooks/",
    ],
)
def test_an_unknown_url_is_404(hook: dict[str, Any], url: str) -> None:
    response = RocketClient().post(
        url.format(id=hook["_id"], token=hook["token"]), {"text": "x"}, format="json"
    )
    assert _error(response) == (
        404,
        "not_found" if url.count("/") != 3 else "integration_not_found",
    )
    assert not Message.objects.exists()


def test_another_integrations_token_or_another_doors_id_is_404(
    org: Organization, rc: RocketClient, hook: dict[str, Any], general: Channel
) -> None:
    other = create_incoming(rc, name="Other")
    assert (
        _error(RocketClient().post(_url(hook, other["token"]), {"text": "x"}, format="json"))[0]
        == 404
    )
    stackfield = integration_create(
        organization=org,
        actor=SYSTEM,
        flavor=Integration.Flavor.STACKFIELD,
        direction="incoming",
        kind="chat-message",
        channel=general,
        username="sf.bot",
    )
    response = RocketClient().post(
        f"/hooks/{stackfield.integration.pk}/{stackfield.token}", {"text": "x"}, format="json"
    )
    assert _error(response) == (404, "integration_not_found")
    assert not Message.objects.exists()


def test_another_organizations_integration_token_cannot_post_here(
    other_org: Organization, rc: RocketClient, other_rc: RocketClient, hook: dict[str, Any]
) -> None:
    ChannelFactory(organization=other_org, channel_id="general")
    theirs = create_incoming(other_rc)
    response = RocketClient().post(_url(hook, theirs["token"]), {"text": "x"}, format="json")
    assert _error(response) == (404, "integration_not_found")
    response = RocketClient().post(
        f"/hooks/{theirs['_id']}/{hook['token']}", {"text": "x"}, format="json"
    )
    assert _error(response) == (404, "integration_not_found")


def test_a_disabled_integration_is_503(rc: RocketClient, hook: dict[str, Any]) -> None:
    rc.call(
        "put",
        "integrations.update",
        {"type": "webhook-incoming", "integrationId": hook["_id"], "enabled": False},
    )
    assert _error(_post(hook, {"text": "x"})) == (503, "integration_disabled")
    assert not Message.objects.exists()


def test_the_second_call_within_the_interval_is_429_with_retry_after(
    rc: RocketClient, general: Channel
) -> None:
    doc = create_incoming(rc)
    with override_settings(CHATADMIN={**settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 60}):
        assert _post(doc, {"text": "one"}).status_code == 200
        response = _post(doc, {"text": "two"})
    assert _error(response) == (429, "error-too-many-requests")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert len(_messages(general)) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": 5},
        {"text": ["a"]},
        {"text": "x", "alias": {"a": 1}},
        {"text": "x", "attachments": "not a list"},
        {"text": "x", "attachments": [1, 2]},
        {"text": "x", "attachments": [{}] * 21},
        {"text": "x" * 10_001},
        {"text": "x", "channel": 5},
        {"text": "x", "channel": {"$ne": 1}},
    ],
)
def test_a_bad_payload_is_400_and_posts_nothing(hook: dict[str, Any], body: dict) -> None:
    status, error_type = _error(_post(hook, body))
    assert status == 400 and error_type == "invalid-params"
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{not json", "application/json", (400, "invalid-params")),
        (b'{"text": "\xff\xfe"}', "application/json", (400, "invalid-params")),
        (b"[" * 500 + b"]" * 500, "application/json", (400, "invalid-params")),
        (b'{"text": "x", "text": "y"}', "application/json", (400, "invalid-params")),
        (b'"text"', "application/json", (400, "invalid-params")),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded", (400, "invalid-params")),
        (b"payload=%5B1%5D", "application/x-www-form-urlencoded", (400, "invalid-params")),
        (b"payload=%7B%7D&text=x", "application/x-www-form-urlencoded", (400, "invalid-params")),
        (b"text=%FF", "application/x-www-form-urlencoded", (400, "invalid-params")),
        (b'{"text": "\xff"}', "application/x-www-form-urlencoded", (400, "invalid-params")),
        (b"{" + b'"a":{' * 100 + b"}" * 101, "application/x-www-form-urlencoded",
         (400, "invalid-params")),
        (b"just text", "text/plain", (415, "unsupported_media_type")),
        (json.dumps({"text": "x" * 1_100_000}).encode(), "application/json",
         (413, "payload_too_large")),
    ],
)  # fmt: skip
def test_a_hostile_body_is_a_4xx_and_writes_nothing(
    hook: dict[str, Any], body: bytes, content_type: str, expected: tuple
) -> None:
    response = RocketClient().generic("POST", _url(hook), body, content_type=content_type)
    assert _error(response) == expected
    assert not Message.objects.exists()
    assert not IntegrationHistory.objects.exists()


# --- the posting rules ----------------------------------------------------------------------


def test_a_muted_bot_cannot_post(hook: dict[str, Any], general: Channel) -> None:
    channel_users_mute(channel=general, actor=SYSTEM, user_ids=["ci.bot"], mute_period=-1)
    assert _error(_post(hook, {"text": "x"})) == (403, "user_muted")
    assert not Message.objects.exists()
    entry = IntegrationHistory.objects.get()
    assert entry.step == "incoming-refused" and entry.error


def test_a_bot_banned_from_the_channel_or_the_organization_cannot_post(
    org: Organization, hook: dict[str, Any], general: Channel
) -> None:
    channel_users_ban(channel=general, actor=SYSTEM, user_ids=["ci.bot"])
    assert _error(_post(hook, {"text": "x"}))[0] == 403
    member_ban(actor=SYSTEM, member=Member.objects.get(organization=org, user_id="ci.bot"))
    assert _error(_post(hook, {"text": "x"}))[0] == 403
    assert not Message.objects.exists()


def test_a_closed_channel_refuses_the_post(hook: dict[str, Any], general: Channel) -> None:
    channel_close(channel=general, actor=SYSTEM)
    assert _error(_post(hook, {"text": "x"})) == (403, "channel_closed")
    assert not Message.objects.filter(channel=general).exists()


def test_an_archived_channel_refuses_the_post(hook: dict[str, Any], general: Channel) -> None:
    channel_archive(channel=general, actor=SYSTEM)
    assert _error(_post(hook, {"text": "x"})) == (403, "channel_archived")
    assert not Message.objects.exists()


def test_blacklisted_text_is_refused_in_the_text_and_in_attachments(
    org: Organization, hook: dict[str, Any]
) -> None:
    blacklist(org, "forbiddenword")
    assert _error(_post(hook, {"text": "a forbiddenword here"})) == (400, "blacklisted_content")
    for field in ("title", "text", "pretext", "author_name", "footer"):
        body = {"text": "clean", "attachments": [{field: "the forbiddenword"}]}
        assert _error(_post(hook, body)) == (400, "blacklisted_content"), field
    assert not Message.objects.exists()


def test_a_deactivated_bot_cannot_post(org: Organization, hook: dict[str, Any]) -> None:
    member_deactivate(actor=SYSTEM, member=Member.objects.get(organization=org, user_id="ci.bot"))
    assert _error(_post(hook, {"text": "x"})) == (403, "user_deactivated")
    assert not Message.objects.exists()


@pytest.mark.parametrize("path", ["/hooks/1/abc", "/api/v1/integrations.create"])
def test_a_body_refused_before_any_view_is_in_rocketchats_body(path: str) -> None:
    response = RocketClient().generic(
        "POST", path, b"{}", content_type="application/json", CONTENT_LENGTH="12x"
    )
    assert _error(response) == (400, "invalid-params")
    chunked = RocketClient().generic(
        "POST", path, b"", content_type="application/json", HTTP_TRANSFER_ENCODING="chunked"
    )
    assert _error(chunked) == (411, "length_required")
