"""Messaging API: POST /channels/{channelID}/attach, an image or file message with the
same size and type checks as the Admin API v2's uploads."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.channels.models import Channel
from apps.channels.services.channels import channel_users_add, channel_users_mute
from apps.members.models import Member
from apps.messages.models import Message, MessageFile
from tests.builders import image_bytes
from tests.personas import MessagingClient, make_member, session_client

from .message_scenes import SYSTEM, archive, attach_url, error, make_channel, posted

pytestmark = pytest.mark.django_db


@pytest.fixture
def channel(org, alice: Member, bob: Member) -> Channel:
    return make_channel(org, alice, bob)


def attach(client: MessagingClient, channel: Channel | int, **fields: Any) -> Any:
    return client.post(attach_url(channel), fields, format="multipart")


def png(name: str = "cat.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes("PNG"), content_type="image/png")


def text_file(content: bytes = b"hello, file", name: str = "notes.txt") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


def test_an_image_becomes_an_image_message(
    as_alice: MessagingClient, alice: Member, channel: Channel
) -> None:
    response = attach(as_alice, channel, upload=png())
    assert response.status_code == 201, response.json()
    body = response.json()["response"]
    assert body["type"] == "image" and body["userID"] == str(alice.pk)
    assert body["att"] is not None and body["att"]["url"].startswith("/api/messaging/attachment/")
    message = Message.objects.get()
    assert message.type == Message.Type.IMAGE
    assert set(message.files.values_list("variant", flat=True)) == {"small", "medium", "large"}
    channel.refresh_from_db()
    assert channel.message_count == 1


def test_an_image_sent_as_octet_stream_is_still_an_image(
    as_alice: MessagingClient, channel: Channel
) -> None:
    upload = SimpleUploadedFile(
        "x.bin", image_bytes("JPEG"), content_type="application/octet-stream"
    )
    assert attach(as_alice, channel, upload=upload).json()["response"]["type"] == "image"


def test_anything_else_becomes_a_file_message(as_alice: MessagingClient, channel: Channel) -> None:
    response = attach(as_alice, channel, upload=text_file())
    assert response.status_code == 201
    body = response.json()["response"]
    assert body["type"] == "file" and body["message"] == "notes.txt"
    assert body["att"]["name"] == "notes.txt"
    stored = MessageFile.objects.get()
    assert stored.variant == "file" and stored.size == len(b"hello, file")


def test_an_attachment_can_be_a_reply(
    as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    parent = posted(channel, alice, "send me the file")
    response = attach(as_bob, channel, upload=text_file(), replyTo=str(parent.pk))
    assert response.status_code == 201
    assert response.json()["response"]["replyTo"] == str(parent.pk)
    parent.refresh_from_db()
    assert parent.children_count == 1


def test_an_attachment_cannot_reply_to_a_reply(
    as_bob: MessagingClient, alice: Member, channel: Channel
) -> None:
    parent = posted(channel, alice)
    reply = posted(channel, alice, parent=parent)
    response = attach(as_bob, channel, upload=text_file(), replyTo=reply.pk)
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_parent"
    assert error(response)["field"] == "replyTo"


def test_a_reply_to_a_missing_or_foreign_message_is_404(
    other_org, outsider: Member, as_bob: MessagingClient, channel: Channel
) -> None:
    theirs = posted(make_channel(other_org, outsider, channel_id="theirs"), outsider)
    for target in (999999, theirs.pk):
        response = attach(as_bob, channel, upload=text_file(), replyTo=target)
        assert response.status_code == 404
        assert error(response) | {"message": ""} == {
            "message": "",
            "code": "message_not_found",
            "field": "replyTo",
        }
    assert not Message.objects.filter(type="file").exists()


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({}, 400, "missing_parameter"),
        ({"upload": "not a file"}, 400, "invalid_parameter"),
        ({"upload": "EMPTY"}, 400, "invalid_file"),
        ({"upload": "BROKEN_PNG"}, 400, "invalid_image"),
        ({"upload": "FILE", "replyTo": "abc"}, 400, "invalid_parameter"),
    ],
)
def test_it_refuses_a_missing_or_malformed_upload(
    as_alice: MessagingClient, channel: Channel, fields: dict, status: int, code: str
) -> None:
    files = {
        "EMPTY": SimpleUploadedFile("empty.txt", b"", content_type="text/plain"),
        "BROKEN_PNG": SimpleUploadedFile(
            "x.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, content_type="image/png"
        ),
        "FILE": text_file(),
    }
    fields = {k: files.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    response = attach(as_alice, channel, **fields)
    assert response.status_code == status, response.json()
    assert error(response)["code"] == code
    assert not Message.objects.exists()


def test_a_json_body_is_415(as_alice: MessagingClient, channel: Channel) -> None:
    response = as_alice.post(attach_url(channel), {"upload": "x"}, format="json")
    assert response.status_code == 415


def test_an_oversized_file_or_image_is_413(
    settings, as_alice: MessagingClient, channel: Channel
) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_FILE_BYTES": 10, "MAX_IMAGE_BYTES": 100}
    response = attach(as_alice, channel, upload=text_file(b"x" * 11))
    assert response.status_code == 413
    assert error(response) | {"message": ""} == {
        "message": "",
        "code": "payload_too_large",
        "field": "upload",
    }
    response = attach(as_alice, channel, upload=png())
    assert response.status_code == 413
    assert not Message.objects.exists()


def test_another_organizations_channel_is_404(
    as_outsider: MessagingClient, channel: Channel
) -> None:
    response = attach(as_outsider, channel, upload=text_file())
    assert response.status_code == 404
    assert error(response)["code"] == "channel_not_found"


def test_an_external_member_may_not_attach_by_default(org, channel: Channel) -> None:
    external = make_member(org, role=Member.OrgRole.EXTERNAL, user_id="ext")
    channel_users_add(channel=channel, actor=SYSTEM, user_ids=["ext"])
    response = attach(session_client(external), channel, upload=text_file())
    assert response.status_code == 403
    assert error(response)["code"] == "forbidden"


def test_a_muted_member_cannot_attach(as_alice: MessagingClient, channel: Channel) -> None:
    channel_users_mute(channel=channel, actor=SYSTEM, user_ids=["alice"], mute_period=-1)
    response = attach(as_alice, channel, upload=png())
    assert response.status_code == 403
    assert error(response)["code"] == "user_muted"
    assert not MessageFile.objects.exists()


def test_nothing_is_attached_in_an_archived_channel(
    as_alice: MessagingClient, channel: Channel
) -> None:
    archive(channel)
    response = attach(as_alice, channel, upload=text_file())
    assert response.status_code == 403
    assert error(response)["code"] == "channel_archived"
