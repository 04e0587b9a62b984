"""Writes on organizations, staff roles and tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.core.errors import DomainError

from .models import AccessToken, Organization, StaffRole, hash_token

TOKEN_PREFIXES = {
    AccessToken.Kind.ADMIN: "ca_adm_",
    AccessToken.Kind.API: "ca_api_",
    AccessToken.Kind.PERSONAL: "ca_pat_",
}


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    raw: str  # shown once, never stored


def organization_create(*, slug: str, name: str) -> Organization:
    if Organization.objects.filter(slug=slug).exists():
        raise DomainError("conflict", f"An organization with slug {slug!r} already exists.")
    return Organization.objects.create(slug=slug, name=name)


def staff_role_set(*, organization: Organization, account: Account, role: str) -> StaffRole:
    staff, _ = StaffRole.objects.update_or_create(
        organization=organization, account=account, defaults={"role": role}
    )
    return staff


def token_issue(
    *,
    kind: str,
    account: Account,
    organization: Organization | None = None,
    name: str = "",
) -> IssuedToken:
    """Create a token of 256 random bits; only its hash is kept."""
    raw = TOKEN_PREFIXES[AccessToken.Kind(kind)] + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        kind=kind,
        account=account,
        organization=organization,
        name=name,
        prefix=raw[:12],
        token_hash=hash_token(raw),
    )
    return IssuedToken(token=token, raw=raw)


@transaction.atomic
def token_revoke(*, token: AccessToken) -> AccessToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
