"""Messaging API: ``/channels/`` (../shared/seeds/messaging-api.txt, Channels).

Parse -> apps.channels selectors/services (conversations) -> render
(:mod:`apps.messaging.channels.shapes`). The attach and messages routes under a channel
are the messages area's. docs/api/messaging-channels.md records the decisions.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.channels.models import Channel
from apps.channels.selectors.conversations import (
    conversation_members,
    conversation_row,
    conversation_view_of,
    conversations_visible,
    members_by_pk,
)
from apps.channels.services import conversations as services
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messaging.base import ErrorEnvelope, MessagingAPIView, SuccessEnvelope, path_id
from apps.messaging.channels.serializers import (
    MessagingChannelCreateInput,
    MessagingChannelEnvelope,
    MessagingChannelFlagInput,
    MessagingChannelInviteInput,
    MessagingChannelListEnvelope,
    MessagingChannelListInput,
    MessagingChannelMemberEnvelope,
    MessagingChannelMemberListEnvelope,
    MessagingChannelStateInput,
    MessagingChannelUpdateInput,
)
from apps.messaging.channels.shapes import (
    render_channel,
    render_channels,
    render_member,
    render_members,
)

TAGS = ["messaging"]
_ERRORS = {401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope}
_WRITE_ERRORS = {400: ErrorEnvelope, **_ERRORS}
CHANNEL_ID = OpenApiParameter(
    "channelID", OpenApiTypes.STR, OpenApiParameter.PATH, description="Channel ID"
)
USER_ID = OpenApiParameter(
    "userID", OpenApiTypes.STR, OpenApiParameter.PATH, description="Member ID (numeric)"
)


class ChannelsAPIView(MessagingAPIView):
    """A channels route."""

    def target(self, user_id: int) -> Member:
        pk = path_id(user_id, code="user_not_found", field="userID")
        return members_by_pk(organization=self.organization, member_pks=[pk], field="userID")[0]

    def render(
        self, channel: Channel, *, loaded: Channel | None = None, status: int = 200
    ) -> Response:
        """The channel re-read after a write (deleted ones too), as the caller sees it; a
        channel gone at once (deleted without grace) as the write left it, with what
        ``loaded`` (its load before the write) knew."""
        try:
            fresh = self.channel(channel.pk, include_deleted=True)
        except DomainError:
            if loaded is None:
                raise
            fresh = conversation_view_of(channel, loaded=loaded)
        return self.respond(
            render_channel(conversation_row(fresh), member=self.member), status=status
        )


class ChannelListView(ChannelsAPIView):
    """GET (list) and POST (create) /channels/."""

    @extend_schema(
        operation_id="messaging_channels_list",
        summary="List channels",
        description="The public channels of the organization and those the caller belongs "
        "or is invited to (not closed, not deleted), ordered by name; `query` keeps those "
        "whose name contains it (case-insensitive).",
        parameters=[MessagingChannelListInput],
        responses={200: MessagingChannelListEnvelope, 400: ErrorEnvelope, 401: ErrorEnvelope},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        params = self.validate(MessagingChannelListInput)
        channels = conversations_visible(member=self.member, query=params["query"])
        return self.respond(render_channels(channels, member=self.member))

    @extend_schema(
        operation_id="messaging_channels_create",
        summary="Create new channel",
        description="The caller becomes the owner; `members` (numeric ids) are added. "
        "`type` is public, private (default) or group, and needs the permission "
        "`channel.<type>.create`. `name` is required except for a group.",
        request=MessagingChannelCreateInput,
        responses={201: MessagingChannelEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        params = self.validate(MessagingChannelCreateInput)
        members = members_by_pk(
            organization=self.organization, member_pks=params["members"], field="members"
        )
        channel = services.conversation_create(
            member=self.member,
            name=params.get("name"),
            topic=params.get("topic"),
            visibility=params.get("type"),
            members=members,
        )
        return self.render(channel, status=201)


class ChannelDetailView(ChannelsAPIView):
    """GET (read) and PUT (update) /channels/{channelID}."""

    @extend_schema(
        operation_id="messaging_channel_read",
        summary="Read channel details",
        parameters=[CHANNEL_ID],
        responses={200: MessagingChannelEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        return self.respond(render_channel(conversation_row(channel), member=self.member))

    @extend_schema(
        operation_id="messaging_channel_update",
        summary="Update channel details",
        description="Changes the given ones of `name`, `topic` and `type` (permission "
        "`update`; a new type also needs `channel.<type>.create`). An archived channel is "
        "read-only (403 `channel_archived`). `organisationID` is refused (400): a channel "
        "never moves to another organisation.",
        parameters=[CHANNEL_ID],
        request=MessagingChannelUpdateInput,
        responses={200: MessagingChannelEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        params = self.validate(MessagingChannelUpdateInput)
        channel = services.conversation_update(
            channel=channel,
            member=self.member,
            name=params.get("name"),
            topic=params.get("topic"),
            visibility=params.get("type"),
        )
        return self.render(channel)


class ChannelStateView(ChannelsAPIView):
    """PUT /channels/{channelID}/state."""

    @extend_schema(
        operation_id="messaging_channel_state",
        summary="Update channel state",
        description="`delete` (soft: hidden at once, purged once the organization's "
        "deletion grace has passed), `undelete` (within the grace), `archive` (read-only "
        "for everyone) or `unarchive`; each needs the permission of the same name. "
        "Answers the channel as it now is.",
        parameters=[CHANNEL_ID],
        request=MessagingChannelStateInput,
        responses={200: MessagingChannelEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, channelID: int) -> Response:
        params = self.validate(MessagingChannelStateInput)
        channel = self.channel(channelID, include_deleted=params["state"] in ("delete", "undelete"))
        changed = services.conversation_state_set(
            channel=channel, member=self.member, state=params["state"]
        )
        return self.render(changed, loaded=channel)


class ChannelFlagView(ChannelsAPIView):
    """PUT and DELETE /channels/{channelID}/flag: the caller's own flag."""

    @extend_schema(
        operation_id="messaging_channel_flag_set",
        summary="Update channel membership flag",
        description="`pinned`, `hidden` or `ignored`, for the caller only (a current "
        "member; else 403 `not_a_member`). Answers the channel.",
        parameters=[CHANNEL_ID],
        request=MessagingChannelFlagInput,
        responses={200: MessagingChannelEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        params = self.validate(MessagingChannelFlagInput)
        services.conversation_flag_set(channel=channel, member=self.member, flag=params["flag"])
        return self.render(channel)

    @extend_schema(
        operation_id="messaging_channel_flag_remove",
        summary="Remove channel membership flag",
        parameters=[CHANNEL_ID],
        responses={200: SuccessEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        services.conversation_flag_clear(channel=channel, member=self.member)
        return self.acknowledge()


class ChannelMembersView(ChannelsAPIView):
    """GET /channels/{channelID}/members."""

    @extend_schema(
        operation_id="messaging_channel_members",
        summary="List channel members",
        description="Owners, members and invitees, in the order they came.",
        parameters=[CHANNEL_ID],
        responses={200: MessagingChannelMemberListEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        return self.respond(render_members(conversation_members(channel=channel)))


class ChannelMemberView(ChannelsAPIView):
    """PUT (join / add) and DELETE (leave / remove) /channels/{channelID}/members/{userID}."""

    @extend_schema(
        operation_id="messaging_channel_join",
        summary="Join channel",
        description="Oneself: into a public channel (permission `join`) or one the caller "
        "is invited to. Someone else: permission `members.manage`. Idempotent; answers "
        "the membership.",
        parameters=[CHANNEL_ID, USER_ID],
        request=None,
        responses={200: MessagingChannelMemberEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request, channelID: int, userID: int) -> Response:
        channel = self.channel(channelID)
        target = self.target(userID)
        row = services.conversation_member_join(channel=channel, member=self.member, target=target)
        return self.respond(render_member(row))

    @extend_schema(
        operation_id="messaging_channel_part",
        summary="Remove member from channel",
        description="Oneself: leave (permission `leave`; declines an invitation too). "
        "Someone else: permission `members.manage`. Idempotent.",
        parameters=[CHANNEL_ID, USER_ID],
        responses={200: SuccessEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, channelID: int, userID: int) -> Response:
        channel = self.channel(channelID)
        target = self.target(userID)
        services.conversation_member_remove(channel=channel, member=self.member, target=target)
        return self.acknowledge()


class ChannelInviteView(ChannelsAPIView):
    """POST /channels/{channelID}/invite."""

    @extend_schema(
        operation_id="messaging_channel_invite",
        summary="Invite members to the channel",
        description="`userID`: numeric ids of the members to invite (permission "
        "`members.manage`). Each becomes an invitee unless already a member, and may then "
        "join (even a private channel). Answers their memberships.",
        parameters=[CHANNEL_ID],
        request=MessagingChannelInviteInput,
        responses={200: MessagingChannelMemberListEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, channelID: int) -> Response:
        channel = self.channel(channelID)
        params = self.validate(MessagingChannelInviteInput)
        targets = members_by_pk(
            organization=self.organization, member_pks=params["userID"], field="userID"
        )
        rows = services.conversation_members_invite(
            channel=channel, member=self.member, targets=targets
        )
        return self.respond(render_members(rows))
