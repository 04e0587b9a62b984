"""Reads on members and roles, always scoped to an organization."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from apps.core.errors import DomainError
from apps.members.filters import MemberFilter, RoleFilter
from apps.members.models import Member, MemberSession, Role
from apps.organizations.models import Organization, hash_token
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


#: ``last_used_at`` of a session is refreshed at most this often (keeps reads cheap).
_SESSION_LAST_USED_RESOLUTION = timedelta(minutes=1)


def session_authenticate(*, raw: str) -> MemberSession | None:
    """The live session whose token hash matches, with its member and organization
    loaded, or None: unknown, revoked or expired tokens and sessions of a member that is
    deactivated (or whose linked account is) fail at once, on every process (checked on
    each request, in the one query). A globally banned member's session is refused with
    403 ``user_globally_banned``, so the client can tell the member why."""
    if not raw or len(raw) > 200:
        return None
    now = timezone.now()
    session = (
        MemberSession.objects.select_related("member__organization", "member__account")
        .filter(
            token_hash=hash_token(raw),
            revoked_at__isnull=True,
            expires_at__gt=now,
            member__deactivated_at__isnull=True,
            member__removed_at__isnull=True,
        )
        .first()
    )
    if session is None:
        return None
    member = session.member
    if member.account is not None and not member.account.is_active:
        return None
    if member.is_globally_banned(now):
        raise DomainError(
            "user_globally_banned", f"User {member.user_id!r} is banned from the organization."
        )
    if session.last_used_at is None or now - session.last_used_at > _SESSION_LAST_USED_RESOLUTION:
        MemberSession.objects.filter(pk=session.pk).update(last_used_at=now)
        session.last_used_at = now
    return session
