"""DRF authentication for the chatroom service: two headers, two kinds of tokens.

- ``API-TOKEN: <token>``: an :class:`AccessToken` of kind ``api``, issued for one
  organization; acts on that organization only, with no user behind it.
- ``Personal-Access-Token: <token>``: kind ``personal``, issued by an Account for
  itself; acts as that Account's Member in each organization (apps.messenger.permissions).

Both return ``(account, token)``; ``request.auth`` is the :class:`AccessToken`.
Sending both headers at once is ambiguous: 400 ``invalid_parameter``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from apps.core.errors import DomainError
from apps.organizations.models import AccessToken
from apps.organizations.selectors import token_authenticate

API_TOKEN_HEADER = "API-TOKEN"
PERSONAL_TOKEN_HEADER = "Personal-Access-Token"
_API_META = "HTTP_API_TOKEN"
_PERSONAL_META = "HTTP_PERSONAL_ACCESS_TOKEN"


class _HeaderTokenAuthentication(authentication.BaseAuthentication):
    header: str = ""
    meta_key: str = ""
    kind: str = ""

    def authenticate(self, request: Any) -> tuple[Any, AccessToken] | None:
        if request.META.get(_API_META) is not None and (
            request.META.get(_PERSONAL_META) is not None
        ):
            raise DomainError(
                "invalid_parameter",
                f"Send either an {API_TOKEN_HEADER} or a {PERSONAL_TOKEN_HEADER} header, not both.",
                field=self.header,
            )
        raw = request.META.get(self.meta_key)
        if raw is None:
            return None
        raw = raw.strip()
        if not raw:
            raise exceptions.AuthenticationFailed(f"The {self.header} header is empty.")
        token = token_authenticate(raw=raw, kind=self.kind)
        if token is None:
            raise exceptions.AuthenticationFailed(f"The {self.header} is invalid or revoked.")
        return token.account, token

    def authenticate_header(self, request: Any) -> str:
        return f'{self.header} realm="messenger"'


class ApiTokenAuthentication(_HeaderTokenAuthentication):
    """``API-TOKEN``: organization scope, no user."""

    header = API_TOKEN_HEADER
    meta_key = _API_META
    kind = AccessToken.Kind.API


class PersonalTokenAuthentication(_HeaderTokenAuthentication):
    """``Personal-Access-Token``: acts as the token's Account (its Member in each org)."""

    header = PERSONAL_TOKEN_HEADER
    meta_key = _PERSONAL_META
    kind = AccessToken.Kind.PERSONAL
