"""Writes on accounts."""

from __future__ import annotations

from apps.accounts.models import Account


def account_get_or_create(*, email: str) -> tuple[Account, bool]:
    """The account with this email (case-insensitive), created without a password if new."""
    email = Account.objects.normalize_email(email).lower()
    existing = Account.objects.filter(email__iexact=email).first()
    if existing:
        return existing, False
    return Account.objects.create_user(email=email, password=None), True
