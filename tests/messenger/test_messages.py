"""POST /api/messenger/chatrooms/{roomID}/messages: the same posting rules and error codes
as every other surface (apps.messages.services.message_create)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from apps.audit.actor import Actor
from apps.channels.models import Membership
from apps.messages.models import Message
from apps.moderation.services import blacklist_records_add
from apps.organizations.models import Organization
from tests.builders import make_chatroom
from tests.personas import BASE


def post(client, room_id: int, text: str = "hello"):
    return client.post(f"{BASE}/chatrooms/{room_id}/messages", {"message": text}, format="json")


def test_a_member_posts_in_an_assigned_chatroom(member_pat, room, member) -> None:
    response = post(member_pat, room.pk, "hello team")

    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["type"] == "text"
    assert message["data"] == {"text": "hello team"}
    assert message["userId"] == member.user_id
    assert message["channelId"] == room.channel_id
    stored = Message.objects.get()
    assert stored.author_id == member.pk and stored.channel_id == room.pk


def test_a_form_encoded_message_is_accepted(member_pat, room) -> None:
    response = member_pat.post(
        f"{BASE}/chatrooms/{room.pk}/messages",
        urlencode({"message": "form"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 201
    assert response.json()["message"]["data"] == {"text": "form"}


def test_an_admin_posts_as_themselves(admin_pat, admin, room) -> None:
    response = post(admin_pat, room.pk)

    assert response.status_code == 201
    assert response.json()["message"]["userId"] == admin.user_id


def test_an_api_token_cannot_send_a_message(api_token, room) -> None:
    response = post(api_token, room.pk)

    assert response.status_code == 400
    assert response.json()["code"] == "user_context_required"
    assert "Personal-Access-Token" in response.json()["message"]
    assert not Message.objects.exists()


def test_a_member_cannot_post_in_a_chatroom_not_assigned_to_them(org, member_pat) -> None:
    hidden = make_chatroom(org, "Board")

    response = post(member_pat, hidden.pk)

    assert response.status_code == 404
    assert not Message.objects.exists()


def test_another_organization_s_user_cannot_post(room, outsider_pat) -> None:
    assert post(outsider_pat, room.pk).status_code == 404
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "missing_parameter"),
        ({"message": ""}, "invalid_parameter"),
        ({"message": "   "}, "invalid_parameter"),
        ({"message": "x" * 10_001}, "invalid_parameter"),
    ],
)
def test_it_refuses_missing_blank_and_oversized_messages(member_pat, room, body, code) -> None:
    response = member_pat.post(f"{BASE}/chatrooms/{room.pk}/messages", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["field"] == "message"
    assert not Message.objects.exists()


def test_a_blacklisted_message_is_refused_with_the_same_code_as_through_v2(
    org: Organization, api, member_pat, room
) -> None:
    blacklist_records_add(organization=org, actor=Actor.system(), patterns=["forbidden"])

    here = post(member_pat, room.pk, "this is ForBidden stuff")
    v2 = api.post(
        "/api/v2/message",
        {"channelId": room.channel_id, "type": "text", "data": {"text": "this is ForBidden stuff"}},
        format="json",
    )

    assert here.status_code == v2.status_code == 400
    assert here.json()["code"] == v2.json()["code"] == "blacklisted_content"
    assert not Message.objects.exists()


def test_a_muted_member_is_refused_with_the_v2_code(member_pat, room, member) -> None:
    from django.utils import timezone

    Membership.objects.filter(channel=room, member=member).update(muted_at=timezone.now())

    response = post(member_pat, room.pk)

    assert response.status_code == 403
    assert response.json()["code"] == "user_muted"


def test_a_member_banned_from_the_chatroom_is_refused(member_pat, room, member) -> None:
    from django.utils import timezone

    Membership.objects.filter(channel=room, member=member).update(banned_at=timezone.now())

    response = post(member_pat, room.pk)

    assert response.status_code == 403
    assert response.json()["code"] == "user_banned"
