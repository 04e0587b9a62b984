"""Input and output shapes of the sessions extension of the Admin API v2
(docs/api/sessions.md)."""

from __future__ import annotations

from rest_framework import serializers

from apps.core.fields import IdField, IntegerField
from apps.core.sweeps import iso
from apps.members.services import IssuedSession


class UserIdPathInput(serializers.Serializer):
    """The path's ``userId``, checked like every v2 userId."""

    userId = IdField()


class SessionIssueBody(serializers.Serializer):
    """The body of ``POST .../sessions``: ``ttl`` (seconds), optional."""

    ttl = IntegerField(
        required=False,
        allow_null=True,
        help_text="Lifetime in seconds, 1..CHATADMIN_SESSION_MAX_TTL_SECONDS (default "
        "CHATADMIN_SESSION_TTL_SECONDS, 30 days).",
    )


class SessionIssueInput(UserIdPathInput, SessionIssueBody):
    """What the view validates: the path's ``userId`` and the body."""


class SessionOutput(serializers.Serializer):
    token = serializers.CharField(help_text="The session token: shown once, never stored.")
    userId = serializers.CharField()
    expiresAt = serializers.CharField(help_text="ISO 8601, UTC (Z).")


class SessionEnvelope(serializers.Serializer):
    session = SessionOutput()


class SessionRevokeOutput(serializers.Serializer):
    success = serializers.BooleanField()


def render_session(issued: IssuedSession) -> dict[str, str | None]:
    return {
        "token": issued.token,
        "userId": issued.session.member.user_id,
        "expiresAt": iso(issued.session.expires_at),
    }
