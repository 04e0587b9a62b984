"""The chatroom service (/api/messenger/, ../shared/seeds/messenger-chatrooms.txt).

Thin views: authenticate (two token kinds, apps.messenger.authentication) -> scope and
permission (apps.messenger.permissions) -> selector/service -> render. Paths are the
ones issue 5 gives; docs/api/messenger.md records the decisions.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from apps.api_v2.messages.serializers import MessageEnvelopeSerializer, MessageSerializer
from apps.audit.actor import Actor
from apps.channels.models import Channel
from apps.channels.selectors.chatrooms import (
    MAX_ID,
    chatroom_assigned_ids,
    chatroom_for_event,
    chatroom_live_q,
    chatroom_page_values,
    chatrooms_assigned_to_q,
    chatrooms_of_organization_q,
)
from apps.channels.services.chatrooms import (
    chatroom_avatar_set,
    chatroom_create_custom,
    chatroom_default_create,
    chatroom_default_remove,
    chatroom_delete,
    chatroom_update,
)
from apps.core import signing
from apps.core.errors import DomainError
from apps.core.parsing import request_data
from apps.members.models import Member
from apps.messages.models import Message
from apps.messages.services.messages import message_create
from apps.messenger.api.serializers import (
    AVATAR_SIGN_KIND,
    ChatroomCreateInputSerializer,
    ChatroomListQuerySerializer,
    ChatroomListSerializer,
    ChatroomMessageInputSerializer,
    ChatroomOfEventQuerySerializer,
    ChatroomSerializer,
    ChatroomUpdateInputSerializer,
    MessengerSuccessSerializer,
    render_chatroom_values,
)
from apps.messenger.authentication import ApiTokenAuthentication, PersonalTokenAuthentication
from apps.messenger.permissions import Caller, Scope
from apps.organizations.models import Organization

TAG = ["Chatrooms (messenger)"]
ERRORS = {
    400: OpenApiResponse(description="Invalid input, or user_context_required"),
    401: OpenApiResponse(description="No, bad or revoked token"),
    403: OpenApiResponse(description="Not allowed (not an admin there, globally banned)"),
    404: OpenApiResponse(description="Unknown id (or one this token cannot act on)"),
    413: OpenApiResponse(description="Request body too large (payload_too_large)"),
}
ROOM_ID = OpenApiParameter(
    "roomID", OpenApiTypes.INT64, OpenApiParameter.PATH, description="Id of the chatroom"
)
ORGANIZATION_ID = OpenApiParameter(
    "organizationID",
    OpenApiTypes.INT64,
    OpenApiParameter.PATH,
    description="Id of the organization",
)


class MessengerAPIView(APIView):
    """Either token header; ``self.caller`` resolves scopes and permissions."""

    authentication_classes = [ApiTokenAuthentication, PersonalTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @property
    def caller(self) -> Caller:
        return Caller(self.request.auth)

    @property
    def actor(self) -> Actor:
        return Actor.from_request(self.request)

    def validate(self, serializer_class: type[Serializer]) -> dict[str, Any]:
        """Validated input (query string for GET, else the body; JSON or form)."""
        data = request_data(self.request, include_query=self.request.method == "GET")
        serializer = serializer_class(data=data, context={"request": self.request})
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def render_one(self, channel: Channel) -> Any:
        assigned = chatroom_assigned_ids(channels=[channel])
        return ChatroomSerializer(
            channel, context={"assigned": assigned, "request": self.request}
        ).data

    def visible_chatroom(
        self, room_id: int, *, organization_id: int | None = None
    ) -> tuple[Scope, Channel]:
        """The chatroom, if this caller may see it (else 404, like an unknown id)."""
        return self.caller.chatroom(room_id, organization_id=organization_id)


def _assigned_members(organization: Organization, ids: Sequence[int]) -> list[Member]:
    """The organization's Members with these numeric ids, in the given order; any unknown
    (or another organization's) id is 400 invalid_parameter naming them."""
    wanted = list(dict.fromkeys(ids))
    found = {m.pk: m for m in Member.objects.filter(organization=organization, pk__in=wanted)}
    unknown = [pk for pk in wanted if pk not in found]
    if unknown:
        shown = ", ".join(str(pk) for pk in unknown[:20])
        raise DomainError(
            "invalid_parameter",
            f"assignedUsers: no users with ids {shown} in organization {organization.pk}.",
            field="assignedUsers",
        )
    return [found[pk] for pk in wanted]


class ChatroomOfEventView(MessengerAPIView):
    """GET /api/messenger/chatroom?organization_id=&event_id="""

    @extend_schema(
        operation_id="messenger_chatroom_of_event",
        summary="The chatroom of an event",
        description="Returns the chatroom of event `event_id` in organization "
        "`organization_id` (optional with an API-TOKEN).",
        parameters=[ChatroomOfEventQuerySerializer],
        responses={200: ChatroomSerializer, **ERRORS},
        tags=TAG,
    )
    def get(self, request: Request) -> Response:
        params = self.validate(ChatroomOfEventQuerySerializer)
        scope = self.caller.scope(params.get("organization_id"))
        # Looked up by event_id: a chatroom not assigned to the caller is answered like an
        # unknown or another organization's event (same code, message and field).
        channel = chatroom_for_event(
            organization=scope.organization, event_id=params["event_id"], member=scope.member
        )
        return Response(self.render_one(channel))


class ChatroomsView(MessengerAPIView):
    """GET (list) and POST (create a custom chatroom) /api/messenger/chatrooms."""

    @extend_schema(
        operation_id="messenger_chatrooms_list",
        summary="List chatrooms",
        description="With `organization_id`: the organization's chatrooms (for a member who "
        "is not an admin there: the ones assigned to them), paginated by `limit`/`offset` "
        "unless `all=true`. Without it: every chatroom assigned to the token's user across "
        "organizations, which needs a Personal-Access-Token (an API-TOKEN gets 400 "
        "`user_context_required`: it acts for an organization, not a user). "
        "`total` counts all matching entries.",
        parameters=[ChatroomListQuerySerializer],
        responses={200: ChatroomListSerializer, **ERRORS},
        tags=TAG,
    )
    def get(self, request: Request) -> Response:
        params = self.validate(ChatroomListQuerySerializer)
        organization_id = params.get("organization_id")
        caller = self.caller
        if organization_id is None:
            # "my" chatrooms: needs a user (400 user_context_required for an API-TOKEN)
            where = chatrooms_assigned_to_q(members=caller.members())
        else:
            scope = caller.scope(organization_id)
            where = chatrooms_of_organization_q(
                organization=scope.organization, member=scope.member
            )
        rows, total = chatroom_page_values(
            where=where,
            offset=0 if params["all"] else params["offset"],
            limit=None if params["all"] else params["limit"],
        )
        entries = [render_chatroom_values(row, request) for row in rows]
        return Response({"entries": entries, "total": total})

    @extend_schema(
        operation_id="messenger_chatroom_create",
        summary="Create a custom chatroom",
        description="Organization admins (and API-TOKENs) only. `assignedUsers` are numeric "
        "ids of the organization's members; an admin acting with a Personal-Access-Token "
        "is assigned too.",
        request=ChatroomCreateInputSerializer,
        responses={201: ChatroomSerializer, **ERRORS},
        tags=TAG,
    )
    def post(self, request: Request) -> Response:
        params = self.validate(ChatroomCreateInputSerializer)
        scope = self.caller.scope(params.get("organizationID"), field="organizationID")
        scope.require_manage()
        members = _assigned_members(scope.organization, params["assignedUsers"])
        channel = chatroom_create_custom(
            organization=scope.organization,
            actor=self.actor,
            name=params["name"],
            members=members,
            creator=scope.member,
        )
        return Response(self.render_one(channel), status=201)


class DefaultChatroomView(MessengerAPIView):
    """POST / DELETE /api/messenger/organizations/{organizationID}/default-chatroom."""

    def _scope(self, organization_id: int) -> Scope:
        scope = self.caller.scope(organization_id, field="organizationID")
        scope.require_manage()
        return scope

    @extend_schema(
        operation_id="messenger_default_chatroom_create",
        summary="Create the default chatroom of an organization",
        description="Every admin and member of the organization is assigned. One per "
        "organization: a second is 409 default_chatroom_exists.",
        parameters=[ORGANIZATION_ID],
        request=None,
        responses={201: ChatroomSerializer, 409: OpenApiResponse(), **ERRORS},
        tags=TAG,
    )
    def post(self, request: Request, organizationID: int) -> Response:
        scope = self._scope(organizationID)
        channel = chatroom_default_create(organization=scope.organization, actor=self.actor)
        return Response(self.render_one(channel), status=201)

    @extend_schema(
        operation_id="messenger_default_chatroom_remove",
        summary="Remove the default chatroom of an organization",
        parameters=[ORGANIZATION_ID],
        request=None,
        responses={200: MessengerSuccessSerializer, **ERRORS},
        tags=TAG,
    )
    def delete(self, request: Request, organizationID: int) -> Response:
        scope = self._scope(organizationID)
        chatroom_default_remove(organization=scope.organization, actor=self.actor)
        return Response({"success": True})


class ChatroomDetailView(MessengerAPIView):
    """GET / PUT / DELETE /api/messenger/chatrooms/{roomID}."""

    @extend_schema(
        operation_id="messenger_chatroom_get",
        summary="Get a chatroom",
        parameters=[ROOM_ID],
        responses={200: ChatroomSerializer, **ERRORS},
        tags=TAG,
    )
    def get(self, request: Request, roomID: int) -> Response:
        _scope, channel = self.visible_chatroom(roomID)
        return Response(self.render_one(channel))

    @extend_schema(
        operation_id="messenger_chatroom_update",
        summary="Update a custom chatroom",
        description="Only the fields sent change; `assignedUsers` replaces the assignment. "
        "Default and event chatrooms refuse with 403 chatroom_not_custom.",
        parameters=[ROOM_ID],
        request=ChatroomUpdateInputSerializer,
        responses={200: ChatroomSerializer, **ERRORS},
        tags=TAG,
    )
    def put(self, request: Request, roomID: int) -> Response:
        params = self.validate(ChatroomUpdateInputSerializer)
        scope, channel = self.visible_chatroom(roomID, organization_id=params.get("organizationID"))
        scope.require_manage()
        members = None
        if "assignedUsers" in params:
            members = _assigned_members(scope.organization, params["assignedUsers"])
        channel = chatroom_update(
            channel=channel, actor=self.actor, name=params.get("name"), members=members
        )
        return Response(self.render_one(channel))

    @extend_schema(
        operation_id="messenger_chatroom_delete",
        summary="Delete a custom chatroom",
        description="Hidden at once; purged with its messages and files when the "
        "organization's grace period ends (`scheduledDeletion`).",
        parameters=[ROOM_ID],
        request=None,
        responses={200: MessengerSuccessSerializer, **ERRORS},
        tags=TAG,
    )
    def delete(self, request: Request, roomID: int) -> Response:
        scope, channel = self.visible_chatroom(roomID)
        scope.require_manage()
        chatroom_delete(channel=channel, actor=self.actor)
        return Response({"success": True})


class RawBodyParser(BaseParser):
    """The request body as bytes, whatever its Content-Type (the document sends the
    avatar as ``application/json`` with a binary string). Reads at most one byte more
    than the avatar limit, so an oversized body is refused without being buffered."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> bytes:
        if stream is None:
            return b""
        limit = int(settings.CHATADMIN.get("MAX_AVATAR_BYTES", 2 * 1024 * 1024))
        if media_type and str(media_type).startswith("multipart/form-data"):
            # a browser form: the first uploaded file is the image
            parsed = MultiPartParser().parse(stream, media_type, parser_context)
            upload = next(iter(parsed.files.values()), None)
            return upload.read(limit + 1) if upload is not None else b""
        return stream.read(limit + 1)


class RawBodyNegotiation(BaseContentNegotiation):
    """Any Content-Type goes to :class:`RawBodyParser`; responses are JSON."""

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0]

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: Any = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


AVATAR_BODY = {
    "image/*": OpenApiTypes.BINARY,
    "application/octet-stream": OpenApiTypes.BINARY,
    "application/json": OpenApiTypes.BINARY,
    "multipart/form-data": {
        "type": "object",
        "properties": {"file": {"type": "string", "format": "binary"}},
    },
}


class ChatroomAvatarView(MessengerAPIView):
    """PUT (set; an empty body removes) and GET (the image)
    /api/messenger/chatrooms/{roomID}/avatar.

    GET takes either token header, or no header at all on the signed link that
    ``avatarURL`` is (``sign``, ``userID``, ``expires``: apps.core.signing), so an image
    view can load it: then the signature is checked first (403 ``invalid_signature`` if
    missing a part, tampered or expired) and the chatroom must still exist (404)."""

    parser_classes = [RawBodyParser]
    content_negotiation_class = RawBodyNegotiation

    def _signed_get(self) -> bool:
        request = getattr(self, "request", None)  # None while the schema is generated
        return request is not None and request.method in ("GET", "HEAD") and "sign" in request.GET

    def get_authenticators(self) -> list[Any]:
        return [] if self._signed_get() else super().get_authenticators()

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self._signed_get() else super().get_permissions()

    def _signed_chatroom(self, room_id: int) -> Channel:
        query = self.request.query_params
        signing.verify_or_403(
            AVATAR_SIGN_KIND, room_id, query.get("userID"), query.get("expires"), query.get("sign")
        )
        # the id is one we signed: the chatroom of whichever organization, if still live
        channel = (
            Channel.objects.filter(chatroom_live_q(), pk=room_id)
            .select_related("organization")
            .first()
            if 1 <= room_id <= MAX_ID
            else None
        )
        if channel is None:
            raise DomainError("chatroom_not_found", "Chatroom not found.", field="roomID")
        return channel

    @extend_schema(
        operation_id="messenger_chatroom_avatar_get",
        summary="The avatar image of a chatroom (avatarURL)",
        description="With a token header, or with none on the signed avatarURL (its "
        "`sign`, `userID` and `expires`, valid CHATADMIN_SIGNED_URL_TTL_SECONDS).",
        parameters=[
            ROOM_ID,
            OpenApiParameter("v", OpenApiTypes.INT, description="Version (cache buster)."),
            OpenApiParameter("sign", OpenApiTypes.STR, description="Signature of avatarURL."),
            OpenApiParameter("userID", OpenApiTypes.STR, description="Signed with sign."),
            OpenApiParameter("expires", OpenApiTypes.STR, description="Signed with sign."),
        ],
        responses={
            (200, "image/*"): OpenApiResponse(OpenApiTypes.BINARY, description="The image"),
            **ERRORS,
        },
        tags=TAG,
    )
    def get(self, request: Request, roomID: int) -> Any:
        if self._signed_get():
            channel = self._signed_chatroom(roomID)
        else:
            _scope, channel = self.visible_chatroom(roomID)
        if not channel.avatar:
            raise DomainError("not_found", "This chatroom has no avatar.")
        try:
            handle = channel.avatar.open("rb")
        except OSError as exc:
            raise DomainError("not_found", "This chatroom has no avatar.") from exc
        content_type = mimetypes.guess_type(channel.avatar.name)[0] or "application/octet-stream"
        response = FileResponse(handle, content_type=content_type)
        response["Cache-Control"] = "private, max-age=3600"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    @extend_schema(
        operation_id="messenger_chatroom_avatar_set",
        summary="Set or remove the avatar of a custom chatroom",
        description="The raw body is the image (JPEG, PNG, GIF, WebP or BMP; at most "
        "MAX_AVATAR_BYTES, 2 MiB by default) whatever the Content-Type; an empty body "
        "removes the avatar. Stored re-encoded; served at the chatroom's avatarURL.",
        parameters=[ROOM_ID],
        request=AVATAR_BODY,
        responses={200: ChatroomSerializer, 413: OpenApiResponse(), **ERRORS},
        tags=TAG,
    )
    def put(self, request: Request, roomID: int) -> Response:
        scope, channel = self.visible_chatroom(roomID)
        scope.require_manage()
        body = request.data
        content = bytes(body) if isinstance(body, (bytes, bytearray)) else b""
        channel = chatroom_avatar_set(
            channel=channel,
            actor=self.actor,
            content=content or None,
            content_type=request.content_type or "",
        )
        return Response(self.render_one(channel))


class ChatroomMessagesView(MessengerAPIView):
    """POST /api/messenger/chatrooms/{roomID}/messages."""

    @extend_schema(
        operation_id="messenger_chatroom_message_create",
        summary="Send a text message to a chatroom",
        description="As the token's user (a Personal-Access-Token; an API-TOKEN is 400 "
        "user_context_required). The same rules as every surface: blacklist, whitelist, "
        "mutes and bans, with the same error codes as /api/v2/message.",
        parameters=[ROOM_ID],
        request=ChatroomMessageInputSerializer,
        responses={201: MessageEnvelopeSerializer, **ERRORS},
        tags=TAG,
    )
    def post(self, request: Request, roomID: int) -> Response:
        self.caller.require_user("Sending a message")
        params = self.validate(ChatroomMessageInputSerializer)
        scope, channel = self.visible_chatroom(roomID)
        assert scope.member is not None
        message = message_create(
            organization=scope.organization,
            actor=self.actor,
            channel=channel,
            type=Message.Type.TEXT,
            data={"text": params["message"]},
            author=scope.member,
        )
        # as message_create loads it, in its transaction; a new message has no reactions
        rendered = MessageSerializer(message, context={"reactions": {}}).data
        return Response({"message": rendered}, status=201)
