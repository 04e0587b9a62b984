"""Reads on organizations, their staff and tokens."""

from __future__ import annotations

import math
from datetime import timedelta

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Account
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


def token_authenticate(*, raw: str, kind: str) -> AccessToken | None:
    """The active token of this kind whose hash matches, or None.

    Lookup is by the hash (an index probe), so no secret is compared in Python.
    ``last_used_at`` is refreshed at most once a minute to keep reads cheap.
    """
    if not raw or len(raw) > 200:
        return None
    token = (
        AccessToken.objects.select_related("organization", "account")
        .filter(token_hash=hash_token(raw), kind=kind, revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.account.is_active:
        return None
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
