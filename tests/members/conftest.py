"""Helpers for the members tests: a bad-token client and report rows."""

from __future__ import annotations

import pytest

from apps.members.models import Member
from apps.organizations.models import Organization
from apps.reports.models import Report
from tests.conftest import TokenClient


@pytest.fixture
def bad_api(db: None) -> TokenClient:
    return TokenClient("not-a-real-token", None)


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
