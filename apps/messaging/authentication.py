"""Messaging API authentication: ``Authorization: Bearer <session token>``.

A session token acts as exactly one member of one organization
(:class:`~apps.members.models.MemberSession`, issued by ``POST
/api/v2/users/:userId/sessions`` or ``manage.py create_session_token``).
``request.user`` is the member; ``request.auth`` the session.
"""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission

from apps.members.models import MemberSession
from apps.members.selectors import session_authenticate


class SessionTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Any) -> tuple[Any, MemberSession] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <session token>'.")
        session = session_authenticate(raw=raw.strip())
        if session is None:
            raise exceptions.AuthenticationFailed("The session token is invalid or expired.")
        return session.member, session

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="messaging"'


class HasSession(BasePermission):
    """Every messaging route needs a session (401 without)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.auth, MemberSession)
