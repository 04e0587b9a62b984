"""Reads on members, always scoped to an organization."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.core.errors import DomainError
from apps.organizations.models import Organization

from .models import Member


def member_get(*, organization: Organization, user_id: str, field: str = "userId") -> Member:
    """The member, or DomainError(user_not_found); another org's userId looks the same."""
    member = Member.objects.filter(organization=organization, user_id=user_id).first()
    if member is None:
        raise DomainError("user_not_found", f"No user with userId {user_id!r}.", field=field)
    return member


def member_list(*, organization: Organization) -> QuerySet[Member]:
    return Member.objects.filter(organization=organization)
