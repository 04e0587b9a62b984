"""``POST|DELETE /api/v2/users/:userId/sessions``: messaging API session tokens, our
extension of the Admin API v2 (docs/api/sessions.md). Parse -> service -> render.

The admin access token acts for its own organization only: a userId is always one of
that organization's members (provisioned by POST if it has none, as the v2 channel
endpoints do); another organization's member of the same userId is never touched.
"""

from __future__ import annotations

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
from apps.core.schema import ErrorOutput
from apps.members.selectors import member_get
from apps.members.services import member_session_issue_for_user_id, member_sessions_revoke

TAGS = ["sessions"]
_USER_ID = OpenApiParameter(
    "userId", str, OpenApiParameter.PATH, description="The user's userId (URL-encoded)."
)


class UserSessionsView(AdminAPIView):
    """A path that is not UTF-8 never gets here (apps.core.hygiene: 404)."""

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
