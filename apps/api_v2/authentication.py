"""DRF authentication for the Admin API v2: ``Authorization: Bearer <access token>``."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from apps.organizations.models import AccessToken
from apps.organizations.selectors import token_authenticate


class AdminTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Any) -> tuple[Any, AccessToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <access token>'.")
        token = token_authenticate(raw=raw.strip(), kind=AccessToken.Kind.ADMIN)
        if token is None:
            raise exceptions.AuthenticationFailed("The access token is invalid or revoked.")
        return token.account, token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
