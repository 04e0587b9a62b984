"""Accounts: people who log in to the console or hold tokens (global, not per tenant)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class AccountManager(UserManager["Account"]):
    """Accounts log in with their email address."""

    use_in_migrations = True

    def _create_user_object(self, email: str, password: str | None, **extra: Any) -> Account:
        if not email:
            raise ValueError("An account needs an email address.")
        account = self.model(email=self.normalize_email(email).lower(), **extra)
        account.password = ""
        account.set_password(password)
        return account

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> Account:  # type: ignore[override]
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        account = self._create_user_object(email, password, **extra)
        account.save(using=self._db)
        return account

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> Account:  # type: ignore[override]
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class Account(AbstractUser):
    """Django's user model: a console login or the owner of tokens."""

    class Theme(models.TextChoices):
        """The console's colour scheme (the top bar's toggle; the profile page)."""

        SYSTEM = "system", "System (follow the device)"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    # Console preferences of the person (not of an organization): rendered server-side
    # as data attributes, so the page never flashes the wrong theme.
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    keyboard_shortcuts = models.BooleanField(
        "single-key shortcuts",
        default=True,
        help_text="Off: no key pressed alone does anything in the console (WCAG 2.1.4).",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = AccountManager()  # type: ignore[misc]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email
