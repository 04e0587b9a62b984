"""Channel API (Admin API v2): parse -> selector/service -> render."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.channels.serializers import (
    ChannelCloseInput,
    ChannelCreateInput,
    ChannelDisplayNameInput,
    ChannelListResponse,
    ChannelMuteInput,
    ChannelQueryInput,
    ChannelResponse,
    ChannelScheduledDeletionInput,
    ChannelSerializer,
    ChannelUsersBanInput,
    ChannelUsersInput,
    ChannelUsersMuteInput,
)
from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_get, channel_query
from apps.channels.services import channels as services
from apps.channels.services.channels import MAX_USER_IDS
from apps.core.errors import DomainError
from apps.core.pagination import keyset_page
from apps.core.parsing import request_data
from apps.core.schema import ErrorOutput
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.retention import services as retention

TAGS = ["channels"]

_ERRORS = {
    400: OpenApiResponse(ErrorOutput, description="Missing or invalid parameter."),
    401: OpenApiResponse(ErrorOutput, description="No or bad access token."),
}
_NOT_FOUND = {404: OpenApiResponse(ErrorOutput, description="Unknown channelId.")}
_CLOSED = {
    403: OpenApiResponse(ErrorOutput, description="The channel is closed (or a user is banned).")
}


def _one(channel: Channel, status_code: int = status.HTTP_200_OK) -> Response:
    return Response({"channel": ChannelSerializer(channel).data}, status=status_code)


class ChannelPathView(AdminAPIView):
    # A view on channel/<channelId>/...: the channel is looked up in the token's organization.

    def channel(self, channel_id: str) -> Channel:
        return channel_get(organization=self.organization, channel_id=channel_id)


_QUERY_PARAMETERS = [
    OpenApiParameter(
        "filter",
        str,
        enum=["all", "member", "notMember"],
        description="The admin's membership status (default all).",
    ),
    OpenApiParameter("userId", str, description="Channels this user is a member of."),
    OpenApiParameter(
        "tags",
        {"type": "array", "items": {"type": "string"}},
        description="Channels having ANY of these tags (tags[]=a&tags[]=b).",
    ),
    OpenApiParameter(
        "excludeTags",
        {"type": "array", "items": {"type": "string"}},
        description="Channels having none of these tags.",
    ),
    OpenApiParameter("options[skip]", int, description="Channels to skip (first page only)."),
    OpenApiParameter("options[limit]", int, description="Page size, 1..100 (default 25)."),
    OpenApiParameter("options[token]", str, description="paging.next / paging.previous."),
]


class ChannelQueryView(AdminAPIView):
    """POST /api/v2/channels (also GET with the same parameters in the query string)."""

    def _query(self) -> Response:
        data = self.validate(ChannelQueryInput)
        options = data.get("options") or {}
        skip, limit = options.get("skip", 0), options.get("limit", 25)
        if skip > settings.CHATADMIN["MAX_SKIP"]:
            raise DomainError(
                "skip_too_large",
                f"options.skip must be at most {settings.CHATADMIN['MAX_SKIP']}.",
                field="options.skip",
            )
        membership = data.get("filter", "all")
        admin_member = None
        if membership in ("member", "notMember"):
            admin_member, _ = member_get_or_create_for_account(
                organization=self.organization,
                account=self.request.auth.account,
                actor=self.actor,
                role=Member.OrgRole.ADMIN,
            )
        filters = {
            "filter": membership,
            "userId": data.get("userId"),
            "tags": data.get("tags") or [],
            "excludeTags": data.get("excludeTags") or [],
        }
        queryset = channel_query(
            organization=self.organization, filters=filters, admin_member=admin_member
        )
        digest = hashlib.sha256(
            json.dumps(
                [
                    filters["filter"],
                    filters["userId"],
                    sorted(filters["tags"]),
                    sorted(filters["excludeTags"]),
                    admin_member.pk if admin_member else None,
                ]
            ).encode()
        ).hexdigest()[:24]
        page = keyset_page(
            queryset,
            scope=f"v2.channels:{self.organization.pk}:{digest}",
            limit=limit,
            token=options.get("token") or None,
            token_field="options.token",
            skip=skip,
        )
        return Response(
            {
                "channels": ChannelSerializer(page.items, many=True).data,
                "paging": page.paging(),
            }
        )

    @extend_schema(
        operation_id="v2_channels_query",
        summary="Query for channels",
        request=ChannelQueryInput,
        responses={200: ChannelListResponse, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        return self._query()

    @extend_schema(
        operation_id="v2_channels_query_get",
        summary="Query for channels (GET form)",
        parameters=_QUERY_PARAMETERS,
        responses={200: ChannelListResponse, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return self._query()


class ChannelCreateView(AdminAPIView):
    @extend_schema(
        operation_id="v2_channel_create",
        summary="Create a channel",
        request=ChannelCreateInput,
        responses={
            201: ChannelResponse,
            **_ERRORS,
            409: OpenApiResponse(ErrorOutput, description="channelId taken."),
        },
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.validate(ChannelCreateInput)
        channel = services.channel_create(
            organization=self.organization,
            actor=self.actor,
            channel_id=data["channelId"],
            type=data["type"],
            display_name=data["displayName"],
            metadata=data["metadata"],
            tags=data["tags"],
            user_ids=data["userIds"],
        )
        return _one(channel, status.HTTP_201_CREATED)


class ChannelDisplayNameView(AdminAPIView):
    @extend_schema(
        operation_id="v2_channel_display_name",
        summary="Update a channel's displayName",
        request=ChannelDisplayNameInput,
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.validate(ChannelDisplayNameInput)
        channel = channel_get(organization=self.organization, channel_id=data["channelId"])
        channel = services.channel_display_name_set(
            channel=channel, actor=self.actor, display_name=data["displayName"]
        )
        return _one(channel)


class ChannelUsersView(ChannelPathView):
    @extend_schema(
        operation_id="v2_channel_users_add",
        summary="Add users to a channel",
        request=ChannelUsersInput,
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def post(self, request: Request, channelId: str) -> Response:
        data = self.validate(ChannelUsersInput)
        channel = services.channel_users_add(
            channel=self.channel(channelId), actor=self.actor, user_ids=data["userIds"]
        )
        return _one(channel)

    @extend_schema(
        operation_id="v2_channel_users_remove",
        summary="Remove users from a channel",
        description="userIds in the body (JSON or form) or in the query string.",
        request=ChannelUsersInput,
        parameters=[
            OpenApiParameter(
                "userIds",
                {"type": "array", "items": {"type": "string"}},
                description=f"The users to remove, at most {MAX_USER_IDS}; in the body (form "
                "or JSON) or the query string.",
            )
        ],
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def delete(self, request: Request, channelId: str) -> Response:
        # Some HTTP clients cannot send a body with DELETE: the query string works too.
        data = self.validate(ChannelUsersInput, request_data(request, include_query=True))
        channel = services.channel_users_remove(
            channel=self.channel(channelId), actor=self.actor, user_ids=data["userIds"]
        )
        return _one(channel)


class ChannelMuteView(ChannelPathView):
    @extend_schema(
        operation_id="v2_channel_mute",
        summary="Mute or unmute a channel",
        description="mutePeriod in ms: 0 unmutes, -1 mutes until unmuted, > 0 mutes for "
        "that long. Optional reason (extension) goes to the audit log.",
        request=ChannelMuteInput,
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def put(self, request: Request, channelId: str) -> Response:
        data = self.validate(ChannelMuteInput)
        channel = services.channel_mute(
            channel=self.channel(channelId),
            actor=self.actor,
            mute_period=data["mutePeriod"],
            reason=data["reason"],
        )
        return _one(channel)


class ChannelUsersMuteView(ChannelPathView):
    @extend_schema(
        operation_id="v2_channel_users_mute",
        summary="Mute or unmute users in a channel",
        description="Same mutePeriod semantics as the channel mute; non-members are muted "
        "pre-emptively.",
        request=ChannelUsersMuteInput,
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def put(self, request: Request, channelId: str) -> Response:
        data = self.validate(ChannelUsersMuteInput)
        channel = services.channel_users_mute(
            channel=self.channel(channelId),
            actor=self.actor,
            user_ids=data["userIds"],
            mute_period=data["mutePeriod"],
            reason=data["reason"],
        )
        return _one(channel)


class ChannelUsersBanView(ChannelPathView):
    @extend_schema(
        operation_id="v2_channel_users_ban",
        summary="Ban users from a channel",
        description="Banned users leave the channel and cannot be added until unbanned. "
        "Optional reason (audit log) and banPeriod (extension) in ms: absent or -1 bans "
        "until unbanned, > 0 for that long (an expired ban ends by itself); 0 and other "
        "negatives are 400.",
        request=ChannelUsersBanInput,
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def post(self, request: Request, channelId: str) -> Response:
        data = self.validate(ChannelUsersBanInput)
        channel = services.channel_users_ban(
            channel=self.channel(channelId),
            actor=self.actor,
            user_ids=data["userIds"],
            reason=data["reason"],
            ban_period=data["banPeriod"],
        )
        return _one(channel)


class ChannelUsersUnbanView(ChannelPathView):
    @extend_schema(
        operation_id="v2_channel_users_unban",
        summary="Unban users from a channel",
        description="Lifts the bans; the users are not added back.",
        request=ChannelUsersInput,
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def post(self, request: Request, channelId: str) -> Response:
        data = self.validate(ChannelUsersInput)
        channel = services.channel_users_unban(
            channel=self.channel(channelId), actor=self.actor, user_ids=data["userIds"]
        )
        return _one(channel)


class ChannelCloseView(ChannelPathView):
    @extend_schema(
        operation_id="v2_channel_close",
        summary="Close a channel (irreversible)",
        description="Members are removed and messages hidden at once; the messages are "
        "purged in the background. Closing a closed channel: 409 conflict.",
        request=ChannelCloseInput,
        responses={
            200: ChannelResponse,
            **_ERRORS,
            **_NOT_FOUND,
            409: OpenApiResponse(ErrorOutput, description="Already closed."),
        },
        tags=TAGS,
    )
    def post(self, request: Request, channelId: str) -> Response:
        data = self.validate(ChannelCloseInput)
        channel = retention.channel_close(
            channel=self.channel(channelId), actor=self.actor, reason=data["reason"]
        )
        return _one(channel)


class ChannelScheduledDeletionView(ChannelPathView):
    @extend_schema(
        operation_id="v2_channel_scheduled_deletion",
        summary="Schedule or clear a channel's deletion (extension)",
        description="scheduledDeletion: an ISO 8601 time with a timezone (Z or +hh:mm; a "
        "past time means now; at most ten years ahead), or null (or an empty form value) "
        "to clear. Once the time has passed the channel answers 404 channel_not_found "
        "everywhere, and a background sweep deletes it with its memberships, messages, "
        "reactions and files (audited with the counts).",
        request=ChannelScheduledDeletionInput,
        responses={200: ChannelResponse, **_ERRORS, **_CLOSED, **_NOT_FOUND},
        tags=TAGS,
    )
    def put(self, request: Request, channelId: str) -> Response:
        data = self.validate(ChannelScheduledDeletionInput)
        channel = retention.channel_scheduled_deletion_set(
            channel=self.channel(channelId), actor=self.actor, at=data["scheduledDeletion"]
        )
        return _one(channel)
