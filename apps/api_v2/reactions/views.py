"""Reactions API v2 (docs/api/reactions.md): serializers and views.

Kept apart from the messages API (another module owns it); the rendering of a message
in ``messages/most`` is a small serializer of its own that needs no per-row query.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.core.fields import IntegerField, StringField
from apps.core.pagination import keyset_page
from apps.core.parsing import request_data
from apps.core.schema import ErrorOutput, PagingOutput
from apps.messages.models import Message, Reaction
from apps.messages.selectors import reactions as selectors
from apps.messages.services import reactions as services

TAGS = ["reactions"]
MAX_REACTION_NAME = 64
DEFAULT_LIMIT = 10
MAX_LIMIT = 100


# --- input ---------------------------------------------------------------------------
class ReactionNameField(StringField):
    """1..64 characters, trimmed; whitespace-only is refused as blank."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_REACTION_NAME)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise serializers.ValidationError("Must not contain control characters.")
        return value


class ReferenceInput(serializers.Serializer):
    referenceId = StringField(max_length=64)
    referenceType = serializers.ChoiceField(choices=[Reaction.ReferenceType.MESSAGE.value])


class ReactionInput(ReferenceInput):
    reactionName = ReactionNameField()


def _validate_skip(value: int) -> int:
    cap = settings.CHATADMIN["MAX_SKIP"]
    if value > cap:
        raise serializers.ValidationError(f"skip must be at most {cap}.", code="skip_too_large")
    return value


class ReactorOptionsInput(serializers.Serializer):
    reactionName = ReactionNameField(required=False)
    skip = IntegerField(required=False, default=0, min_value=0, validators=[_validate_skip])
    limit = IntegerField(required=False, default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT)
    token = StringField(required=False, allow_blank=True, max_length=512)


class ReactorQueryInput(ReferenceInput):
    options = ReactorOptionsInput(required=False)


class MostReactedInput(serializers.Serializer):
    reactionName = ReactionNameField()
    limit = IntegerField(required=False, default=0, min_value=0, max_value=MAX_LIMIT)


# --- output --------------------------------------------------------------------------
class ReactorOutput(serializers.Serializer):
    userId = serializers.CharField(source="member.user_id")
    reactionName = serializers.CharField(source="name")
    referenceId = serializers.SerializerMethodField()
    referenceType = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    def get_referenceId(self, reaction: Reaction) -> str:
        return str(self.context["message"].public_id)

    def get_referenceType(self, reaction: Reaction) -> str:
        return Reaction.ReferenceType.MESSAGE.value


class MessageBriefOutput(serializers.Serializer):
    """A message as API.md names its fields; expects the annotations made by
    ``apps.messages.selectors.reactions.messages_most_reacted`` (no query per row)."""

    messageId = serializers.CharField(source="message_id")
    channelId = serializers.CharField(source="channel.channel_id")
    userId = serializers.SerializerMethodField()
    type = serializers.CharField()
    data = serializers.JSONField()
    tags = serializers.ListField(child=serializers.CharField(), source="tag_names")
    parentId = serializers.SerializerMethodField()
    childrenNumber = serializers.IntegerField(source="children_count")
    reactions = serializers.DictField(child=serializers.IntegerField(), source="reaction_counts")
    reactionsCount = serializers.SerializerMethodField()
    flagCount = serializers.IntegerField(source="flag_count")
    isDeleted = serializers.BooleanField(source="is_deleted")
    createdAt = serializers.DateTimeField(source="created_at")
    editedAt = serializers.DateTimeField(source="edited_at", allow_null=True)

    def get_userId(self, message: Message) -> str | None:
        return message.author.user_id if message.author else None

    def get_parentId(self, message: Message) -> str | None:
        return str(message.parent.public_id) if message.parent else None

    def get_reactionsCount(self, message: Message) -> int:
        return sum(message.reaction_counts.values())


class ReactorListEnvelope(serializers.Serializer):
    reactors = ReactorOutput(many=True)
    paging = PagingOutput()


class ReactorEnvelope(serializers.Serializer):
    reactor = ReactorOutput()


class MostReactedEnvelope(serializers.Serializer):
    messages = MessageBriefOutput(many=True)


class SuccessOutput(serializers.Serializer):
    success = serializers.BooleanField()


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
