"""``POST`` and ``DELETE /webhooks/{webhookID}/{webhookToken}``: no session, the token is
the authorization; a post goes through ``message_create`` as the bot (every posting rule
applies, refusals write no message), ``avatarURL`` is never fetched."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.utils import timezone

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.channels.services.channels import channel_users_mute
from apps.channels.services.conversations import conversation_state_set
from apps.events.models import Event
from apps.integrations.models import Integration, IntegrationHistory
from apps.integrations.services.integrations import integration_create, integration_update
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import MAX_TEXT_LENGTH
from apps.retention.services import channel_close
from tests.builders import blacklist
from tests.personas import SYSTEM, MessagingClient

from .conftest import error, make_webhook, public_url

pytestmark = pytest.mark.django_db

NO_LIMIT = {"WEBHOOK_MIN_INTERVAL_SECONDS": 0}


@pytest.fixture(autouse=True)
def _no_rate_limit(settings: Any) -> None:
    """Tests that post several times to one URL: the per-URL rate limit off (one test
    puts it back)."""
    settings.CHATADMIN = {**settings.CHATADMIN, **NO_LIMIT}


@pytest.fixture
def hook(org_admin: Member, room: Channel, bot: Member) -> tuple[Integration, str]:
    issued = make_webhook(org_admin, room, bot, alias="CI", avatar_url="https://ci.example/a.png")
    return issued.integration, issued.token


@pytest.fixture
def url(hook: tuple[Integration, str]) -> str:
    return public_url(*hook)


def writes() -> tuple[int, int]:
    """(messages, events): what a refused post must not add."""
    return Message.objects.count(), Event.objects.count()


# --- post ------------------------------------------------------------------------------------


def test_a_post_is_a_message_of_the_bot_with_the_webhooks_name(
    anon: MessagingClient, url: str, hook: tuple[Integration, str], room: Channel, bot: Member
) -> None:
    response = anon.post(url, {"content": "build **green**"})
    assert response.status_code == 201, response.content
    body = response.json()["response"]
    message = Message.objects.get()
    assert body["messageID"] == str(message.pk) and body["message"] == "build **green**"
    assert body["channelID"] == str(room.pk) and body["userID"] == str(bot.pk)
    assert body["type"] == "text" and body["canEdit"] is True
    assert message.author == bot
    assert message.data["alias"] == "CI" and message.data["avatar"] == "https://ci.example/a.png"
    assert message.data["bot"] == {"i": str(hook[0].pk)}
    history = IntegrationHistory.objects.get(integration=hook[0])
    assert history.step == "incoming-posted" and history.message_id == str(message.public_id)


def test_username_and_avatar_url_of_the_call_win(anon: MessagingClient, url: str) -> None:
    response = anon.post(
        url, {"content": "hi", "username": "Deploy bot", "avatarURL": "https://x.example/b.png"}
    )
    assert response.status_code == 201, response.content
    data = Message.objects.get().data
    assert data["alias"] == "Deploy bot" and data["avatar"] == "https://x.example/b.png"


def test_the_parameters_may_come_in_the_query_string(anon: MessagingClient, url: str) -> None:
    response = anon.post(f"{url}?{urlencode({'content': 'from the query', 'username': 'Q'})}")
    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert message.data["text"] == "from the query" and message.data["alias"] == "Q"


def test_a_form_body_works_and_wins_over_the_query(anon: MessagingClient, url: str) -> None:
    response = anon.post(f"{url}?content=query", {"content": "body"}, format="multipart")
    assert response.status_code == 201, response.content
    response = anon.post(url, "content=form", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    assert [m.data["text"] for m in Message.objects.order_by("pk")] == ["body", "form"]


def test_avatar_url_is_echoed_and_never_fetched(
    anon: MessagingClient, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialled: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        dialled.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    response = anon.post(url, {"content": "hi", "avatarURL": "http://127.0.0.1:1/x.png"})
    assert response.status_code == 201, response.content
    assert Message.objects.get().data["avatar"] == "http://127.0.0.1:1/x.png"
    assert dialled == []


def test_a_session_is_not_needed_nor_used(as_alice: MessagingClient, url: str, bot: Member) -> None:
    response = as_alice.post(url, {"content": "hi"})
    assert response.status_code == 201
    assert Message.objects.get().author == bot


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({}, "missing_parameter", "content"),
        ({"content": ""}, "invalid_parameter", "content"),
        ({"content": "   \u200b "}, "invalid_parameter", "content"),
        ({"content": "x" * (MAX_TEXT_LENGTH + 1)}, "invalid_parameter", "content"),
        ({"content": 42}, "invalid_parameter", "content"),
        ({"content": ["a", "b"]}, "invalid_parameter", "content"),
        ({"content": {"text": "hi"}}, "invalid_parameter", "content"),
        ({"content": None}, "invalid_parameter", "content"),
        ({"content": "hi", "username": 7}, "invalid_parameter", "username"),
        ({"content": "hi", "username": "u" * 256}, "invalid_parameter", "username"),
        ({"content": "hi", "avatarURL": "javascript:alert(1)"}, "invalid_parameter", "avatarURL"),
        ({"content": "hi", "avatarURL": "//x.example/a.png"}, "invalid_parameter", "avatarURL"),
        ({"content": "hi", "avatarURL": True}, "invalid_parameter", "avatarURL"),
    ],
)
def test_a_bad_post_is_400_and_writes_nothing(
    anon: MessagingClient, url: str, body: dict[str, Any], code: str, field: str
) -> None:
    before = writes()
    assert error(anon.post(url, body)) == (400, code, field)
    assert writes() == before


def test_a_huge_body_is_413(anon: MessagingClient, url: str) -> None:
    response = anon.post(url, {"content": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert error(response)[:2] == (413, "payload_too_large")
    assert not Message.objects.exists()


def test_a_json_array_or_malformed_body_is_400(anon: MessagingClient, url: str) -> None:
    response = anon.post(url, "[1, 2]", content_type="application/json")
    assert error(response)[:2] == (400, "malformed_body")
    response = anon.post(url, '{"content": ', content_type="application/json")
    assert error(response)[0] == 400
    assert not Message.objects.exists()


def test_an_unknown_id_or_a_wrong_token_is_404(
    anon: MessagingClient, hook: tuple[Integration, str], org_admin: Member, room: Channel
) -> None:
    integration, token = hook
    other = make_webhook(org_admin, room, integration.bot)
    for path in (
        public_url(integration, token[:-1] + ("A" if token[-1] != "A" else "B")),
        public_url(integration, other.token),  # another webhook's token
        public_url(other.integration.pk + 1000, token),
        public_url(2**63, token),
        public_url(integration, "x" * 300),
    ):
        assert error(anon.post(path, {"content": "hi"}))[:2] == (404, "integration_not_found")
        assert error(anon.delete(path))[:2] == (404, "integration_not_found")
    assert not Message.objects.exists() and Integration.objects.count() == 2


def test_another_organizations_webhook_answers_only_its_own_token(
    anon: MessagingClient,
    hook: tuple[Integration, str],
    their_admin: Member,
    their_room: Channel,
    their_bot: Member,
) -> None:
    theirs = make_webhook(their_admin, their_room, their_bot)
    assert error(anon.post(public_url(theirs.integration, hook[1]), {"content": "x"}))[:2] == (
        404,
        "integration_not_found",
    )
    assert error(anon.post(public_url(hook[0], theirs.token), {"content": "x"}))[:2] == (
        404,
        "integration_not_found",
    )
    assert not Message.objects.exists()


def test_an_outgoing_webhook_has_no_public_url(
    anon: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    outgoing = make_webhook(
        org_admin, room, bot, direction="outgoing", urls=["https://x.example"]
    ).integration
    assert error(anon.post(public_url(outgoing, "anything"), {"content": "x"}))[:2] == (
        404,
        "integration_not_found",
    )


def test_a_webhook_of_another_door_has_no_url_here(
    anon: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    rocket = integration_create(
        organization=org_admin.organization,
        actor=SYSTEM,
        flavor="rocketchat",
        direction="incoming",
        targets=[f"#{room.channel_id}"],
        bot=bot,
    )
    path = public_url(rocket.integration, rocket.token)
    assert error(anon.post(path, {"content": "x"}))[:2] == (404, "integration_not_found")


def test_a_disabled_webhook_is_503_and_writes_nothing(
    anon: MessagingClient, url: str, hook: tuple[Integration, str]
) -> None:
    integration_update(actor=SYSTEM, integration=hook[0], enabled=False)
    before = writes()
    assert error(anon.post(url, {"content": "hi"}))[:2] == (503, "integration_disabled")
    assert error(anon.delete(url))[:2] == (503, "integration_disabled")
    assert writes() == before and Integration.objects.filter(pk=hook[0].pk).exists()
    assert not IntegrationHistory.objects.exists()


def test_one_call_per_interval_per_url(
    anon: MessagingClient, url: str, settings: Any, hook: tuple[Integration, str]
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "WEBHOOK_MIN_INTERVAL_SECONDS": 60}
    assert anon.post(url, {"content": "one"}).status_code == 201
    response = anon.post(url, {"content": "two"})
    assert error(response)[:2] == (429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Message.objects.count() == 1


# --- the posting rules -------------------------------------------------------------------------


def _refused(anon: MessagingClient, url: str, integration: Integration) -> tuple[int, str]:
    before = writes()
    status, code, _field = error(anon.post(url, {"content": "a darn build"}))
    assert writes() == before, "a refused post wrote something"
    history = IntegrationHistory.objects.get(integration=integration)
    assert history.step == "incoming-refused" and history.error
    return status, code


def test_blacklisted_content_is_refused(
    anon: MessagingClient, url: str, hook: tuple[Integration, str], org: Any
) -> None:
    blacklist(org, "darn")
    assert _refused(anon, url, hook[0]) == (400, "blacklisted_content")


def test_a_muted_bot_is_refused(
    anon: MessagingClient, url: str, hook: tuple[Integration, str], room: Channel, bot: Member
) -> None:
    channel_users_mute(channel=room, actor=SYSTEM, user_ids=[bot.user_id], mute_period=60_000)
    assert _refused(anon, url, hook[0]) == (403, "user_muted")


def test_an_archived_channel_is_refused(
    anon: MessagingClient, url: str, hook: tuple[Integration, str], room: Channel, org_admin: Member
) -> None:
    conversation_state_set(channel=room, member=org_admin, state="archive")
    assert _refused(anon, url, hook[0]) == (403, "channel_archived")


def test_a_closed_channel_is_refused(
    anon: MessagingClient, url: str, hook: tuple[Integration, str], room: Channel
) -> None:
    channel_close(channel=room, actor=SYSTEM, reason="")
    assert _refused(anon, url, hook[0]) == (403, "channel_closed")


def test_a_deactivated_bot_is_refused(
    anon: MessagingClient, url: str, hook: tuple[Integration, str], bot: Member
) -> None:
    Member.objects.filter(pk=bot.pk).update(deactivated_at=timezone.now())
    assert _refused(anon, url, hook[0]) == (403, "user_deactivated")


# --- delete ----------------------------------------------------------------------------------


def test_the_token_deletes_its_webhook(
    anon: MessagingClient, url: str, hook: tuple[Integration, str]
) -> None:
    response = anon.delete(url)
    assert response.status_code == 200 and response.json() == {"success": {"message": "OK"}}
    assert not Integration.objects.exists()
    entry = AuditEntry.objects.get(action="integration.remove")
    assert entry.target_id == str(hook[0].pk) and entry.actor_label == "system"
    assert error(anon.post(url, {"content": "hi"}))[:2] == (404, "integration_not_found")
    assert error(anon.delete(url))[:2] == (404, "integration_not_found")


def test_the_routes_answer_only_post_and_delete(anon: MessagingClient, url: str) -> None:
    assert error(anon.get(url))[:2] == (405, "method_not_allowed")
    assert error(anon.put(url, {}))[:2] == (405, "method_not_allowed")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('{"content": "a\\u0000b"}', "application/json"),
        ('{"content": "\\ud800"}', "application/json"),
        ('{"content": ' + "[" * 100 + "]" * 100 + "}", "application/json"),
        (b'{"content": "caf\xe9"}', "application/json"),
        (b"content=caf%E9", "application/x-www-form-urlencoded"),
        ('{"content": "a", "content": "b"}', "application/json"),
        ("content=hi", "text/plain"),
    ],
)
def test_a_hostile_body_is_4xx_and_writes_nothing(
    anon: MessagingClient, url: str, body: Any, content_type: str
) -> None:
    before = writes()
    response = anon.generic("POST", url, body, content_type=content_type)
    assert 400 <= response.status_code < 500 and "error" in response.json()
    assert writes() == before


@pytest.mark.parametrize("token", ["%00", "%FF%FE", "a%2Fb", "\u202e" * 3, "x" * 5000])
def test_a_hostile_token_is_404(
    anon: MessagingClient, hook: tuple[Integration, str], token: str
) -> None:
    response = anon.post(f"/api/messaging/webhooks/{hook[0].pk}/{token}", {"content": "hi"})
    assert response.status_code == 404 and "error" in response.json()
    assert not Message.objects.exists()
