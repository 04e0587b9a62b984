"""The admin site's member search across organizations (an exact userId, or a display
name "beginning with") is served by an index on PostgreSQL (issue 15: it scanned every
member, 10x a bare admin page at 100,000 users)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import QuerySet

from apps.members.models import Member
from apps.organizations.models import Organization

from ..factories import MemberFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="operator classes and plans are PostgreSQL's"
)


def _plan(queryset: QuerySet[Member]) -> str:
    with connection.cursor() as cursor:
        # A handful of rows: make the planner say whether an index CAN serve the filter.
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


def test_a_name_prefix_and_an_exact_user_id_use_the_pattern_indexes(org: Organization) -> None:
    MemberFactory(organization=org, user_id="ada-1", display_name="Ada Lovelace")
    by_name = _plan(Member.objects.filter(display_name__startswith="Ada L"))
    assert "member_name_prefix" in by_name
    by_id = _plan(Member.objects.filter(user_id="ada-1"))
    assert "member_user_id_prefix" in by_id
