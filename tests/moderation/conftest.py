"""Fixtures of the content-filter tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.audit.actor import Actor
from apps.moderation.filter import cache as filter_cache

from ..factories import AccountFactory
from ..personas import TokenClient


@pytest.fixture(autouse=True)
def _fresh_matcher_cache() -> Iterator[None]:
    # Test databases reuse organization pks: never let one test see another's matcher.
    filter_cache._cache.clear()
    yield
    filter_cache._cache.clear()


@pytest.fixture
def actor() -> Actor:
    return Actor(account=AccountFactory(email="moderator@acme.test"))


@pytest.fixture
def bad_token_api(db: None) -> TokenClient:
    return TokenClient("not-a-real-token", None)
