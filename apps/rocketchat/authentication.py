"""Rocket.Chat's authentication: ``X-Auth-Token`` and ``X-User-Id``.

The auth token is an admin access token of one organization (the ones
``create_access_token`` and the console issue); the user id is the ``_id`` of its holder:
the userId of the Member its Account has in the token's organization (made on first use
as an organization admin, as the Admin API v2 does when a token acts as a chat
participant). ``POST /api/v1/login`` with ``{"resume": "<token>"}`` tells a client that
id. Both headers must be given and match, else 401 in Rocket.Chat's body.

``request.user`` is the token's Account; ``request.auth`` a :class:`RocketChatLogin`,
whose member is who acts (permission checks go through ``Actor.for_member``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication
from rest_framework.permissions import BasePermission

from apps.audit.actor import Actor
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.organizations.models import AccessToken
from apps.organizations.selectors import token_authenticate

#: Rocket.Chat's message when a route needs a login and has none.
LOGIN_REQUIRED = "You must be logged in to do this."


@dataclass(frozen=True)
class RocketChatLogin:
    """A valid ``X-Auth-Token``: the admin token and its holder's member."""

    token: AccessToken
    member: Member


def login_for_token(raw: Any) -> RocketChatLogin | None:
    """The login an admin access token gives, or None (unknown, revoked, not an admin
    token, or its holder's member is deactivated or removed)."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    token = token_authenticate(raw=raw.strip(), kind=AccessToken.Kind.ADMIN)
    if token is None or token.organization is None:
        return None
    member, _ = member_get_or_create_for_account(
        organization=token.organization,
        account=token.account,
        actor=Actor(account=token.account, token=token),
        role=Member.OrgRole.ADMIN,
    )
    if member.is_inactive:
        return None
    member.organization = token.organization  # the same row, loaded with the token
    return RocketChatLogin(token=token, member=member)


def _header(request: Any, name: str) -> str:
    """A header's value as sent: WSGI hands headers over decoded as latin-1, so a UTF-8
    userId is decoded back (a value that is not UTF-8 stays as it came, and matches none)."""
    value = request.META.get(name, "")
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class RocketChatAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, RocketChatLogin] | None:
        raw = _header(request, "HTTP_X_AUTH_TOKEN")
        user_id = _header(request, "HTTP_X_USER_ID")
        if not raw and not user_id:
            return None
        login = login_for_token(raw) if raw and user_id else None
        if login is None or login.member.user_id != user_id.strip():
            raise DomainError("unauthorized", LOGIN_REQUIRED)
        return login.token.account, login

    def authenticate_header(self, request: Any) -> str:
        return 'X-Auth-Token realm="rocketchat"'


class HasLogin(BasePermission):
    """Every integrations route needs a login: 401 (Rocket.Chat's body) without one."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not isinstance(request.auth, RocketChatLogin):
            raise DomainError("unauthorized", LOGIN_REQUIRED)
        return True
