"""Input and output shapes of the Users and Roles APIs (docs/api/users.md)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.audit.services import MAX_REASON_LENGTH
from apps.core.fields import IdField, IntegerField, JSONObjectField, StringField, StringListField
from apps.core.schema import PagingOutput
from apps.members.models import Member, Role
from apps.members.services import BAN_FOREVER, MAX_BAN_PERIOD_MS

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
MAX_ROLES_PER_USER = 50
MAX_ROLE_ID_LENGTH = 64
MAX_ROLES_PER_REQUEST = 100
MAX_PERMISSIONS = 100
MAX_PERMISSION_LENGTH = 128
MAX_METADATA_BYTES = 8 * 1024
MAX_DISPLAY_NAME = 255


# --- input ---------------------------------------------------------------------------
class UserQueryInput(serializers.Serializer):
    search = StringField(required=False, allow_blank=True, max_length=255)
    filter = serializers.ChoiceField(choices=["all", "flagged"], required=False, default="all")
    pageToken = StringField(required=False, allow_blank=True, max_length=512)
    limit = IntegerField(required=False, default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT)


class UserUpdateInput(serializers.Serializer):
    userId = IdField()
    displayName = StringField(required=False, allow_blank=True, max_length=MAX_DISPLAY_NAME)
    roles = StringListField(
        required=False,
        max_length=MAX_ROLES_PER_USER,
        child=IdField(max_length=MAX_ROLE_ID_LENGTH),
    )
    metadata = JSONObjectField(required=False, max_bytes=MAX_METADATA_BYTES)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(k in attrs for k in ("displayName", "roles", "metadata")):
            raise serializers.ValidationError(
                {"displayName": "Send at least one of displayName, roles, metadata."},
                code="required",
            )
        return attrs


class UserIdInput(serializers.Serializer):
    userId = IdField()
    reason = StringField(required=False, allow_blank=True, max_length=MAX_REASON_LENGTH, default="")


class BanPeriodField(IntegerField):
    """Milliseconds: -1 (the default) bans until unbanned, > 0 bans for that long
    (at most ten years); 0 and other negatives are refused."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", BAN_FOREVER)
        kwargs.setdefault("max_value", MAX_BAN_PERIOD_MS)
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", BAN_FOREVER)
        kwargs.setdefault(
            "help_text",
            "Ban length in milliseconds: -1 or absent until unbanned, 1.."
            f"{MAX_BAN_PERIOD_MS} for that long.",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        value = super().to_internal_value(data)
        if value == 0:
            raise serializers.ValidationError("Must be -1 (until unbanned) or positive.")
        return value


class UserBanInput(UserIdInput):
    banPeriod = BanPeriodField()


class RoleQueryInput(serializers.Serializer):
    filter = StringField(required=False, allow_blank=True, max_length=MAX_ROLE_ID_LENGTH)
    pageToken = StringField(required=False, allow_blank=True, max_length=512)
    limit = IntegerField(required=False, default=MAX_LIMIT, min_value=1, max_value=MAX_LIMIT)


class RoleUpsertInput(serializers.Serializer):
    publicIds = StringListField(
        max_length=MAX_ROLES_PER_REQUEST,
        child=IdField(max_length=MAX_ROLE_ID_LENGTH),
        allow_empty=False,
    )
    permissions = StringListField(
        required=False, max_length=MAX_PERMISSIONS, max_item_length=MAX_PERMISSION_LENGTH
    )


# --- output --------------------------------------------------------------------------
class UserOutput(serializers.Serializer):
    userId = serializers.CharField(source="user_id")
    displayName = serializers.CharField(source="display_name")
    roles = serializers.ListField(child=serializers.CharField())
    metadata = serializers.DictField()
    flagCount = serializers.SerializerMethodField()
    isGlobalBan = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_flagCount(self, member: Member) -> int:
        return int(getattr(member, "flag_count", 0) or 0)

    def get_isGlobalBan(self, member: Member) -> bool:
        return member.is_globally_banned()


class RoleOutput(serializers.Serializer):
    id = serializers.IntegerField(
        source="pk",
        help_text="The role's numeric id (our extension): the messaging API's roleID "
        "(/api/messaging/permissions/{roleID}/rules) takes it or the roleId.",
    )
    roleId = serializers.CharField(source="role_id")
    permissions = serializers.ListField(child=serializers.CharField())
    createdAt = serializers.DateTimeField(source="created_at")


class UserEnvelope(serializers.Serializer):
    user = UserOutput()


class UserListEnvelope(serializers.Serializer):
    users = UserOutput(many=True)
    paging = PagingOutput()


class RoleListEnvelope(serializers.Serializer):
    roles = RoleOutput(many=True)
    paging = PagingOutput()


class RoleUpsertEnvelope(serializers.Serializer):
    roles = RoleOutput(many=True)


def render_user(member: Member) -> dict[str, Any]:
    return {"user": UserOutput(member).data}


def render_role(role: Role) -> dict[str, Any]:
    return RoleOutput(role).data
