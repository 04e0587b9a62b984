"""Fixtures of the members tests: a bad-token client (``open_reports`` is in
``tests/builders.py``)."""

from __future__ import annotations

import pytest

from tests.personas import TokenClient


@pytest.fixture
def bad_api(db: None) -> TokenClient:
    return TokenClient("not-a-real-token", None)
