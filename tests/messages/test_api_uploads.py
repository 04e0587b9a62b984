"""Image and file messages: POST /api/v2/messages/images|files and their GETs."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from PIL import Image

from apps.channels.models import Channel
from apps.messages.models import Message, MessageFile
from tests.builders import blacklist, upload
from tests.builders import photo_bytes as image_bytes
from tests.factories import MessageFactory

IMAGES = "/api/v2/messages/images"
FILES = "/api/v2/messages/files"


def post_image(api, content: bytes | None = None, **extra):
    body = {"channelId": "general", "file": upload(content or image_bytes()), **extra}
    return api.post(IMAGES, body, format="multipart")


def image_url(message_id: str, size: str | None = None) -> str:
    url = f"/api/v2/messages/{message_id}/images"
    return f"{url}?size={size}" if size else url


def read(response) -> bytes:
    return b"".join(response.streaming_content)


def opened(response) -> Image.Image:
    return Image.open(io.BytesIO(read(response)))


# --- images ----------------------------------------------------------------------------


def test_it_stores_three_renditions_that_keep_the_aspect_ratio(api, channel) -> None:
    response = post_image(api, image_bytes((2000, 1000)), caption="sunset", tags=["a", "b"])

    assert response.status_code == 201, response.json()
    body = response.json()["message"]
    assert body["type"] == "image"
    assert body["tags"] == ["a", "b"]
    assert body["data"] == {
        "caption": "sunset",
        "image": {"width": 2000, "height": 1000, "sizes": ["small", "medium", "large"]},
    }
    for size, expected in [("small", (160, 80)), ("medium", (480, 240)), ("large", (1080, 540))]:
        got = api.get(image_url(body["messageId"], size))
        assert got.status_code == 200
        assert got["Content-Type"] == "image/jpeg"
        assert got["X-Content-Type-Options"] == "nosniff"
        image = opened(got)
        assert image.format == "JPEG"
        assert image.size == expected
    default = api.get(image_url(body["messageId"]))
    assert opened(default).size == (480, 240)
    channel.refresh_from_db()
    assert channel.message_count == 1


def test_it_never_upscales(api, channel) -> None:
    message_id = post_image(api, image_bytes((100, 50))).json()["message"]["messageId"]

    assert opened(api.get(image_url(message_id, "large"))).size == (100, 50)


def test_full_is_stored_only_when_asked(api, channel) -> None:
    original = image_bytes((300, 200))
    without = post_image(api, original).json()["message"]["messageId"]
    with_full = post_image(api, original, fullImage="true").json()["message"]

    response = api.get(image_url(without, "full"))
    assert response.status_code == 404
    assert response.json()["code"] == "image_not_available"
    assert with_full["data"]["image"]["sizes"] == ["small", "medium", "large", "full"]
    assert read(api.get(image_url(with_full["messageId"], "full"))) == original


def test_it_applies_exif_orientation_and_strips_metadata(api, channel) -> None:
    # Orientation 6: stored 200x100, displayed rotated to 100x200.
    content = image_bytes((200, 100), orientation=6)
    body = post_image(api, content).json()["message"]

    assert body["data"]["image"]["width"] == 100
    assert body["data"]["image"]["height"] == 200
    image = opened(api.get(image_url(body["messageId"], "small")))
    assert image.size == (80, 160)
    assert dict(image.getexif()) == {}


def test_it_keeps_transparency_as_png(api, channel) -> None:
    content = image_bytes((400, 400), fmt="PNG", mode="RGBA")
    message_id = post_image(api, content).json()["message"]["messageId"]

    response = api.get(image_url(message_id, "small"))
    assert response["Content-Type"] == "image/png"
    assert opened(response).mode == "RGBA"


def test_it_refuses_a_text_file_posted_as_an_image(api, channel) -> None:
    response = api.post(
        IMAGES,
        {"channelId": "general", "file": upload(b"hello, world", "a.jpg", "image/jpeg")},
        format="multipart",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"
    assert response.json()["field"] == "file"
    assert not Message.objects.exists()
    assert not MessageFile.objects.exists()


def test_it_refuses_a_truncated_image(api, channel) -> None:
    response = post_image(api, image_bytes((500, 500), fmt="PNG")[:200])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"


def test_it_refuses_a_decompression_bomb(api, channel, settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_IMAGE_PIXELS": 10_000}

    response = post_image(api, image_bytes((101, 100), fmt="PNG"))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"
    assert not Message.objects.exists()


def test_it_refuses_a_huge_image(api, channel, settings) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_IMAGE_BYTES": 1000}

    response = post_image(api, image_bytes((2000, 2000), fmt="PNG") + b"\0" * 1000)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Message.objects.exists()


def test_it_runs_the_caption_through_the_content_filter(api, org, channel) -> None:
    blacklist(org, "badword")

    response = post_image(api, caption="a badword here")

    assert response.status_code == 400
    assert response.json()["code"] == "blacklisted_content"
    assert response.json()["field"] == "caption"
    assert not MessageFile.objects.exists()


def test_upload_endpoints_refuse_json_and_form_bodies_without_a_file(api, channel) -> None:
    for url in (IMAGES, FILES):
        response = api.post(url, {"channelId": "general"}, format="json")
        assert response.status_code == 415
        assert response.json()["code"] == "unsupported_media_type"
        response = api.post(
            url,
            urlencode({"channelId": "general"}),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 400
        assert response.json()["code"] == "missing_parameter"
        assert response.json()["field"] == "file"


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"channelId": "c" * 200}, "invalid_parameter", "channelId"),
        ({"caption": "x" * 10_001}, "invalid_parameter", "caption"),
        ({"tags": [f"t{i}" for i in range(51)]}, "invalid_parameter", "tags"),
        ({"fullImage": "perhaps"}, "invalid_parameter", "fullImage"),
        ({"parentId": "nope"}, "parent_not_found", "parentId"),
    ],
)
def test_image_upload_refuses_bad_parameters(api, channel, extra, code, field) -> None:
    response = post_image(api, image_bytes((20, 20)), **extra)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert not Message.objects.exists()


def test_an_image_reply_is_counted_on_its_parent(api, channel) -> None:
    parent = MessageFactory(channel=channel)

    response = post_image(api, image_bytes((20, 20)), parentId=str(parent.public_id))

    assert response.json()["message"]["parentId"] == str(parent.public_id)
    parent.refresh_from_db()
    assert parent.children_count == 1


def test_image_get_refuses_unknown_sizes_and_other_message_types(api, channel) -> None:
    text = MessageFactory(channel=channel)
    message_id = post_image(api, image_bytes((20, 20))).json()["message"]["messageId"]

    response = api.get(image_url(message_id, "huge"))
    assert response.status_code == 400
    assert response.json()["field"] == "size"
    response = api.get(image_url(str(text.public_id)))
    assert response.status_code == 404
    assert response.json()["code"] == "message_not_found"
    response = api.get(f"/api/v2/messages/{message_id}/files")
    assert response.status_code == 404


def test_images_are_hidden_from_other_organizations_no_token_closed_and_deleted(
    api, other_api, anon_api, channel
) -> None:
    message_id = post_image(api, image_bytes((20, 20))).json()["message"]["messageId"]

    assert other_api.get(image_url(message_id)).status_code == 404
    assert anon_api.get(image_url(message_id)).status_code == 401
    assert (
        other_api.post(
            IMAGES,
            {"channelId": "general", "file": upload(image_bytes((9, 9)))},
            format="multipart",
        ).status_code
        == 404
    )
    assert Message.objects.count() == 1
    Message.objects.update(deleted_at=timezone.now())
    assert api.get(image_url(message_id)).status_code == 404
    Message.objects.update(deleted_at=None)
    Channel.objects.filter(pk=channel.pk).update(closed_at=timezone.now())
    assert api.get(image_url(message_id)).status_code == 404


def test_image_get_accepts_any_accept_header(api, channel) -> None:
    message_id = post_image(api, image_bytes((20, 20))).json()["message"]["messageId"]

    response = api.get(image_url(message_id), HTTP_ACCEPT="image/webp,image/*")

    assert response.status_code == 200


# --- files -----------------------------------------------------------------------------


def post_file(
    api,
    content: bytes = b"%PDF-1.4 report",
    name: str = "report.pdf",
    content_type: str = "application/pdf",
    **extra,
):
    body = {"channelId": "general", "file": upload(content, name, content_type), **extra}
    return api.post(FILES, body, format="multipart")


def test_it_stores_a_file_and_serves_it_as_an_attachment(api, channel) -> None:
    response = post_file(api, tags=["docs"])

    assert response.status_code == 201, response.json()
    body = response.json()["message"]
    assert body["type"] == "file"
    assert body["tags"] == ["docs"]
    assert body["data"] == {"name": "report.pdf", "size": 15, "contentType": "application/pdf"}
    got = api.get(f"/api/v2/messages/{body['messageId']}/files")
    assert got.status_code == 200
    assert got["Content-Type"] == "application/pdf"
    assert got["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert got["X-Content-Type-Options"] == "nosniff"
    assert read(got) == b"%PDF-1.4 report"


def test_it_serves_unsafe_types_as_octet_stream_and_quotes_odd_names(api, channel) -> None:
    name = 'evil"name\u00e9.html'
    body = post_file(api, b"<script>alert(1)</script>", name, "text/html").json()["message"]

    got = api.get(f"/api/v2/messages/{body['messageId']}/files")

    assert got["Content-Type"] == "application/octet-stream"
    disposition = got["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert '"' not in disposition.split("''", 1)[1]
    assert "\n" not in disposition


def test_it_refuses_an_empty_file_and_a_huge_file(api, channel, settings) -> None:
    response = post_file(api, b"")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_file"

    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_FILE_BYTES": 10}
    response = post_file(api, b"x" * 11)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Message.objects.exists()


def test_file_uploads_follow_the_posting_rules(api, other_api, anon_api, channel) -> None:
    assert anon_api.post(FILES, {"channelId": "general"}, format="multipart").status_code == 401
    response = post_file(other_api)
    assert response.status_code == 404
    assert response.json()["code"] == "channel_not_found"
    Channel.objects.filter(pk=channel.pk).update(closed_at=timezone.now())
    response = post_file(api)
    assert response.status_code == 403
    assert response.json()["code"] == "channel_closed"
    assert not Message.objects.exists()
    assert not MessageFile.objects.exists()


def test_file_get_answers_404_for_other_types_and_other_organizations(
    api, other_api, channel
) -> None:
    text = MessageFactory(channel=channel)
    message_id = post_file(api).json()["message"]["messageId"]

    assert api.get(f"/api/v2/messages/{text.public_id}/files").status_code == 404
    assert other_api.get(f"/api/v2/messages/{message_id}/files").status_code == 404
    assert api.get(image_url(message_id)).status_code == 404
