"""Fixtures of the content-filter tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.audit.actor import Actor
from apps.moderation import filtering

from ..conftest import TokenClient
from ..factories import AccountFactory


@pytest.fixture(autouse=True)
def _fresh_matcher_cache() -> Iterator[None]:
    # Test databases reuse organization pks: never let one test see another's matcher.
    filtering._cache.clear()
    yield
    filtering._cache.clear()


@pytest.fixture
def actor() -> Actor:
    return Actor(account=AccountFactory(email="moderator@acme.test"))


@pytest.fixture
def bad_token_api(db: None) -> TokenClient:
    return TokenClient("not-a-real-token", None)
