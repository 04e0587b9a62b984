"""Who performs an action: a console account, a token, or the system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.accounts.models import Account
from apps.organizations.models import AccessToken


@dataclass(frozen=True)
class Actor:
    account: Account | None = None
    token: AccessToken | None = None

    @property
    def label(self) -> str:
        if self.token is not None:
            token = self.token
            return f"{token.get_kind_display()} {token.prefix}… of {token.account.email}"
        if self.account is not None:
            return self.account.email
        return "system"

    @property
    def is_system(self) -> bool:
        return self.account is None and self.token is None

    @classmethod
    def system(cls) -> Actor:
        return cls()

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        token = request.auth if isinstance(getattr(request, "auth", None), AccessToken) else None
        user = getattr(request, "user", None)
        account = user if isinstance(user, Account) else None
        return cls(account=account, token=token)
