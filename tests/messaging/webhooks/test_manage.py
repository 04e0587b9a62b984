"""``GET/POST /webhooks/``, ``GET/POST/DELETE /webhooks/{webhookID}`` with a member's
session: Corteza's webhook in this API's shape, the token shown once, the integrations
permissions (all or own), every field checked by the integrations services."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from apps.audit.models import AuditEntry
from apps.channels.models import Channel, Membership
from apps.channels.services.channels import channel_create
from apps.integrations.models import Integration
from apps.integrations.services.integrations import integration_create
from apps.members.models import Member
from apps.organizations.models import Organization, hash_token
from apps.permissions.models import Rule
from tests.builders import image_bytes
from tests.factories import RoleFactory
from tests.personas import SYSTEM, MessagingClient, make_member

from .conftest import BASE, detail_url, error, make_webhook

pytestmark = pytest.mark.django_db

WEBHOOK_KEYS = {
    "webhookID",
    "channelID",
    "kind",
    "userID",
    "ownerUserID",
    "trigger",
    "url",
    "username",
    "avatarURL",
    "hasAvatar",
    "enabled",
    "createdAt",
    "updatedAt",
    "deletedAt",
}


def incoming(room: Channel, bot: Member, **extra: Any) -> dict[str, Any]:
    return {"channelID": str(room.pk), "kind": "incoming", "userID": str(bot.pk), **extra}


def outgoing(room: Channel, bot: Member, **extra: Any) -> dict[str, Any]:
    return {
        "channelID": room.pk,
        "kind": "outgoing",
        "userID": bot.pk,
        "trigger": "deploy",
        "url": "https://ci.example.com/hook",
        **extra,
    }


def own_only(org: Organization, member: Member, *directions: str) -> None:
    """Give ``member`` only the "own" permission of these directions (a role rule)."""
    role = RoleFactory(organization=org, role_id="hookers")
    for direction in directions:
        Rule.objects.create(
            organization=org,
            role=role,
            resource="messaging",
            operation=f"integrations.{direction}.manage.own",
            access="allow",
        )
    member.roles = ["hookers"]
    member.save(update_fields=["roles"])


def stored_files() -> set[str]:
    _dirs, files = (
        default_storage.listdir("integrations/avatars")
        if default_storage.exists("integrations/avatars")
        else ([], [])
    )
    found = set()
    for directory in _dirs:
        found |= {
            f"{directory}/{name}"
            for name in default_storage.listdir(f"integrations/avatars/{directory}")[1]
        }
    return found | set(files)


# --- create ----------------------------------------------------------------------------------


def test_an_admin_creates_an_incoming_webhook_and_gets_its_token_once(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    response = as_admin.post(BASE, incoming(room, bot, username="CI", avatarURL=""))
    assert response.status_code == 201, response.content
    body = response.json()["response"]
    assert set(body) == WEBHOOK_KEYS | {"authToken", "signingSecret"}
    assert body["signingSecret"] is None  # an outgoing webhook's
    assert body["kind"] == "incoming" and body["channelID"] == str(room.pk)
    assert body["userID"] == str(bot.pk) and body["ownerUserID"] == str(org_admin.pk)
    assert body["username"] == "CI" and body["trigger"] == body["url"] == ""
    assert body["enabled"] is True and body["hasAvatar"] is False and body["deletedAt"] is None
    token = body["authToken"]
    row = Integration.objects.get(pk=body["webhookID"])
    assert row.flavor == "messaging" and row.token_hash == hash_token(token) != token
    # the bot joined the channel it posts into
    assert Membership.objects.get(channel=room, member=bot).joined_at is not None
    # never again: not in the detail, not in the list
    detail = as_admin.get(detail_url(row)).json()["response"]
    listed = as_admin.get(BASE).json()["response"]
    assert set(detail) == WEBHOOK_KEYS | {"lastDelivery"} and detail["lastDelivery"] is None
    assert [set(w) for w in listed] == [WEBHOOK_KEYS]
    assert token not in str(detail) + str(listed)
    assert AuditEntry.objects.filter(action="integration.create", target_id=str(row.pk)).exists()


def test_an_outgoing_webhook_has_a_trigger_and_a_url_and_no_token(
    as_admin: MessagingClient, room: Channel, bot: Member
) -> None:
    response = as_admin.post(BASE, outgoing(room, bot, trigger=" Deploy "))
    assert response.status_code == 201, response.content
    body = response.json()["response"]
    assert body["authToken"] is None and body["signingSecret"].startswith("whsec_")
    assert body["trigger"] == "deploy" and body["url"] == "https://ci.example.com/hook"
    row = Integration.objects.get(pk=body["webhookID"])
    assert row.token_hash is None and row.trigger_words == ["deploy"]


def test_a_form_body_creates_one_too(as_admin: MessagingClient, room: Channel, bot: Member) -> None:
    response = as_admin.post(BASE, incoming(room, bot), format="multipart")
    assert response.status_code == 201, response.content


def test_an_uploaded_avatar_is_stored_re_encoded(
    as_admin: MessagingClient, room: Channel, bot: Member
) -> None:
    upload = SimpleUploadedFile("a.bmp", image_bytes("BMP", (900, 300)), "image/bmp")
    response = as_admin.post(BASE, incoming(room, bot, avatar=upload), format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["response"]["hasAvatar"] is True
    row = Integration.objects.get(pk=response.json()["response"]["webhookID"])
    assert row.avatar.name.startswith(f"integrations/avatars/{row.organization_id}/")
    with default_storage.open(row.avatar.name) as handle:
        image = Image.open(handle)
        assert image.format == "JPEG" and max(image.size) == 480
    assert AuditEntry.objects.filter(action="integration.avatar").count() == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"not an image at all", "invalid_avatar"), (b"", "invalid_avatar")],
)
def test_a_bad_avatar_is_refused_and_nothing_is_created(
    as_admin: MessagingClient, room: Channel, bot: Member, content: bytes, code: str
) -> None:
    before = stored_files()
    upload = SimpleUploadedFile("a.png", content, "image/png")
    response = as_admin.post(BASE, incoming(room, bot, avatar=upload), format="multipart")
    assert error(response) == (400, code, "avatar")
    assert not Integration.objects.exists() and stored_files() == before


def test_an_avatar_over_the_limit_is_413_and_nothing_is_created(
    as_admin: MessagingClient, room: Channel, bot: Member
) -> None:
    upload = SimpleUploadedFile("big.png", image_bytes("PNG", (400, 400)), "image/png")
    with override_settings(CHATADMIN={**settings.CHATADMIN, "MAX_AVATAR_BYTES": 500}):
        response = as_admin.post(BASE, incoming(room, bot, avatar=upload), format="multipart")
    assert error(response) == (413, "payload_too_large", "avatar")
    assert not Integration.objects.exists()


def test_avatar_url_is_stored_as_given_and_never_fetched(
    as_admin: MessagingClient, room: Channel, bot: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialled: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> None:
        dialled.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    url = "http://127.0.0.1:1/avatar.png"
    response = as_admin.post(BASE, incoming(room, bot, avatarURL=url))
    assert response.status_code == 201, response.content
    assert response.json()["response"]["avatarURL"] == url
    assert Integration.objects.get().avatar_url == url
    assert dialled == []


@pytest.mark.parametrize("missing", ["channelID", "kind", "userID"])
def test_a_missing_required_field_is_400(
    as_admin: MessagingClient, room: Channel, bot: Member, missing: str
) -> None:
    body = incoming(room, bot)
    del body[missing]
    assert error(as_admin.post(BASE, body)) == (400, "missing_parameter", missing)
    assert not Integration.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("channelID", "abc"),
        ("channelID", -3),
        ("channelID", True),
        ("userID", {"id": 1}),
        ("userID", "1.5"),
        ("kind", "sideways"),
        ("kind", ["incoming"]),
        ("username", 42),
        ("username", {"a": "b"}),
        ("username", "x" * 256),
        ("avatarURL", "javascript:alert(1)"),
        ("avatarURL", ["http://a.example"]),
        ("avatarURL", "https://a.example/" + "x" * 2100),
        ("avatar", "not a file"),
        ("trigger", "x"),
    ],
)
def test_a_malformed_field_is_400_and_writes_nothing(
    as_admin: MessagingClient, room: Channel, bot: Member, field: str, value: Any
) -> None:
    status, code, named = error(as_admin.post(BASE, incoming(room, bot, **{field: value})))
    assert (status, code, named) == (400, "invalid_parameter", field)
    assert not Integration.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("trigger", "shrug", "invalid_parameter"),  # a built-in command
        ("trigger", "two words", "invalid_parameter"),
        ("trigger", ["deploy"], "invalid_parameter"),
        ("trigger", "x" * 65, "invalid_parameter"),
        ("url", "ftp://ci.example.com/", "invalid_urls"),
        ("url", "not a url", "invalid_urls"),
        ("url", "", "missing_parameter"),
        ("url", None, "missing_parameter"),
    ],
)
def test_an_outgoing_webhook_needs_a_command_name_and_an_http_url(
    as_admin: MessagingClient, room: Channel, bot: Member, field: str, value: Any, code: str
) -> None:
    body = outgoing(room, bot, **{field: value})
    assert error(as_admin.post(BASE, body)) == (400, code, field)
    assert not Integration.objects.exists()


def test_an_outgoing_webhook_without_url_is_400(
    as_admin: MessagingClient, room: Channel, bot: Member
) -> None:
    body = outgoing(room, bot)
    del body["url"]
    assert error(as_admin.post(BASE, body)) == (400, "missing_parameter", "url")


def test_a_huge_body_is_413(as_admin: MessagingClient, room: Channel, bot: Member) -> None:
    response = as_admin.post(
        BASE, incoming(room, bot, username="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10))
    )
    assert error(response)[:2] == (413, "payload_too_large")
    assert not Integration.objects.exists()


def test_a_deactivated_bot_is_refused(
    as_admin: MessagingClient, room: Channel, bot: Member
) -> None:
    Member.objects.filter(pk=bot.pk).update(deactivated_at=timezone.now())
    assert error(as_admin.post(BASE, incoming(room, bot))) == (400, "invalid_username", "userID")
    assert not Integration.objects.exists()


def test_another_organizations_channel_or_bot_is_404(
    as_admin: MessagingClient, room: Channel, bot: Member, their_room: Channel, their_bot: Member
) -> None:
    response = as_admin.post(BASE, incoming(their_room, bot))
    assert error(response) == (404, "channel_not_found", "channelID")
    response = as_admin.post(BASE, incoming(room, their_bot))
    assert error(response) == (404, "user_not_found", "userID")
    response = as_admin.post(BASE, incoming(room, bot, channelID=str(2**63)))
    assert error(response)[:2] == (400, "invalid_parameter")
    assert not Integration.objects.exists()


def test_a_channel_the_caller_does_not_see_is_404(
    org: Organization, alice: Member, as_alice: MessagingClient, bot: Member, bob: Member
) -> None:
    own_only(org, alice, "incoming")
    secret = channel_create(organization=org, actor=SYSTEM, channel_id="secret", user_ids=["bob"])
    response = as_alice.post(BASE, incoming(secret, bot))
    assert error(response) == (404, "channel_not_found", "channelID")
    assert not Integration.objects.exists()


def test_a_member_without_the_permission_cannot_create(
    as_alice: MessagingClient, room: Channel, bot: Member
) -> None:
    assert error(as_alice.post(BASE, incoming(room, bot)))[:2] == (403, "forbidden")
    assert error(as_alice.post(BASE, outgoing(room, bot)))[:2] == (403, "forbidden")
    assert not Integration.objects.exists()


def test_every_route_needs_a_session(anon: MessagingClient, room: Channel, bot: Member) -> None:
    assert error(anon.get(BASE))[:2] == (401, "unauthorized")
    assert error(anon.post(BASE, incoming(room, bot)))[:2] == (401, "unauthorized")
    for method in ("get", "post", "delete"):
        assert error(getattr(anon, method)(detail_url(1)))[:2] == (401, "unauthorized")


# --- list and read ---------------------------------------------------------------------------


def test_the_list_filters_by_channel_bot_and_owner(
    org: Organization,
    as_admin: MessagingClient,
    org_admin: Member,
    room: Channel,
    bot: Member,
    alice: Member,
) -> None:
    other = channel_create(organization=org, actor=SYSTEM, channel_id="other", user_ids=["root"])
    bot2 = make_member(org, user_id="bot2", is_bot=True)
    first = make_webhook(org_admin, room, bot).integration
    second = make_webhook(org_admin, other, bot2).integration
    outgoing_one = make_webhook(
        org_admin, room, bot2, direction="outgoing", urls=["https://x.example"]
    ).integration

    def ids(**query: Any) -> list[str]:
        response = as_admin.get(BASE, query)
        assert response.status_code == 200, response.content
        return [w["webhookID"] for w in response.json()["response"]]

    assert ids() == [str(outgoing_one.pk), str(second.pk), str(first.pk)]  # newest first
    assert ids(channelID=room.pk) == [str(outgoing_one.pk), str(first.pk)]
    assert ids(userID=bot2.pk) == [str(outgoing_one.pk), str(second.pk)]
    assert ids(channelID=room.pk, userID=bot.pk) == [str(first.pk)]
    assert ids(ownerUserID=org_admin.pk) == ids()
    assert ids(ownerUserID=alice.pk) == []
    assert ids(channelID=0) == ids()  # Corteza's "none"


@pytest.mark.parametrize("query", [{"channelID": "x"}, {"userID": "-1"}, {"ownerUserID": "1e3"}])
def test_a_malformed_filter_is_400(as_admin: MessagingClient, query: dict[str, str]) -> None:
    assert error(as_admin.get(BASE, query))[:2] == (400, "invalid_parameter")


def test_the_list_and_the_detail_stay_in_the_organization(
    as_admin: MessagingClient,
    their_admin: Member,
    org_admin: Member,
    room: Channel,
    bot: Member,
    their_room: Channel,
    their_bot: Member,
) -> None:
    mine = make_webhook(org_admin, room, bot).integration
    theirs = make_webhook(their_admin, their_room, their_bot)
    assert [w["webhookID"] for w in as_admin.get(BASE).json()["response"]] == [str(mine.pk)]
    assert as_admin.get(BASE, {"channelID": their_room.pk}).json()["response"] == []
    for method in ("get", "post", "delete"):
        response = getattr(as_admin, method)(detail_url(theirs.integration))
        assert error(response) == (404, "integration_not_found", "webhookID"), method
    assert Integration.objects.filter(pk=theirs.integration.pk).exists()


def test_an_unknown_or_out_of_range_id_is_404(as_admin: MessagingClient) -> None:
    for pk in (1, 987654, 2**63, 10**30):
        assert error(as_admin.get(detail_url(pk)))[:2] == (404, "integration_not_found")


def test_a_webhook_of_another_door_is_not_one_of_these(
    org: Organization, as_admin: MessagingClient, room: Channel, bot: Member
) -> None:
    rocket = integration_create(
        organization=org,
        actor=SYSTEM,
        flavor="rocketchat",
        direction="incoming",
        targets=[f"#{room.channel_id}"],
        bot=bot,
    ).integration
    assert as_admin.get(BASE).json()["response"] == []
    assert error(as_admin.get(detail_url(rocket)))[:2] == (404, "integration_not_found")


def test_a_member_without_the_permission_sees_none(
    as_alice: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    webhook = make_webhook(org_admin, room, bot).integration
    assert as_alice.get(BASE).json()["response"] == []
    assert error(as_alice.get(detail_url(webhook)))[:2] == (404, "integration_not_found")


# --- the "own" permission --------------------------------------------------------------------


def test_the_own_permission_manages_only_ones_own_webhooks(
    org: Organization,
    alice: Member,
    as_alice: MessagingClient,
    org_admin: Member,
    room: Channel,
    bot: Member,
) -> None:
    own_only(org, alice, "incoming")
    admins = make_webhook(org_admin, room, bot).integration
    created = as_alice.post(BASE, incoming(room, bot))
    assert created.status_code == 201, created.content
    mine = created.json()["response"]["webhookID"]
    assert [w["webhookID"] for w in as_alice.get(BASE).json()["response"]] == [mine]
    for method in ("get", "post", "delete"):
        response = getattr(as_alice, method)(detail_url(admins))
        assert error(response)[:2] == (404, "integration_not_found"), method
    assert as_alice.post(detail_url(mine), {"username": "Mine"}).status_code == 200
    # outgoing ones are another permission
    assert error(as_alice.post(BASE, outgoing(room, bot)))[:2] == (403, "forbidden")
    assert as_alice.delete(detail_url(mine)).json() == {"success": {"message": "OK"}}
    assert list(Integration.objects.values_list("pk", flat=True)) == [admins.pk]


# --- update ----------------------------------------------------------------------------------


def test_an_update_changes_the_given_fields_only(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    webhook = make_webhook(org_admin, room, bot, alias="CI", avatar_url="https://a.example/1.png")
    response = as_admin.post(detail_url(webhook.integration), {"username": "Deployer"})
    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert body["username"] == "Deployer" and body["avatarURL"] == "https://a.example/1.png"
    assert "authToken" not in body
    row = Integration.objects.get()
    assert row.alias == "Deployer" and row.token_hash == hash_token(webhook.token)
    assert AuditEntry.objects.filter(action="integration.update").count() == 1


def test_an_update_moves_the_webhook_and_changes_its_bot(
    org: Organization, as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    webhook = make_webhook(org_admin, room, bot).integration
    other = channel_create(organization=org, actor=SYSTEM, channel_id="other", user_ids=["root"])
    bot2 = make_member(org, user_id="bot2", is_bot=True)
    response = as_admin.post(
        detail_url(webhook), {"channelID": other.pk, "userID": str(bot2.pk), "kind": "incoming"}
    )
    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert body["channelID"] == str(other.pk) and body["userID"] == str(bot2.pk)
    assert Membership.objects.get(channel=other, member=bot2).joined_at is not None


def test_an_update_sets_the_trigger_url_and_avatar_of_an_outgoing_one(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    created = as_admin.post(BASE, outgoing(room, bot)).json()["response"]
    upload = SimpleUploadedFile("a.png", image_bytes(), "image/png")
    response = as_admin.post(
        detail_url(created["webhookID"]),
        {"trigger": "ship", "url": "http://ci.example.com/ship", "avatar": upload},
        format="multipart",
    )
    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert (body["trigger"], body["url"], body["hasAvatar"]) == (
        "ship",
        "http://ci.example.com/ship",
        True,
    )


def test_a_new_avatar_replaces_the_old_file(
    as_admin: MessagingClient,
    org_admin: Member,
    room: Channel,
    bot: Member,
    django_capture_on_commit_callbacks: Any,
) -> None:
    webhook = make_webhook(org_admin, room, bot).integration
    url = detail_url(webhook)
    as_admin.post(url, {"avatar": SimpleUploadedFile("a.png", image_bytes())}, format="multipart")
    first = Integration.objects.get().avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.post(
            url, {"avatar": SimpleUploadedFile("b.png", image_bytes())}, format="multipart"
        )
    assert response.status_code == 200
    second = Integration.objects.get().avatar.name
    assert second != first and default_storage.exists(second)
    assert not default_storage.exists(first)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"kind": "outgoing"}, "invalid_parameter", "kind"),
        ({"trigger": "deploy"}, "invalid_parameter", "trigger"),
        ({"url": "https://x.example"}, "invalid_parameter", "url"),
        ({"channelID": "nope"}, "invalid_parameter", "channelID"),
        ({"userID": 0}, "invalid_parameter", "userID"),
        ({"userID": 2**62}, "user_not_found", "userID"),
        ({"channelID": 2**62}, "channel_not_found", "channelID"),
        ({"avatarURL": "file:///etc/passwd"}, "invalid_parameter", "avatarURL"),
        ({"username": ["a"]}, "invalid_parameter", "username"),
    ],
)
def test_a_bad_update_is_refused_and_changes_nothing(
    as_admin: MessagingClient,
    org_admin: Member,
    room: Channel,
    bot: Member,
    body: dict[str, Any],
    code: str,
    field: str,
) -> None:
    webhook = make_webhook(org_admin, room, bot, alias="CI").integration
    before = Integration.objects.values().get()
    assert error(as_admin.post(detail_url(webhook), body)) == (
        400 if code.startswith("invalid") else 404,
        code,
        field,
    )
    assert Integration.objects.values().get() == before


def test_an_update_to_another_organizations_channel_is_404(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member, their_room: Channel
) -> None:
    webhook = make_webhook(org_admin, room, bot).integration
    response = as_admin.post(detail_url(webhook), {"channelID": their_room.pk})
    assert error(response) == (404, "channel_not_found", "channelID")
    assert Integration.objects.get().channel_id == room.pk


def test_a_member_without_the_permission_cannot_update_or_delete(
    org: Organization, as_alice: MessagingClient, alice: Member, room: Channel, bot: Member
) -> None:
    own_only(org, alice, "incoming")
    webhook = make_webhook(alice, room, bot).integration
    Rule.objects.filter(role__role_id="hookers").delete()  # the permission is gone
    for method in ("post", "delete"):
        assert error(getattr(as_alice, method)(detail_url(webhook)))[:2] == (
            404,
            "integration_not_found",
        )
    assert Integration.objects.filter(pk=webhook.pk).exists()


# --- delete ----------------------------------------------------------------------------------


def test_delete_removes_the_webhook_and_its_avatar_file(
    as_admin: MessagingClient,
    org_admin: Member,
    room: Channel,
    bot: Member,
    django_capture_on_commit_callbacks: Any,
) -> None:
    webhook = make_webhook(org_admin, room, bot).integration
    url = detail_url(webhook)
    as_admin.post(url, {"avatar": SimpleUploadedFile("a.png", image_bytes())}, format="multipart")
    name = Integration.objects.get().avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        response = as_admin.delete(url)
    assert response.status_code == 200 and response.json() == {"success": {"message": "OK"}}
    assert not Integration.objects.exists() and not default_storage.exists(name)
    entry = AuditEntry.objects.get(action="integration.remove")
    assert entry.target_id == str(webhook.pk)
    assert error(as_admin.get(url))[:2] == (404, "integration_not_found")
    assert error(as_admin.delete(url))[:2] == (404, "integration_not_found")


def test_the_routes_are_in_the_openapi_schema(client: Any) -> None:
    paths = client.get("/api/schema/?format=json").json()["paths"]
    assert paths[BASE]["get"]["operationId"] == "messaging_webhooks_list"
    assert paths[BASE]["post"]["operationId"] == "messaging_webhooks_create"
    detail = paths["/api/messaging/webhooks/{webhookID}"]
    assert {detail[m]["operationId"] for m in ("get", "post", "delete")} == {
        "messaging_webhooks_get",
        "messaging_webhooks_update",
        "messaging_webhooks_delete",
    }
    public = paths["/api/messaging/webhooks/{webhookID}/{webhookToken}"]
    assert public["post"]["operationId"] == "messaging_webhooks_public_post"
    assert public["delete"]["operationId"] == "messaging_webhooks_public_delete"


def test_an_avatar_alone_changes_only_the_avatar(
    as_admin: MessagingClient, org_admin: Member, room: Channel, bot: Member
) -> None:
    webhook = make_webhook(org_admin, room, bot, alias="CI").integration
    response = as_admin.post(
        detail_url(webhook),
        {"avatar": SimpleUploadedFile("a.png", image_bytes())},
        format="multipart",
    )
    assert response.status_code == 200 and response.json()["response"]["hasAvatar"] is True
    assert not AuditEntry.objects.filter(action="integration.update").exists()
    assert AuditEntry.objects.filter(action="integration.avatar").count() == 1
    assert as_admin.post(detail_url(webhook), {}).json()["response"]["username"] == "CI"
