"""The shapes of ``POST /apiwh/{webhookId}`` for the OpenAPI schema. The view reads the
body itself (the JSON object, or the multipart ``File``) and the domain checks every
property (apps.integrations.services.stackfield); these serializers only document."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.integrations.services.stackfield import ORG_ROLES, ORGANIZATION_COMMANDS

_EMAIL = {"type": "string", "format": "email"}
USERS_SCHEMA = {
    "type": "array",
    "description": "Users by email: plain strings, or objects `{Email, IsAdmin}` (`IsAdmin` "
    'true or "true": the user owns the room; `GroupId` is ignored).',
    "items": {
        "oneOf": [
            _EMAIL,
            {
                "type": "object",
                "properties": {
                    "Email": _EMAIL,
                    "IsAdmin": {"oneOf": [{"type": "boolean"}, {"type": "string"}]},
                    "GroupId": {"type": "integer"},
                },
                "required": ["Email"],
            },
        ]
    },
}


@extend_schema_field(USERS_SCHEMA)
class UsersField(serializers.JSONField):
    pass


class StackfieldPayloadInput(serializers.Serializer):
    """Every property of every JSON kind; which ones a URL reads depends on its kind."""

    Title = serializers.CharField(
        required=False,
        help_text="chat message, discussion, task, page, event: the text (required).",
    )
    Content = serializers.CharField(
        required=False, help_text="discussion (its first reply), task, page, event."
    )
    DateStart = serializers.CharField(
        required=False,
        help_text="task, event (required): `YYYY-MM-DD HH:MM` in the organization's time "
        "zone (UTC), or with an offset.",
    )
    DateEnd = serializers.CharField(
        required=False, help_text="task, event (required): not before DateStart."
    )
    Users = UsersField(
        required=False,
        help_text="task: assignees; event: invitees; CreateRoom: members; "
        "GrantRoomAccess, RevokeRoomAccess (required).",
    )
    Command = serializers.ChoiceField(
        choices=list(ORGANIZATION_COMMANDS),
        required=False,
        help_text="room settings and organization URLs (required).",
    )
    RoomId = serializers.CharField(
        required=False,
        help_text="The room of a room command (its channelId): required unless the URL "
        "is bound to a channel.",
    )
    Email = serializers.EmailField(
        required=False, help_text="CreateUser, RemoveUser, DeactivateUser (required)."
    )
    DisplayName = serializers.CharField(required=False, help_text="CreateUser (required).")
    OrgRoleId = serializers.ChoiceField(
        choices=sorted(ORG_ROLES),
        required=False,
        help_text="CreateUser (required): 1 admin, 2 member, 3 guest, 4 external.",
    )
    Name = serializers.CharField(required=False, help_text="CreateRoom (required).")
    Description = serializers.CharField(required=False, help_text="CreateRoom: the topic.")
    TemplateId = serializers.CharField(required=False, help_text="CreateRoom: ignored.")


class StackfieldFileInput(serializers.Serializer):
    File = serializers.FileField(help_text="file URLs: the file (required).")


class StackfieldSuccessOutput(serializers.Serializer):
    Result = serializers.CharField(help_text='"ok"')
    RoomId = serializers.CharField(
        required=False, help_text="CreateRoom: the new room's id (its channelId)."
    )
