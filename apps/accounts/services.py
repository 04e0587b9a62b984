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


def account_preferences_set(
    *, account: Account, theme: str | None = None, keyboard_shortcuts: bool | None = None
) -> Account:
    """Set the console preferences of ``account`` (None: unchanged).

    Not audited: the audit log is per organization and a preference belongs to the
    person, like their personal tokens (apps/console/profile/views.py says why).
    """
    fields: list[str] = []
    if theme is not None:
        if theme not in Account.Theme.values:
            raise ValueError(f"unknown theme {theme!r}")
        account.theme = theme
        fields.append("theme")
    if keyboard_shortcuts is not None:
        account.keyboard_shortcuts = keyboard_shortcuts
        fields.append("keyboard_shortcuts")
    if fields:
        account.save(update_fields=fields)
    return account
