"""Attachments of the messaging API: the attachment object (apps.messaging.attachments.
links) and ``GET /attachment/{id}/original/{name}`` and ``/attachment/{id}/preview.{ext}``
on signed links (no session): signature first, then the member, the organization, the
channel and the message; nosniff and a safe Content-Type on every file answer."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from PIL import Image

from apps.audit.actor import Actor
from apps.channels.models import Channel, Membership
from apps.core import signing
from apps.members.models import Member
from apps.messages.models import Message, MessageFile
from apps.messages.services.messages import (
    message_create,
    message_create_file,
    message_create_image,
    message_delete,
)
from apps.messaging.attachments.links import SIGN_KIND, attachment_of
from apps.permissions.models import Rule
from tests.builders import photo_bytes, upload
from tests.factories import ChannelFactory, RoleFactory
from tests.personas import MessagingClient, make_member

PDF = b"%PDF-1.4\n% a real enough file\n" + b"0" * 200
HTML = b"<html><script>alert(document.cookie)</script></html>"


def join(channel: Channel, *members: Member) -> None:
    for member in members:
        Membership.objects.create(
            organization=channel.organization,
            channel=channel,
            member=member,
            joined_at=timezone.now(),
        )


def post_image(channel: Channel, author: Member, **kwargs) -> Message:
    return message_create_image(
        organization=channel.organization,
        actor=Actor.for_member(author),
        channel=channel,
        upload=upload(photo_bytes((1200, 800)), "holiday.jpg", "image/jpeg"),
        author=author,
        **kwargs,
    )


def post_file(
    channel: Channel,
    author: Member,
    content: bytes = PDF,
    name: str = "report.pdf",
    content_type: str = "application/pdf",
) -> Message:
    return message_create_file(
        organization=channel.organization,
        actor=Actor.for_member(author),
        channel=channel,
        upload=upload(content, name, content_type),
        author=author,
    )


def att(message: Message, member: Member) -> dict:
    message = Message.objects.prefetch_related("files").get(pk=message.pk)
    result = attachment_of(message, member=member)
    assert result is not None
    return result


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def error_of(response) -> dict:
    return response.json()["error"]


def split(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}


@pytest.fixture
def channel(org, alice, bob) -> Channel:
    channel = ChannelFactory(organization=org, visibility=Channel.Visibility.PUBLIC)
    join(channel, alice, bob)
    return channel


@pytest.fixture
def image(channel, alice) -> Message:
    return post_image(channel, alice)


@pytest.fixture
def document(channel, alice) -> Message:
    return post_file(channel, alice)


# --- the attachment object ------------------------------------------------------------------


def test_a_text_message_has_no_attachment(channel, alice) -> None:
    message = message_create(
        organization=channel.organization,
        actor=Actor.for_member(alice),
        channel=channel,
        type=Message.Type.TEXT,
        data={"text": "hi"},
        author=alice,
    )
    assert attachment_of(Message.objects.get(pk=message.pk), member=alice) is None


def test_an_image_s_attachment_object(image, alice, bob) -> None:
    result = att(image, bob)

    large = image.files.get(variant=MessageFile.Variant.LARGE)
    small = image.files.get(variant=MessageFile.Variant.SMALL)
    assert result["attachmentID"] == str(large.pk)
    assert result["userID"] == str(alice.pk)
    assert result["name"] == large.name
    assert result["createdAt"].endswith("Z")
    path, params = split(result["url"])
    assert path == f"/api/messaging/attachment/{large.pk}/original/{large.name}"
    assert set(params) == {"sign", "userID", "expires"}
    assert params["userID"] == str(bob.pk)  # signed for the reader
    preview_path, _ = split(result["previewUrl"])
    assert preview_path == f"/api/messaging/attachment/{large.pk}/preview.jpg"
    assert result["meta"]["original"] == {
        "size": large.size,
        "ext": "jpg",
        "mimetype": "image/jpeg",
        "image": {"width": large.width, "height": large.height},
    }
    assert result["meta"]["preview"]["size"] == small.size


def test_the_original_of_a_full_image_is_the_attachment(channel, alice) -> None:
    message = post_image(channel, alice, full_image=True)
    full = message.files.get(variant=MessageFile.Variant.FULL)
    assert att(message, alice)["attachmentID"] == str(full.pk)


def test_a_file_s_attachment_object_has_no_preview(document, alice) -> None:
    result = att(document, alice)

    stored = document.files.get()
    assert result["attachmentID"] == str(stored.pk)
    assert result["name"] == "report.pdf"
    assert result["previewUrl"] is None
    assert result["meta"] == {
        "original": {"size": len(PDF), "ext": "pdf", "mimetype": "application/pdf"},
        "preview": None,
    }


def test_the_attachment_object_makes_no_query_once_files_are_prefetched(
    image, bob, django_assert_num_queries
) -> None:
    message = Message.objects.prefetch_related("files").get(pk=image.pk)
    with django_assert_num_queries(0):
        attachment_of(message, member=bob)


def test_a_file_name_is_quoted_in_the_url(channel, alice) -> None:
    message = post_file(channel, alice, name="my report #1?.pdf")
    path, _ = split(att(message, alice)["url"])
    assert path.endswith("/original/my%20report%20%231%3F.pdf")


# --- serving ---------------------------------------------------------------------------------


def test_the_original_image_is_served_inline_without_a_session(image, bob, anon) -> None:
    response = anon.get(att(image, bob)["url"])

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert Image.open(io.BytesIO(body(response))).size == (1080, 720)


def test_the_preview_is_the_small_thumbnail(image, bob, anon) -> None:
    response = anon.get(att(image, bob)["previewUrl"])

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert max(Image.open(io.BytesIO(body(response))).size) == 160


def test_jpeg_names_the_same_preview_format(image, bob, anon) -> None:
    path, params = split(att(image, bob)["previewUrl"])
    assert anon.get(path.replace(".jpg", ".jpeg"), params).status_code == 200
    other = anon.get(path.replace(".jpg", ".png"), params)
    assert other.status_code == 404
    assert error_of(other)["code"] == "attachment_not_found"


def test_a_file_has_no_preview(document, alice, anon) -> None:
    path, params = split(att(document, alice)["url"])
    attachment_id = path.split("/")[4]

    response = anon.get(f"/api/messaging/attachment/{attachment_id}/preview.png", params)

    assert response.status_code == 404
    assert error_of(response)["code"] == "attachment_not_found"


def test_a_safe_file_is_inline_and_download_true_makes_it_a_download(document, bob, anon) -> None:
    path, params = split(att(document, bob)["url"])

    inline = anon.get(path, params)
    download = anon.get(path, {**params, "download": "true"})

    assert inline.status_code == download.status_code == 200
    assert body(inline) == PDF
    assert inline["Content-Type"] == "application/pdf"
    assert inline["Content-Disposition"].startswith("inline")
    assert download["Content-Disposition"].startswith("attachment")
    assert 'filename="report.pdf"' in download["Content-Disposition"]
    for response in (inline, download):
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response["Content-Security-Policy"]


def test_an_unsafe_file_is_always_a_download_of_octet_stream(channel, alice, anon) -> None:
    message = post_file(channel, alice, HTML, "page.html", "text/html")
    path, params = split(att(message, alice)["url"])

    for query in (params, {**params, "download": "false"}):
        response = anon.get(path, query)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert body(response) == HTML


def test_download_must_be_a_boolean(document, alice, anon) -> None:
    path, params = split(att(document, alice)["url"])
    response = anon.get(path, {**params, "download": "maybe"})
    assert response.status_code == 400
    assert error_of(response)["field"] == "download"


def test_a_session_header_is_not_needed_nor_enough(document, alice, as_alice) -> None:
    path, _params = split(att(document, alice)["url"])
    response = as_alice.get(path)  # a session, but no signature
    assert response.status_code == 403
    assert error_of(response)["code"] == "invalid_signature"


def test_the_name_in_the_path_is_informative(document, alice, anon) -> None:
    path, params = split(att(document, alice)["url"])
    renamed = path.rsplit("/", 1)[0] + "/whatever.bin"
    assert anon.get(renamed, params).status_code == 200


# --- signatures --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"sign": "0" * 64},
        {"sign": ""},
        {"sign": "f" * 5000},
        {"userID": "abc"},
        {"userID": ""},
        {"expires": "4102444800"},
        {"expires": "soon"},
    ],
    ids=["tampered", "empty", "oversized", "malformed-user", "empty-user", "extended", "bad-exp"],
)
def test_a_tampered_link_is_403(image, bob, anon, change) -> None:
    for url in (att(image, bob)["url"], att(image, bob)["previewUrl"]):
        path, params = split(url)
        response = anon.get(path, {**params, **change})
        assert response.status_code == 403
        assert error_of(response) == {
            "message": "The signature is invalid or has expired.",
            "code": "invalid_signature",
        }
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("missing", ["sign", "userID", "expires"])
def test_a_link_missing_a_part_is_403(image, bob, anon, missing) -> None:
    path, params = split(att(image, bob)["url"])
    params.pop(missing)
    assert anon.get(path, params).status_code == 403


def test_a_link_signed_for_another_user_id_is_403(image, alice, bob, anon) -> None:
    path, params = split(att(image, bob)["url"])
    response = anon.get(path, {**params, "userID": str(alice.pk)})
    assert response.status_code == 403


def test_a_link_does_not_open_another_attachment(image, document, bob, anon) -> None:
    _path, params = split(att(image, bob)["url"])
    other = document.files.get()

    response = anon.get(f"/api/messaging/attachment/{other.pk}/original/x", params)

    assert response.status_code == 403


def test_an_expired_link_is_403(image, bob, anon) -> None:
    path, _ = split(att(image, bob)["url"])
    attachment_id = int(path.split("/")[4])
    past = int(time.time()) - 1
    params = {
        "sign": signing.sign(SIGN_KIND, attachment_id, bob.pk, past),
        "userID": str(bob.pk),
        "expires": str(past),
    }

    response = anon.get(path, params)

    assert response.status_code == 403
    assert error_of(response)["code"] == "invalid_signature"


def test_the_signature_is_checked_before_any_lookup(anon, db, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = anon.get("/api/messaging/attachment/1/original/x", {"sign": "0" * 64})
    assert response.status_code == 403


def test_a_huge_attachment_id_is_403_not_an_error(anon, db) -> None:
    response = anon.get(f"/api/messaging/attachment/{'9' * 40}/original/x", {"sign": "0"})
    assert response.status_code == 403


# --- who and what may be served ------------------------------------------------------------------


def sign_for(member: Member, attachment_pk: int) -> dict[str, str]:
    return signing.signed_params(SIGN_KIND, attachment_pk, member.pk)


def test_another_organization_s_attachment_is_404(image, outsider, anon) -> None:
    large = image.files.get(variant=MessageFile.Variant.LARGE)

    response = anon.get(
        f"/api/messaging/attachment/{large.pk}/original/x", sign_for(outsider, large.pk)
    )

    assert response.status_code == 404
    assert error_of(response)["code"] == "attachment_not_found"


def test_an_unknown_attachment_is_404(alice, anon) -> None:
    response = anon.get("/api/messaging/attachment/987654/original/x", sign_for(alice, 987654))
    assert response.status_code == 404
    assert error_of(response)["code"] == "attachment_not_found"


def test_a_rendition_id_is_not_an_attachment(image, alice, anon) -> None:
    small = image.files.get(variant=MessageFile.Variant.SMALL)
    response = anon.get(
        f"/api/messaging/attachment/{small.pk}/original/x", sign_for(alice, small.pk)
    )
    assert response.status_code == 404


def test_a_deleted_or_hidden_message_s_attachment_is_404(image, document, alice, bob, anon) -> None:
    urls = [att(image, bob)["url"], att(document, bob)["url"]]
    message_delete(organization=image.organization, actor=Actor.for_member(alice), message=image)
    Message.objects.filter(pk=document.pk).update(hidden_at=timezone.now())

    for url in urls:
        response = anon.get(url)
        assert response.status_code == 404
        assert error_of(response)["code"] == "attachment_not_found"


def test_an_attachment_of_a_gone_channel_is_404(image, channel, bob, anon) -> None:
    url = att(image, bob)["url"]
    Channel.objects.filter(pk=channel.pk).update(deleted_at=timezone.now())
    assert anon.get(url).status_code == 404
    Channel.objects.filter(pk=channel.pk).update(deleted_at=None, closed_at=timezone.now())
    assert anon.get(url).status_code == 404


def test_a_private_channel_s_attachment_is_only_for_its_members(org, alice, bob, anon) -> None:
    secret = ChannelFactory(organization=org, visibility=Channel.Visibility.PRIVATE)
    join(secret, alice)
    message = post_file(secret, alice)
    stored = message.files.get()

    assert anon.get(att(message, alice)["url"]).status_code == 200
    response = anon.get(
        f"/api/messaging/attachment/{stored.pk}/original/x", sign_for(bob, stored.pk)
    )
    assert response.status_code == 404


def test_a_member_denied_reading_the_channel_gets_404(image, channel, bob, anon) -> None:
    url = att(image, bob)["url"]
    role = RoleFactory(organization=channel.organization, role_id="blind")
    Rule.objects.create(
        organization=channel.organization,
        role=role,
        resource=f"messaging:channel:{channel.pk}",
        operation="read",
        access=Rule.Access.DENY,
    )
    Member.objects.filter(pk=bob.pk).update(roles=["blind"])

    response = anon.get(url)

    assert response.status_code == 404  # hidden like a missing channel
    assert error_of(response)["code"] == "attachment_not_found"


def test_links_of_a_deactivated_or_banned_member_stop_working(image, org, anon) -> None:
    carol = make_member(org, user_id="carol")
    url = att(image, carol)["url"]
    assert anon.get(url).status_code == 200

    Member.objects.filter(pk=carol.pk).update(banned_at=timezone.now())
    banned = anon.get(url)
    assert banned.status_code == 403
    assert error_of(banned)["code"] == "user_globally_banned"

    Member.objects.filter(pk=carol.pk).update(banned_at=None, deactivated_at=timezone.now())
    assert error_of(anon.get(url))["code"] == "invalid_signature"


def test_head_answers_like_get(image, bob, anon: MessagingClient) -> None:
    response = anon.head(att(image, bob)["url"])
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
