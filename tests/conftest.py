"""The fixtures every test may use (thin wrappers over ``tests/personas.py``):

- ``org``: the organization under test ("acme"), with an admin access token
  (``api`` is a client that sends it);
- ``other_org``: another tenant ("globex") with its own token (``other_api``): its
  calls on acme's ids must look exactly like calls on ids that do not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from apps.organizations.models import Organization

from .factories import OrganizationFactory
from .personas import TokenClient, make_admin_client


@pytest.fixture
def org(db: None) -> Organization:
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_org(db: None) -> Organization:
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def api(org: Organization) -> TokenClient:
    return make_admin_client(org)


@pytest.fixture
def other_api(other_org: Organization) -> TokenClient:
    return make_admin_client(other_org, email="admin@globex.test")


@pytest.fixture
def anon_api(db: None) -> TokenClient:
    return TokenClient(None, None)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness is for production; tests make many accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    # The per-address throttles count in Django's cache; no test may inherit another's.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _broker_not_paused() -> Any:
    # A failed publish pauses publishing in the process (apps.core.publishing), a
    # dispatch request covers the next commits (apps.events.services.dispatch_pacer): no
    # test may inherit another's.
    from apps.core.publishing import resume
    from apps.events.services import dispatch_pacer

    resume()
    dispatch_pacer.reset()
    yield
    resume()
    dispatch_pacer.reset()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-query-counts",
        action="store_true",
        default=False,
        help="rewrite the query-count baselines (tests/<app>/query_counts.json) with the "
        "counts of this run's database instead of checking them (also UPDATE_QUERY_COUNTS=1)",
    )
