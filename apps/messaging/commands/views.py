"""``GET /commands/`` and ``POST /channels/{channelID}/messages/command/{command}/exec``
(docs/api/messaging-commands.md): parse -> registry (which calls the services) -> render."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import DomainError
from apps.messaging.base import MessagingAPIView, SuccessEnvelope
from apps.messaging.commands.registry import (
    Invocation,
    as_dict,
    command_get,
    commands_available,
)
from apps.messaging.commands.serializers import (
    MessagingCommandExecInput,
    MessagingCommandListEnvelope,
)
from apps.messaging.messages.serializers import MessagingMessageEnvelope
from apps.messaging.messages.shapes import render_message

TAGS = ["messaging"]
_EXEC_ANSWER = PolymorphicProxySerializer(
    component_name="MessagingCommandExecAnswer",
    serializers=[MessagingMessageEnvelope, SuccessEnvelope],
    resource_type_field_name=None,
)


class CommandsAPIView(MessagingAPIView):
    """A commands route."""


class CommandListView(CommandsAPIView):
    @extend_schema(
        operation_id="messaging_commands_list",
        summary="List of available commands",
        description="The commands the caller may run, with their params and description "
        "(moderation commands only for members whose role or rules allow them).",
        responses={
            200: MessagingCommandListEnvelope,
            401: OpenApiResponse(description="No or bad session."),
            403: OpenApiResponse(description="Not allowed to use the messaging API."),
        },
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return self.respond([as_dict(c) for c in commands_available(member=self.member)])


class CommandExecView(CommandsAPIView):
    @extend_schema(
        operation_id="messaging_commands_exec",
        summary="Execute command",
        description="Posting commands (me, shrug, tableflip, unflip) post a message as the "
        "caller and answer it; moderation commands (mute, unmute, ban, unban, topic) "
        'answer {"success": {"message": "OK"}}.',
        parameters=[
            OpenApiParameter("channelID", str, OpenApiParameter.PATH, description="Channel ID"),
            OpenApiParameter(
                "command", str, OpenApiParameter.PATH, description="Command to be executed"
            ),
        ],
        request=MessagingCommandExecInput,
        responses={
            200: OpenApiResponse(
                _EXEC_ANSWER,
                description='{"response": <message>} or {"success": {"message": "OK"}}',
            ),
            400: OpenApiResponse(description="Bad input or params."),
            401: OpenApiResponse(description="No or bad session."),
            403: OpenApiResponse(
                description="Not allowed (forbidden), or refused like a post (user_muted, "
                "channel_archived, ...).",
            ),
            404: OpenApiResponse(
                description="channel_not_found, command_not_found, user_not_found (target).",
            ),
        },
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int, command: str) -> Response:
        channel = self.channel(channelID)
        found = command_get(organization=self.organization, name=command)
        if not found.allowed(self.member, channel):
            raise DomainError("forbidden", f"You are not allowed to run /{found.name} here.")
        data = self.validate(MessagingCommandExecInput)
        outcome = found.run(
            Invocation(
                member=self.member, channel=channel, input=data["input"], params=data["params"]
            )
        )
        if outcome.message is None:
            return self.acknowledge()
        return self.respond(render_message(outcome.message, member=self.member))
