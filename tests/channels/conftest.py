"""Helpers for the channels tests: a bad-token client, scenes built through the services,
form-encoded requests and a snapshot of everything a channel endpoint may write."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from apps.audit.actor import Actor
from apps.audit.models import AuditEntry
from apps.channels.models import Channel, ChannelTag, Membership
from apps.channels.services import channels as services
from apps.channels.services.chatrooms import chatroom_avatar_set, chatroom_create_custom
from apps.members.models import Member
from apps.organizations.models import Organization
from tests.conftest import TokenClient

SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    """The admin accounts' passwords are irrelevant here; hash them cheaply."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def bad_api(db: None) -> TokenClient:
    return TokenClient("ca_adm_not-a-real-token", None)


@pytest.fixture
def make_channel(org: Organization) -> Callable[..., Channel]:
    """A channel made through the service (so counters are right); ``organization`` and
    ``user_ids`` optional."""

    def make(
        channel_id: str = "general",
        *,
        organization: Organization | None = None,
        user_ids: Sequence[str] = (),
        tags: Sequence[str] = (),
        **kwargs: Any,
    ) -> Channel:
        return services.channel_create(
            organization=organization or org,
            actor=SYSTEM,
            channel_id=channel_id,
            user_ids=list(user_ids),
            tags=list(tags),
            **kwargs,
        )

    return make


@pytest.fixture
def avatar_room(org: Organization) -> Channel:
    """A custom chatroom of ``org`` (reachable by the Admin API v2 by its channelId) with
    an avatar file in storage."""
    room = chatroom_create_custom(organization=org, actor=SYSTEM, name="Team", members=[])
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "red").save(buffer, format="PNG")
    room = chatroom_avatar_set(channel=room, actor=SYSTEM, content=buffer.getvalue())
    assert room.avatar and default_storage.exists(room.avatar.name)
    return room


def form(client: TokenClient, method: str, url: str, data: dict[str, Any]) -> Any:
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


def membership(channel: Channel, user_id: str) -> Membership:
    return Membership.objects.get(channel=channel, member__user_id=user_id)


def joined_user_ids(channel: Channel) -> list[str]:
    return sorted(
        Membership.objects.filter(channel=channel, joined_at__isnull=False).values_list(
            "member__user_id", flat=True
        )
    )


def last_audit(organization: Organization) -> AuditEntry:
    entry = AuditEntry.objects.filter(organization=organization).order_by("-pk").first()
    assert entry is not None
    return entry
