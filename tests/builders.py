"""What the tests build: rows and scenes made through the services (or, where a test needs
a state no service makes, plain rows, said so), requests in another encoding, in-memory
images, and read-backs of what an endpoint wrote. Plain functions; who acts (accounts,
staff, token clients) is in ``tests/personas.py``."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F
from PIL import Image
from rest_framework.test import APIClient

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, ChannelTag, Membership
from apps.channels.services.chatrooms import chatroom_create_custom
from apps.members.models import Member
from apps.messages.models import Message, MessageTag
from apps.moderation.models import BlacklistRecord
from apps.organizations.models import Organization
from apps.reports.models import Report

from .factories import MessageFactory

# --- requests ----------------------------------------------------------------------------------


def form(client: APIClient, method: str, url: str, data: dict[str, Any]) -> Any:
    """Send ``data`` form-encoded (lists as repeated ``key[]=``), as curl -d would."""
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, (list, tuple)):
            pairs.extend((f"{key}[]", item) for item in value)
        elif isinstance(value, dict):
            pairs.extend((f"{key}[{k}]", v) for k, v in value.items())
        else:
            pairs.append((key, value))
    return getattr(client, method)(
        url, urlencode(pairs, doseq=True), content_type="application/x-www-form-urlencoded"
    )


# --- images and uploads ------------------------------------------------------------------------


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 64)) -> bytes:
    """A small image (an avatar, a chatroom-service upload)."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def photo_bytes(
    size: tuple[int, int] = (2000, 1000),
    *,
    fmt: str = "JPEG",
    mode: str = "RGB",
    orientation: int | None = None,
) -> bytes:
    """A photo as a camera sends it (big, JPEG; ``orientation`` writes an EXIF tag and a
    camera make that must not survive in renditions)."""
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


# --- channels and chatrooms --------------------------------------------------------------------


def make_chatroom(
    organization: Organization, name: str = "Room", members: list[Member] | None = None
) -> Channel:
    """A custom chatroom, created by the system through the service."""
    return chatroom_create_custom(
        organization=organization, actor=Actor.system(), name=name, members=members or []
    )


def membership(channel: Channel, user_id: str) -> Membership:
    return Membership.objects.get(channel=channel, member__user_id=user_id)


def joined_user_ids(channel: Channel) -> list[str]:
    return sorted(
        Membership.objects.filter(channel=channel, joined_at__isnull=False).values_list(
            "member__user_id", flat=True
        )
    )


def snapshot(organization: Organization) -> dict[str, Any]:
    """Every row a channel endpoint may write in ``organization``."""
    return {
        "channels": list(Channel.objects.filter(organization=organization).order_by("pk").values()),
        "tags": list(
            ChannelTag.objects.filter(channel__organization=organization).order_by("pk").values()
        ),
        "memberships": list(
            Membership.objects.filter(organization=organization).order_by("pk").values()
        ),
        "members": list(Member.objects.filter(organization=organization).order_by("pk").values()),
        "audit": AuditEntry.objects.filter(organization=organization).count(),
    }


def last_audit(organization: Organization) -> AuditEntry:
    entry = AuditEntry.objects.filter(organization=organization).order_by("-pk").first()
    assert entry is not None
    return entry


# --- messages --------------------------------------------------------------------------------


def make_messages(channel: Channel, n: int, **kwargs: Any) -> list[Message]:
    """Plain rows (counters untouched), oldest first."""
    return [MessageFactory(channel=channel, **kwargs) for _ in range(n)]


def tag(message: Message, *names: str) -> None:
    MessageTag.objects.bulk_create([MessageTag(message=message, name=n) for n in names])


def blacklist(org: Organization, pattern: str) -> None:
    """A blacklist record as a plain row, with the matcher version bumped."""
    BlacklistRecord.objects.create(organization=org, pattern=pattern, is_match_exact_word=False)
    Organization.objects.filter(pk=org.pk).update(filter_version=F("filter_version") + 1)


# --- reports ---------------------------------------------------------------------------------


def open_reports(member: Member, count: int, organization: Organization | None = None) -> None:
    """``count`` open reports on ``member``, made directly (reports belong to moderation)."""
    Report.objects.bulk_create(
        [
            Report(
                organization=organization or member.organization,
                target_member=member,
                reason=f"report {i}",
            )
            for i in range(count)
        ]
    )
