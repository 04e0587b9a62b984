"""Reads on organizations, their staff and tokens."""

from __future__ import annotations

import math
import time
from datetime import timedelta

from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Account
from apps.core.compiled import CompiledRead, fields_of, instance
from apps.organizations.models import AccessToken, Organization, StaffRole, hash_token

_LAST_USED_RESOLUTION = timedelta(minutes=1)


def staff_role_of(*, account: Account, organization: Organization) -> str | None:
    """The account's staff role in the organization, or None. A superuser acts as an
    owner in every organization."""
    if account.is_superuser:
        return StaffRole.Role.OWNER
    return (
        StaffRole.objects.filter(account=account, organization=organization)
        .values_list("role", flat=True)
        .first()
    )


def staff_organizations(*, account: Account) -> QuerySet[Organization]:
    """The organizations where the account has a staff role (every one for a
    superuser), by name."""
    if account.is_superuser:
        return Organization.objects.order_by("name")
    return Organization.objects.filter(staff__account=account).order_by("name")


#: The Account fields a token's requests read (audit labels, staff checks); the others
#: stay deferred (read if something asks for them).
_TOKEN_ACCOUNT_FIELDS = fields_of(Account, ("id", "email", "is_active", "is_staff", "is_superuser"))
#: A token row without its hash (the caller holds the secret).
_TOKEN_FIELDS = [name for name in fields_of(AccessToken) if name != "token_hash"]
_ORGANIZATION_FIELDS = fields_of(Organization)


def mark_row_read(organization: Organization) -> Organization:
    """Stamp ``organization`` as read from its row just now, in this request: its
    ``filter_version`` is current enough for the content filter to trust without a query
    of its own (apps.moderation.filter.cache)."""
    organization.row_read_at = time.monotonic()  # type: ignore[attr-defined]
    return organization


_token_read = CompiledRead(
    lambda token_hash, kind: AccessToken.objects.filter(
        token_hash=token_hash, kind=kind
    ).values_list(
        *_TOKEN_FIELDS,
        *(f"account__{name}" for name in _TOKEN_ACCOUNT_FIELDS),
        *(f"organization__{name}" for name in _ORGANIZATION_FIELDS),
    )[:1],
    "token_hash",
    "kind",
)


def token_authenticate(*, raw: str, kind: str) -> AccessToken | None:
    """The active token of this kind whose hash matches, with its organization (whole,
    stamped by :func:`mark_row_read`) and its Account (the fields requests read) loaded,
    or None: unknown, revoked, or its Account deactivated. On every process, from the
    very next request: one indexed statement per request, no cache.

    Lookup is by the hash (an index probe), so no secret is compared in Python. The
    statement is compiled once per process (apps.core.compiled): the ORM's per-call
    ``select_related`` build was 4/5 of the lookup's CPU (docs/performance.md, "Token
    lookups"). ``last_used_at`` is refreshed at most once a minute to keep reads cheap.
    """
    if not raw or len(raw) > 200:
        return None
    row = _token_read.first(token_hash=hash_token(raw), kind=kind)
    if row is None:
        return None
    token_end = len(_TOKEN_FIELDS)
    account_end = token_end + len(_TOKEN_ACCOUNT_FIELDS)
    token = instance(AccessToken, _TOKEN_FIELDS, row[:token_end], DEFAULT_DB_ALIAS)
    account = instance(Account, _TOKEN_ACCOUNT_FIELDS, row[token_end:account_end], DEFAULT_DB_ALIAS)
    if token.revoked_at is not None or not account.is_active:
        return None
    organization = None
    if token.organization_id is not None:
        organization = mark_row_read(
            instance(Organization, _ORGANIZATION_FIELDS, row[account_end:], DEFAULT_DB_ALIAS)
        )
    token.account = account
    token.organization = organization
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


#: Token lists' state filter and sort orders (console pages).
TOKEN_STATES = ("active", "revoked", "all")
TOKEN_SORTS = {"newest": "-created_at", "oldest": "created_at", "name": "name"}


def tokens_filtered(
    queryset: QuerySet[AccessToken], *, state: str, search: str
) -> QuerySet[AccessToken]:
    """``queryset`` narrowed to active/revoked/all tokens whose name contains, or whose
    prefix starts with, ``search``."""
    if state == "active":
        queryset = queryset.filter(revoked_at__isnull=True)
    elif state == "revoked":
        queryset = queryset.filter(revoked_at__isnull=False)
    if search:
        queryset = queryset.filter(name__icontains=search) | queryset.filter(
            prefix__startswith=search
        )
    return queryset


def token_issue_account_retry_after(
    *, account_id: int, limit: int, window: timedelta
) -> int | None:
    """None while the account issued fewer than ``limit`` tokens in the last ``window``
    (revoked ones included: issue-and-revoke loops count), else the seconds until the
    oldest of them leaves the window. The token rows are the counter: exact across
    processes, nothing new stored."""
    since = timezone.now() - window
    recent = AccessToken.objects.filter(account_id=account_id, created_at__gte=since)
    created = list(recent.order_by("-created_at").values_list("created_at", flat=True)[:limit])
    if len(created) < limit:
        return None
    wait = (created[-1] + window - timezone.now()).total_seconds()
    return max(1, math.ceil(wait))
