"""Reads on members and roles, always scoped to an organization."""

from __future__ import annotations

from datetime import timedelta
from itertools import accumulate
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Account
from apps.core.compiled import CompiledRead, fields_of, instance
from apps.core.errors import DomainError
from apps.members.filters import MemberFilter, RoleFilter
from apps.members.models import Member, MemberSession, Role
from apps.organizations.models import Organization, hash_token
from apps.organizations.selectors import mark_row_read
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


_SESSION_FIELDS = [name for name in fields_of(MemberSession) if name != "token_hash"]
_MEMBER_FIELDS = fields_of(Member)
#: The linked Account's fields a session's requests read; the others stay deferred.
_SESSION_ACCOUNT_FIELDS = fields_of(
    Account, ("id", "email", "is_active", "is_staff", "is_superuser")
)
_ORGANIZATION_FIELDS = fields_of(Organization)

_session_read = CompiledRead(
    lambda token_hash: MemberSession.objects.filter(token_hash=token_hash).values_list(
        *_SESSION_FIELDS,
        *(f"member__{name}" for name in _MEMBER_FIELDS),
        *(f"member__account__{name}" for name in _SESSION_ACCOUNT_FIELDS),
        *(f"member__organization__{name}" for name in _ORGANIZATION_FIELDS),
    )[:1],
    "token_hash",
)


def session_authenticate(*, raw: str) -> MemberSession | None:
    """The live session whose token hash matches, with its member, the member's
    organization (stamped by ``mark_row_read``) and linked Account loaded, or None:
    unknown, revoked or expired tokens and sessions of a member that is deactivated or
    removed (or whose linked account is deactivated) fail at once, on every process
    (one indexed statement per request, compiled once per process, no cache). A
    globally banned member's session is refused with 403 ``user_globally_banned``, so
    the client can tell the member why."""
    if not raw or len(raw) > 200:
        return None
    row = _session_read.first(token_hash=hash_token(raw))
    if row is None:
        return None
    ends = list(
        accumulate(
            map(len, (_SESSION_FIELDS, _MEMBER_FIELDS, _SESSION_ACCOUNT_FIELDS)),
            initial=0,
        )
    )
    session = instance(MemberSession, _SESSION_FIELDS, row[: ends[1]], DEFAULT_DB_ALIAS)
    member = instance(Member, _MEMBER_FIELDS, row[ends[1] : ends[2]], DEFAULT_DB_ALIAS)
    now = timezone.now()
    if session.revoked_at is not None or session.expires_at <= now or member.is_inactive:
        return None
    account = None
    if member.account_id is not None:
        account = instance(
            Account, _SESSION_ACCOUNT_FIELDS, row[ends[2] : ends[3]], DEFAULT_DB_ALIAS
        )
        if not account.is_active:
            return None
    organization = mark_row_read(
        instance(Organization, _ORGANIZATION_FIELDS, row[ends[3] :], DEFAULT_DB_ALIAS)
    )
    member.account = account
    member.organization = organization
    session.member = member
    if session.organization_id == organization.pk:
        session.organization = organization
    if member.is_globally_banned(now):
        raise DomainError(
            "user_globally_banned", f"User {member.user_id!r} is banned from the organization."
        )
    if session.last_used_at is None or now - session.last_used_at > _SESSION_LAST_USED_RESOLUTION:
        MemberSession.objects.filter(pk=session.pk).update(last_used_at=now)
        session.last_used_at = now
    return session
