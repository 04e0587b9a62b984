"""Reads on members and roles, always scoped to an organization."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from apps.core.errors import DomainError
from apps.members.filters import MemberFilter, RoleFilter
from apps.members.models import Member, Role
from apps.organizations.models import Organization
from apps.reports.selectors import open_report_count


def member_get(*, organization: Organization, user_id: str, field: str = "userId") -> Member:
    """The member, or DomainError(user_not_found); another org's userId looks the same."""
    member = Member.objects.filter(organization=organization, user_id=user_id).first()
    if member is None:
        raise DomainError("user_not_found", f"No user with userId {user_id!r}.", field=field)
    return member


def _with_flag_count(queryset: QuerySet[Member]) -> QuerySet[Member]:
    """Annotate ``flag_count``: the member's open reports, as one correlated subquery."""
    return queryset.annotate(flag_count=open_report_count("target_member"))


def member_list(
    *, organization: Organization, filters: dict[str, Any] | None = None
) -> QuerySet[Member]:
    """Members of the organization with ``flag_count``, filtered by :class:`MemberFilter`."""
    queryset = _with_flag_count(Member.objects.filter(organization=organization))
    if filters:
        queryset = MemberFilter(filters, queryset=queryset).qs
    return queryset


def member_get_detailed(
    *, organization: Organization, user_id: str, field: str = "userId"
) -> Member:
    """Like :func:`member_get`, with ``flag_count`` annotated (for rendering a user)."""
    member = member_list(organization=organization).filter(user_id=user_id).first()
    if member is None:
        raise DomainError("user_not_found", f"No user with userId {user_id!r}.", field=field)
    return member


def role_list(
    *, organization: Organization, filters: dict[str, Any] | None = None
) -> QuerySet[Role]:
    queryset = Role.objects.filter(organization=organization)
    if filters:
        queryset = RoleFilter(filters, queryset=queryset).qs
    return queryset
