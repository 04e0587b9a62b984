"""PUT /api/messenger/chatrooms/{roomID}/avatar (raw image body; empty removes) and the
authenticated GET that serves it at avatarURL."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from apps.audit.models import AuditEntry
from apps.channels.models import Channel
from apps.core import signing
from apps.messenger.api.serializers import AVATAR_SIGN_KIND
from tests.builders import image_bytes, make_chatroom
from tests.personas import BASE


def put_avatar(client, room_id: int, body: bytes, content_type: str = "image/png"):
    return client.put(f"{BASE}/chatrooms/{room_id}/avatar", data=body, content_type=content_type)


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/octet-stream", "application/json", "text/plain"]
)
def test_an_api_token_sets_an_avatar_whatever_the_content_type(api_token, room, content_type):
    response = put_avatar(api_token, room.pk, image_bytes("PNG"), content_type)

    assert response.status_code == 200, response.content
    url = response.json()["avatarURL"]
    assert url.startswith(f"http://testserver{BASE}/chatrooms/{room.pk}/avatar")
    room.refresh_from_db()
    assert room.avatar
    assert AuditEntry.objects.filter(action="chatroom.avatar", target_id=str(room.pk)).exists()


def _image_size(response) -> tuple[int, int]:
    return Image.open(io.BytesIO(b"".join(response.streaming_content))).size


def test_the_avatar_is_served_with_a_token_to_those_who_see_the_chatroom(
    api_token, member_pat, room, outsider_pat, anon
) -> None:
    put_avatar(api_token, room.pk, image_bytes("JPEG"), "image/jpeg")
    path = f"{BASE}/chatrooms/{room.pk}/avatar"  # no signature: a token is needed

    for client in (api_token, member_pat):
        response = client.get(path)
        assert response.status_code == 200
        assert response["Content-Type"] in ("image/jpeg", "image/png")
        assert response["X-Content-Type-Options"] == "nosniff"
        assert _image_size(response) == (64, 64)
    assert outsider_pat.get(path).status_code == 404
    assert anon.get(path).status_code == 401


def test_avatar_url_is_a_signed_link_an_image_view_loads_without_a_header(
    api_token, room, anon
) -> None:
    url = put_avatar(api_token, room.pk, image_bytes("JPEG"), "image/jpeg").json()["avatarURL"]
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"v", "sign", "userID", "expires"}

    response = anon.get(url.removeprefix("http://testserver"))

    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert _image_size(response) == (64, 64)


def test_the_chatroom_list_renders_a_signed_avatar_url(org, api_token, room, anon) -> None:
    put_avatar(api_token, room.pk, image_bytes())

    entries = api_token.get(f"{BASE}/chatrooms?organization_id={org.pk}").json()["entries"]

    url = next(e["avatarURL"] for e in entries if e["id"] == room.pk)
    assert anon.get(url.removeprefix("http://testserver")).status_code == 200


def _signed_path(api_token, room) -> tuple[str, dict[str, str]]:
    url = put_avatar(api_token, room.pk, image_bytes()).json()["avatarURL"]
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


@pytest.mark.parametrize(
    "change",
    [
        {"sign": "0" * 64},
        {"sign": ""},
        {"sign": "x" * 10_000},
        {"userID": "7"},
        {"userID": "abc"},
        {"expires": "9999999999"},
        {"expires": ""},
    ],
    ids=["tampered", "empty", "oversized", "other-user", "bad-user", "extended", "no-expiry"],
)
def test_a_tampered_avatar_link_is_refused(api_token, room, anon, change) -> None:
    path, params = _signed_path(api_token, room)

    response = anon.get(path, {**params, **change})

    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"


@pytest.mark.parametrize("missing", ["userID", "expires"])
def test_an_avatar_link_missing_a_part_is_refused(api_token, room, anon, missing) -> None:
    path, params = _signed_path(api_token, room)
    params.pop(missing)

    response = anon.get(path, params)

    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"


def test_an_avatar_link_does_not_open_another_chatroom(org, api_token, room, anon) -> None:
    other = make_chatroom(org, "Other", [])
    put_avatar(api_token, other.pk, image_bytes())
    _path, params = _signed_path(api_token, room)

    response = anon.get(f"{BASE}/chatrooms/{other.pk}/avatar", params)

    assert response.status_code == 403


def test_an_expired_avatar_link_is_refused(api_token, room, anon) -> None:
    path, params = _signed_path(api_token, room)
    past = int(time.time()) - 1  # signed right, but over
    params.update(expires=str(past), sign=signing.sign(AVATAR_SIGN_KIND, room.pk, 0, past))

    response = anon.get(path, params)

    assert response.status_code == 403
    assert response.json()["code"] == "invalid_signature"


def test_an_avatar_link_of_a_removed_chatroom_is_404(api_token, room, anon) -> None:
    path, params = _signed_path(api_token, room)
    assert api_token.delete(f"{BASE}/chatrooms/{room.pk}").status_code == 200

    response = anon.get(path, params)

    assert response.status_code == 404


def test_an_empty_body_removes_the_avatar(api_token, room) -> None:
    put_avatar(api_token, room.pk, image_bytes())

    response = put_avatar(api_token, room.pk, b"", "application/octet-stream")

    assert response.status_code == 200
    assert response.json()["avatarURL"] is None
    room.refresh_from_db()
    assert not room.avatar
    missing = api_token.get(f"{BASE}/chatrooms/{room.pk}/avatar")
    assert missing.status_code == 404


def test_an_empty_body_without_a_content_type_removes_it_too(api_token, room) -> None:
    put_avatar(api_token, room.pk, image_bytes())

    response = api_token.put(f"{BASE}/chatrooms/{room.pk}/avatar")

    assert response.status_code == 200
    assert response.json()["avatarURL"] is None


def test_an_admin_sets_the_avatar_and_a_member_may_not(admin_pat, member_pat, room) -> None:
    refused = put_avatar(member_pat, room.pk, image_bytes())
    assert refused.status_code == 403
    assert not Channel.objects.get(pk=room.pk).avatar

    assert put_avatar(admin_pat, room.pk, image_bytes()).status_code == 200


def test_it_refuses_bytes_that_are_not_an_image(api_token, room) -> None:
    response = put_avatar(api_token, room.pk, b"%PDF-1.4 not an image", "image/png")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_avatar"
    assert not Channel.objects.get(pk=room.pk).avatar


def test_it_refuses_an_oversized_avatar(settings, api_token, room) -> None:
    settings.CHATADMIN = {**settings.CHATADMIN, "MAX_AVATAR_BYTES": 1000}

    response = put_avatar(api_token, room.pk, image_bytes("BMP", (200, 200)), "image/bmp")

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_another_organization_s_token_cannot_set_the_avatar(room, other_api_token, outsider_pat):
    for client in (other_api_token, outsider_pat):
        assert put_avatar(client, room.pk, image_bytes()).status_code == 404
    assert not Channel.objects.get(pk=room.pk).avatar


def test_only_custom_chatrooms_take_an_avatar(org, api_token) -> None:
    default = api_token.post(f"{BASE}/organizations/{org.pk}/default-chatroom").json()

    response = put_avatar(api_token, default["id"], image_bytes())

    assert response.status_code == 403
    assert response.json()["code"] == "chatroom_not_custom"


def test_a_multipart_form_upload_is_accepted_too(api_token, room) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("me.png", image_bytes(), content_type="image/png")

    response = api_token.put(
        f"{BASE}/chatrooms/{room.pk}/avatar", {"file": upload}, format="multipart"
    )

    assert response.status_code == 200, response.content
    assert response.json()["avatarURL"]


def test_the_document_s_json_string_sample_is_not_an_image(api_token, room) -> None:
    response = api_token.put(
        f"{BASE}/chatrooms/{room.pk}/avatar", b'"string"', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_avatar"
