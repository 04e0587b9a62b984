"""Who performs an action: a console account, a token, a member (a messaging API session,
an integration's bot), or the system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apps.accounts.models import Account
from apps.members.models import Member
from apps.organizations.models import AccessToken


@dataclass(frozen=True)
class Actor:
    account: Account | None = None
    token: AccessToken | None = None
    #: A member acting for itself (messaging API session, moderation commands).
    member: Member | None = None

    @property
    def label(self) -> str:
        if self.member is not None:
            return f"member {self.member.user_id}"[:255]
        if self.token is not None:
            token = self.token
            return f"{token.get_kind_display()} {token.prefix}… of {token.account.email}"
        if self.account is not None:
            return self.account.email
        return "system"

    @property
    def is_system(self) -> bool:
        return self.account is None and self.token is None and self.member is None

    @classmethod
    def for_member(cls, member: Member) -> Actor:
        """A member acting for itself, with its own rights only (never its linked
        account's staff role: services that check staff roles see no account)."""
        return cls(member=member)

    @classmethod
    def system(cls) -> Actor:
        return cls()

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        token = request.auth if isinstance(getattr(request, "auth", None), AccessToken) else None
        user = getattr(request, "user", None)
        account = user if isinstance(user, Account) else None
        return cls(account=account, token=token)
