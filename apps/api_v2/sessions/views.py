"""``POST|DELETE /api/v2/users/:userId/sessions``: messaging API session tokens, our
extension of the Admin API v2 (docs/api/sessions.md). Parse -> service -> render.

The admin access token acts for its own organization only: a userId is always one of
that organization's members (provisioned by POST if it has none, as the v2 channel
endpoints do); another organization's member of the same userId is never touched.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.sessions.serializers import (
    SessionEnvelope,
    SessionIssueBody,
    SessionIssueInput,
    SessionRevokeOutput,
    UserIdPathInput,
    render_session,
)
from apps.core.errors import DomainError
from apps.core.schema import ErrorOutput
from apps.members.selectors import member_get
from apps.members.services import member_session_issue_for_user_id, member_sessions_revoke

TAGS = ["sessions"]
_USER_ID = OpenApiParameter(
    "userId", str, OpenApiParameter.PATH, description="The user's userId (URL-encoded)."
)


def _broken_path_id(value: str) -> bool:
    """Whether a path's userId is what a client's broken encoding left: Django decodes a
    path that is not UTF-8 leniently, re-escaping the bad bytes (a lone surrogate sent
    as ``%ED%A0%80`` arrives as the text ``%ED%A0%80``) or, behind some servers, as
    U+FFFD. The hygiene middleware refuses a lone surrogate or a control character in a
    path with 404; this route would otherwise provision a user of that name, so such a
    path names no user here either (404)."""
    if "\ufffd" in value:
        return True
    if "%" in value:
        try:
            unquote_to_bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return True
    return False


class UserSessionsView(AdminAPIView):
    def initial(self, request: Request, *args: object, **kwargs: object) -> None:
        super().initial(request, *args, **kwargs)
        if _broken_path_id(str(kwargs.get("userId", ""))):
            raise DomainError("not_found", "The path is not valid UTF-8.")

    @extend_schema(
        operation_id="v2_users_sessions_issue",
        summary="Issue a messaging API session token for a user (extension)",
        description="A Bearer token for /api/messaging/ acting as this user of the token's "
        "organization (provisioned if it does not exist yet). Random (256 bits), stored "
        "hashed, shown once in this answer; it expires after ttl seconds (default "
        "CHATADMIN_SESSION_TTL_SECONDS) and is revoked by DELETE. Audited as "
        "session.issue (the token's prefix, never the token).",
        parameters=[_USER_ID],
        request=SessionIssueBody,
        responses={
            201: SessionEnvelope,
            400: OpenApiResponse(ErrorOutput, description="Bad userId or ttl."),
            401: OpenApiResponse(ErrorOutput, description="No or bad access token."),
            403: OpenApiResponse(ErrorOutput, description="The user is deactivated."),
            404: OpenApiResponse(ErrorOutput, description="A path that names no user."),
        },
        tags=TAGS,
    )
    def post(self, request: Request, userId: str) -> Response:
        data = self.validate(SessionIssueInput, {**self.params(), "userId": userId})
        issued = member_session_issue_for_user_id(
            organization=self.organization,
            actor=self.actor,
            user_id=data["userId"],
            ttl=data.get("ttl"),
        )
        return Response({"session": render_session(issued)}, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="v2_users_sessions_revoke",
        summary="Revoke every messaging API session of a user (extension)",
        description="They stop working on the very next request. Audited as session.revoke "
        "when there was a live session; a user without one answers success too.",
        parameters=[_USER_ID],
        request=None,
        responses={
            200: SessionRevokeOutput,
            400: OpenApiResponse(ErrorOutput, description="Bad userId."),
            401: OpenApiResponse(ErrorOutput, description="No or bad access token."),
            404: OpenApiResponse(
                ErrorOutput,
                description="No such user (user_not_found), or a path that names no user.",
            ),
        },
        tags=TAGS,
    )
    def delete(self, request: Request, userId: str) -> Response:
        data = self.validate(UserIdPathInput, {"userId": userId})
        member = member_get(organization=self.organization, user_id=data["userId"])
        member_sessions_revoke(actor=self.actor, member=member)
        return Response({"success": True})
