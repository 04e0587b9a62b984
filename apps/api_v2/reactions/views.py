"""Reactions API v2 (docs/api/reactions.md): views (the shapes are in serializers.py).

Kept apart from the messages API (another module owns it); the rendering of a message
in ``messages/most`` is a small serializer of its own that needs no per-row query.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.reactions.serializers import (
    DEFAULT_LIMIT,
    MessageBriefOutput,
    MostReactedEnvelope,
    MostReactedInput,
    ReactionInput,
    ReactorEnvelope,
    ReactorListEnvelope,
    ReactorOutput,
    ReactorQueryInput,
    SuccessOutput,
)
from apps.core.pagination import keyset_page
from apps.core.parsing import request_data
from apps.core.schema import ErrorOutput
from apps.messages.selectors import reactions as selectors
from apps.messages.services import reactions as services

TAGS = ["reactions"]


_REFERENCE_PARAMS = [
    OpenApiParameter("referenceId", str, required=True, description="The messageId."),
    OpenApiParameter("referenceType", str, required=True, enum=["message"]),
]
_ERRORS = {400: ErrorOutput, 401: ErrorOutput, 404: ErrorOutput}


# --- views ---------------------------------------------------------------------------
class ReactionsView(AdminAPIView):
    """GET: query reactors; POST: react as admin; DELETE: remove the admin's reaction."""

    @extend_schema(
        operation_id="v2_reactions_reactors",
        summary="Query for reactors of a message",
        parameters=[
            *_REFERENCE_PARAMS,
            OpenApiParameter("options[reactionName]", str, description="Only this reaction."),
            OpenApiParameter("options[skip]", int, description="Skip (first page only)."),
            OpenApiParameter("options[limit]", int, description="1..100, default 10."),
            OpenApiParameter("options[token]", str, description="paging.next / previous."),
        ],
        responses={200: ReactorListEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.validate(ReactorQueryInput)
        options = data.get("options") or {}
        message = selectors.reactable_message_get(
            organization=self.organization, message_id=data["referenceId"]
        )
        name = options.get("reactionName") or ""
        page = keyset_page(
            selectors.reactor_list(message=message, reaction_name=name or None),
            scope=f"v2.reactors:{self.organization.pk}:{message.pk}:{name}",
            limit=options.get("limit", DEFAULT_LIMIT),
            token=options.get("token") or None,
            token_field="options.token",
            skip=options.get("skip", 0),
        )
        reactors = ReactorOutput(page.items, many=True, context={"message": message}).data
        return Response({"reactors": reactors, "paging": page.paging()})

    @extend_schema(
        operation_id="v2_reactions_create",
        summary="Create a reaction to a message as the admin",
        request=ReactionInput,
        responses={201: ReactorEnvelope, 200: ReactorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.validate(ReactionInput)
        message = selectors.reactable_message_get(
            organization=self.organization, message_id=data["referenceId"]
        )
        reaction, created = services.reaction_create(
            organization=self.organization,
            actor=self.actor,
            message=message,
            reaction_name=data["reactionName"],
        )
        body = {"reactor": ReactorOutput(reaction, context={"message": message}).data}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="v2_reactions_delete",
        summary="Delete the admin's reaction to a message",
        parameters=[
            *_REFERENCE_PARAMS,
            OpenApiParameter("reactionName", str, required=True),
        ],
        request=ReactionInput,
        responses={200: SuccessOutput, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request) -> Response:
        # Parameters may come in the body or (as many clients send DELETE) the query string.
        data = self.validate(ReactionInput, data=request_data(request, include_query=True))
        message = selectors.reactable_message_get(
            organization=self.organization, message_id=data["referenceId"]
        )
        services.reaction_delete(
            organization=self.organization,
            actor=self.actor,
            message=message,
            reaction_name=data["reactionName"],
        )
        return Response({"success": True})


class MostReactedMessagesView(AdminAPIView):
    @extend_schema(
        operation_id="v2_reactions_messages_most",
        summary="Query for messages with the most reactions of a name",
        parameters=[MostReactedInput],
        responses={200: MostReactedEnvelope, 400: ErrorOutput, 401: ErrorOutput},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.validate(MostReactedInput)
        messages = selectors.messages_most_reacted(
            organization=self.organization,
            reaction_name=data["reactionName"],
            limit=data["limit"] or DEFAULT_LIMIT,
        )
        return Response({"messages": MessageBriefOutput(messages, many=True).data})
