"""Writes on organizations, staff roles and tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Account
from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.errors import DomainError

from .models import AccessToken, Organization, StaffRole, hash_token

TOKEN_PREFIXES = {
    AccessToken.Kind.ADMIN: "ca_adm_",
    AccessToken.Kind.API: "ca_api_",
    AccessToken.Kind.PERSONAL: "ca_pat_",
}

#: The largest auto-hide threshold accepted (a sanity bound, not a business rule).
MAX_AUTO_HIDE_THRESHOLD = 10_000


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


_UNCHANGED: Any = ...


@transaction.atomic
def organization_settings_update(
    *,
    organization: Organization,
    actor: Actor,
    filter_policy: str | None = None,
    auto_hide_threshold: int | None = _UNCHANGED,
) -> Organization:
    """Change the organization's moderation settings; audited as ``organization.settings``.

    ``filter_policy``: block, flag or mask (None: unchanged). ``auto_hide_threshold``:
    hide a message at this many open reports, a whole number >= 1, or None to turn it
    off (leave the argument out: unchanged). Bad values: 400 ``invalid_parameter``.
    """
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = {
        "filterPolicy": organization.filter_policy,
        "autoHideThreshold": organization.auto_hide_threshold,
    }
    fields: list[str] = []
    if filter_policy is not None:
        if filter_policy not in Organization.FilterPolicy.values:
            raise DomainError(
                "invalid_parameter",
                f"filterPolicy: must be one of {', '.join(Organization.FilterPolicy.values)}.",
                field="filterPolicy",
            )
        organization.filter_policy = filter_policy
        fields.append("filter_policy")
    if auto_hide_threshold is not _UNCHANGED:
        if auto_hide_threshold is not None and (
            isinstance(auto_hide_threshold, bool)
            or not isinstance(auto_hide_threshold, int)
            or not 1 <= auto_hide_threshold <= MAX_AUTO_HIDE_THRESHOLD
        ):
            raise DomainError(
                "invalid_parameter",
                f"autoHideThreshold: must be a whole number from 1 to "
                f"{MAX_AUTO_HIDE_THRESHOLD}, or empty (off).",
                field="autoHideThreshold",
            )
        organization.auto_hide_threshold = auto_hide_threshold
        fields.append("auto_hide_threshold")
    if fields:
        organization.save(update_fields=fields)
    audit_record(
        organization=organization,
        actor=actor,
        action="organization.settings",
        target_type="organization",
        target_id=organization.slug,
        before=before,
        after={
            "filterPolicy": organization.filter_policy,
            "autoHideThreshold": organization.auto_hide_threshold,
        },
    )
    return organization
