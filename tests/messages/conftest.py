"""Fixtures of the Message API tests: a channel and a bad-token client (the helpers
that build messages, images and uploads are in ``tests/builders.py``)."""

from __future__ import annotations

import pytest

from apps.channels.models import Channel
from apps.organizations.models import Organization
from tests.factories import ChannelFactory
from tests.personas import TokenClient


@pytest.fixture
def channel(org: Organization) -> Channel:
    return ChannelFactory(organization=org, channel_id="general")


@pytest.fixture
def bad_token_api(db: None) -> TokenClient:
    return TokenClient("not-a-real-token", None)
