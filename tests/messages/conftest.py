"""Scenes for the Message API tests: a channel, messages, in-memory images."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from PIL import Image

from apps.channels.models import Channel
from apps.messages.models import Message, MessageTag
from apps.moderation.models import BlacklistRecord
from apps.organizations.models import Organization
from tests.factories import ChannelFactory, MessageFactory

from ..conftest import TokenClient


@pytest.fixture
def channel(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


@pytest.fixture
def bad_token_api(db: None) -> TokenClient:
    return TokenClient("not-a-real-token", None)


def make_messages(channel: Channel, n: int, **kwargs: Any) -> list[Message]:
    """Plain rows (counters untouched), oldest first."""
    return [MessageFactory(channel=channel, **kwargs) for _ in range(n)]


def tag(message: Message, *names: str) -> None:
    MessageTag.objects.bulk_create([MessageTag(message=message, name=n) for n in names])


def blacklist(org: Organization, pattern: str) -> None:
    BlacklistRecord.objects.create(organization=org, pattern=pattern, is_match_exact_word=False)
    Organization.objects.filter(pk=org.pk).update(filter_version=F("filter_version") + 1)


def image_bytes(
    size: tuple[int, int] = (2000, 1000),
    *,
    fmt: str = "JPEG",
    mode: str = "RGB",
    orientation: int | None = None,
) -> bytes:
    color: Any = (200, 30, 30, 128) if mode == "RGBA" else (200, 30, 30)
    image = Image.new(mode, size, color)
    buffer = io.BytesIO()
    kwargs: dict[str, Any] = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        exif[0x010F] = "SecretCam"  # Make: must not survive in renditions
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def upload(
    content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)
