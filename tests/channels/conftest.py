"""Fixtures of the channels tests: a bad-token client and scenes built through the
services (form-encoded requests and the snapshot of everything a channel endpoint may
write are in ``tests/builders.py``)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.core.files.storage import default_storage
from PIL import Image

from apps.channels.models import Channel
from apps.channels.services import channels as services
from apps.channels.services.chatrooms import chatroom_avatar_set, chatroom_create_custom
from apps.organizations.models import Organization
from tests.personas import SYSTEM, TokenClient


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
