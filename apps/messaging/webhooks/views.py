"""Messaging API: ``/webhooks/`` (../shared/seeds/messaging-api.txt, Webhooks and
Webhooks (Public); docs/api/messaging-webhooks.md).

Parse -> apps.integrations selectors/services -> render
(:mod:`apps.messaging.webhooks.shapes`). A webhook is an Integration of flavor
``messaging``: incoming ones post into their channel as their bot through the public
URL ``/webhooks/{webhookID}/{token}``; outgoing ones with a trigger are commands of this
API (:mod:`apps.messaging.webhooks.commands`). Who may manage them, every field check,
the token (random, stored hashed, shown once), the posting rules: the integrations
domain's, the same for every door.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.audit.actor import Actor
from apps.channels.selectors.conversations import members_by_pk
from apps.core.errors import DomainError
from apps.core.parsing import InputMixin, request_data
from apps.integrations.models import Integration
from apps.integrations.selectors import (
    integration_by_token,
    integration_deliveries,
    integration_get,
    integrations_visible,
)
from apps.integrations.services.avatars import AvatarImage, avatar_prepare, integration_avatar_set
from apps.integrations.services.incoming import (
    IncomingMessage,
    check_enabled,
    incoming_admit,
    incoming_post,
)
from apps.integrations.services.integrations import (
    check_manage,
    http_url,
    integration_create,
    integration_remove,
    integration_signing_secret_rotate,
    integration_update,
)
from apps.members.models import Member
from apps.messaging.base import (
    ErrorEnvelope,
    MessagingAPIView,
    SuccessEnvelope,
    path_id,
)
from apps.messaging.commands.registry import BUILTIN, NAME
from apps.messaging.dialect import exception_handler
from apps.messaging.messages.serializers import MessagingMessageEnvelope
from apps.messaging.messages.shapes import render_message
from apps.messaging.messages.views import messaging_fields
from apps.messaging.webhooks.serializers import (
    DEFAULT_DELIVERIES,
    MessagingWebhookCreatedEnvelope,
    MessagingWebhookCreateInput,
    MessagingWebhookDeliveriesEnvelope,
    MessagingWebhookDeliveriesInput,
    MessagingWebhookDetailEnvelope,
    MessagingWebhookEnvelope,
    MessagingWebhookListEnvelope,
    MessagingWebhookListInput,
    MessagingWebhookPostInput,
    MessagingWebhookSecretEnvelope,
    MessagingWebhookUpdateInput,
)
from apps.messaging.webhooks.shapes import (
    render_created,
    render_delivery,
    render_detail,
    render_webhook,
    render_webhooks,
)

TAGS = ["messaging"]
FLAVOR = Integration.Flavor.MESSAGING
OUTGOING = Integration.Direction.OUTGOING
_ERRORS: dict[int, Any] = {401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope}
_WRITE_ERRORS: dict[int, Any] = {400: ErrorEnvelope, 413: ErrorEnvelope, **_ERRORS}
WEBHOOK_ID = OpenApiParameter(
    "webhookID", OpenApiTypes.STR, OpenApiParameter.PATH, description="Webhook ID"
)
WEBHOOK_TOKEN = OpenApiParameter(
    "webhookToken",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="Authentication token (the create answer's authToken)",
)
#: The public post's parameters in the query string (or the body, which wins).
POST_QUERY = [
    OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, description=description)
    for name, description in (
        ("content", "Message contents: required, here or in the body."),
        ("username", "The display name of this message."),
        ("avatarURL", "An http(s) URL shown as its avatar: never fetched."),
    )
]
#: The integrations services' field names -> this API's parameter names.
_FIELDS = {
    "avatar": "avatarURL",  # the services' name of avatar_url
    "urls": "url",
    "triggerWords": "trigger",
    "alias": "username",
    "text": "content",
    "data.text": "content",
}


def _webhook_fields(params: dict[str, Any], *, direction: str, creating: bool) -> dict[str, Any]:
    """The given parameters as the integrations services' fields. What is this API's own
    is checked here: a trigger is a command name of this API (not a built-in one), and
    only an outgoing webhook has a trigger and a URL (which it needs)."""
    fields: dict[str, Any] = {}
    outgoing = direction == OUTGOING
    trigger = params.get("trigger")
    if trigger is not None:
        name = trigger.strip().lower()
        if name and not outgoing:
            raise DomainError(
                "invalid_parameter", "Only an outgoing webhook has a trigger.", field="trigger"
            )
        if name and (not NAME.match(name) or name in BUILTIN):
            raise DomainError(
                "invalid_parameter",
                "trigger must be a command name (letters, digits, _ . -, at most 64) that is "
                "not a built-in command's.",
                field="trigger",
            )
        fields["trigger_words"] = [name] if name else []
    url = params.get("url")
    if url is not None and url.strip() and not outgoing:
        raise DomainError("invalid_parameter", "Only an outgoing webhook has a url.", field="url")
    if outgoing and (url is not None or creating):
        if not (url or "").strip():
            raise DomainError(
                "missing_parameter", "An outgoing webhook needs the url it calls.", field="url"
            )
        fields["urls"] = [url.strip()]
    if params.get("username") is not None:
        fields["alias"] = params["username"]
    if params.get("avatarURL") is not None:
        fields["avatar_url"] = params["avatarURL"]
    return fields


class WebhooksAPIView(MessagingAPIView):
    """A managed webhooks route: the caller's organization, its rights."""

    def webhook(self, webhook_id: int | str) -> Integration:
        """The webhook of the path as the caller may manage it, else 404
        ``integration_not_found`` (another organization's, or one it may not manage)."""
        pk = path_id(webhook_id, code="integration_not_found", field="webhookID")
        return integration_get(
            organization=self.organization,
            integration_id=pk,
            member=self.member,
            flavor=FLAVOR,
            field="webhookID",
        )

    def bot(self, user_id: int) -> Member:
        [bot] = members_by_pk(organization=self.organization, member_pks=[user_id], field="userID")
        return bot

    def avatar(self, params: dict[str, Any]) -> AvatarImage | None:
        upload = params.get("avatar")
        return avatar_prepare(upload) if upload is not None else None

    def save_avatar(self, integration: Integration, image: AvatarImage | None) -> None:
        if image is not None:
            integration_avatar_set(actor=self.actor, integration=integration, image=image)


class WebhookListView(WebhooksAPIView):
    """GET (list) and POST (create) /webhooks/."""

    @extend_schema(
        operation_id="messaging_webhooks_list",
        summary="List created webhooks",
        description="The organization's webhooks the caller may manage (permission "
        "`integrations.<kind>.manage`, or `.manage.own` for those it created), newest first. "
        "`channelID`, `userID` (the bot) and `ownerUserID` (the creator) filter. Never the "
        "token.",
        parameters=[MessagingWebhookListInput],
        responses={200: MessagingWebhookListEnvelope, 400: ErrorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        params = self.validate(MessagingWebhookListInput)
        rows = integrations_visible(
            organization=self.organization, member=self.member, flavor=FLAVOR
        )
        if params["channelID"] is not None:
            rows = rows.filter(channel_id=params["channelID"])
        if params["userID"] is not None:
            rows = rows.filter(bot_id=params["userID"])
        if params["ownerUserID"] is not None:
            rows = rows.filter(created_by_id=params["ownerUserID"])
        return self.respond(render_webhooks(rows))

    @extend_schema(
        operation_id="messaging_webhooks_create",
        summary="Create webhook",
        description="`kind` incoming (an outside tool posts through "
        "`POST /webhooks/{webhookID}/{authToken}`) or outgoing (`trigger` becomes the "
        "command `/trigger` of its channel, calling `url`; delivered by the outgoing-"
        "webhooks machinery). `channelID` must be a channel the caller sees, `userID` a "
        "member of the organization (the webhook posts as it and joins the channel). "
        "Permission `integrations.<kind>.manage` (or `.manage.own`). `avatar` is a "
        "multipart image upload; `avatarURL` is stored as given and never fetched. The "
        "answer carries `authToken` (incoming) or `signingSecret` (outgoing: the Standard "
        "Webhooks secret its requests are signed with) this once only.",
        request=MessagingWebhookCreateInput,
        responses={201: MessagingWebhookCreatedEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        params = self.validate(MessagingWebhookCreateInput)
        kind = params["kind"]
        check_manage(self.actor, direction=kind)
        channel = self.channel(params["channelID"])
        bot = self.bot(params["userID"])
        fields = _webhook_fields(params, direction=kind, creating=True)
        image = self.avatar(params)
        with transaction.atomic(), messaging_fields(**_FIELDS):
            issued = integration_create(
                organization=self.organization,
                actor=self.actor,
                flavor=FLAVOR,
                direction=kind,
                kind=Integration.Kind.MESSAGE,
                channel=channel,
                bot=bot,
                **fields,
            )
            self.save_avatar(issued.integration, image)
        return self.respond(
            render_created(issued.integration, issued.token, issued.signing_secret), status=201
        )


class WebhookDetailView(WebhooksAPIView):
    """GET (read), POST (update) and DELETE /webhooks/{webhookID}."""

    @extend_schema(
        operation_id="messaging_webhooks_get",
        summary="Get webhook details",
        description="The Webhook and (ours) `lastDelivery`: an outgoing webhook's newest "
        "delivery (null when none, and for an incoming webhook).",
        parameters=[WEBHOOK_ID],
        responses={200: MessagingWebhookDetailEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, webhookID: int) -> Response:
        integration = self.webhook(webhookID)
        last = (
            integration_deliveries(integration=integration).first()
            if integration.direction == OUTGOING
            else None
        )
        return self.respond(render_detail(integration, last))

    @extend_schema(
        operation_id="messaging_webhooks_update",
        summary="Update webhook",
        description='Changes the given fields (the document titles this route "Attach file '
        'to channel", a copy-paste slip of the original). `kind` never changes: if given, '
        "it must be the webhook's. A new `channelID` must be one the caller sees.",
        parameters=[WEBHOOK_ID],
        request=MessagingWebhookUpdateInput,
        responses={200: MessagingWebhookEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, webhookID: int) -> Response:
        integration = self.webhook(webhookID)
        params = self.validate(MessagingWebhookUpdateInput)
        check_manage(self.actor, direction=integration.direction, integration=integration)
        if params.get("kind") is not None and params["kind"] != integration.direction:
            raise DomainError("invalid_parameter", "A webhook's kind never changes.", field="kind")
        fields = _webhook_fields(params, direction=integration.direction, creating=False)
        if params.get("channelID") is not None:
            fields["channel"] = self.channel(params["channelID"])
        if params.get("userID") is not None:
            fields["bot"] = self.bot(params["userID"])
        image = self.avatar(params)
        with transaction.atomic(), messaging_fields(**_FIELDS):
            if fields:  # an avatar alone changes only the avatar (its own audit entry)
                integration = integration_update(
                    actor=self.actor, integration=integration, **fields
                )
            self.save_avatar(integration, image)
        return self.respond(render_webhook(integration))

    @extend_schema(
        operation_id="messaging_webhooks_delete",
        summary="Delete webhook",
        description="Removes it with its history (its messages stay); its URL and command "
        "stop working at once.",
        parameters=[WEBHOOK_ID],
        responses={200: SuccessEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, webhookID: int) -> Response:
        integration_remove(actor=self.actor, integration=self.webhook(webhookID))
        return self.acknowledge()


class WebhookRotateSecretView(WebhooksAPIView):
    """POST /webhooks/{webhookID}/rotate-secret (ours)."""

    @extend_schema(
        operation_id="messaging_webhooks_rotate_secret",
        summary="Rotate an outgoing webhook's signing secret",
        description="Ours: a new Standard Webhooks signing secret, answered once as "
        "`signingSecret` with the Webhook; the previous one keeps signing (a second "
        "signature) for `CHATADMIN_WEBHOOK_SECRET_GRACE_HOURS`. Permissions as the update; "
        "an incoming webhook (it has none) is 400 `invalid_parameter`. Audited.",
        parameters=[WEBHOOK_ID],
        request=None,
        responses={200: MessagingWebhookSecretEnvelope, 400: ErrorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request, webhookID: int) -> Response:
        integration = self.webhook(webhookID)
        if integration.direction != OUTGOING:
            raise DomainError(
                "invalid_parameter",
                "Only an outgoing webhook has a signing secret.",
                field="kind",
            )
        secret = integration_signing_secret_rotate(actor=self.actor, integration=integration)
        return self.respond({**render_webhook(self.webhook(webhookID)), "signingSecret": secret})


class WebhookDeliveriesView(WebhooksAPIView):
    """GET /webhooks/{webhookID}/deliveries (ours)."""

    @extend_schema(
        operation_id="messaging_webhooks_deliveries",
        summary="List an outgoing webhook's deliveries",
        description="Ours: the calls of its URL (one per command run or test event, with "
        "its attempts), newest first: at most `limit`; `beforeDeliveryID` pages on (the "
        "last `deliveryID` of a page). An incoming webhook has none (an empty list).",
        parameters=[WEBHOOK_ID, MessagingWebhookDeliveriesInput],
        responses={200: MessagingWebhookDeliveriesEnvelope, 400: ErrorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, webhookID: int) -> Response:
        integration = self.webhook(webhookID)
        params = self.validate(MessagingWebhookDeliveriesInput)
        if integration.direction != OUTGOING:
            return self.respond([])
        rows = integration_deliveries(integration=integration).order_by("-pk")
        if params.get("beforeDeliveryID") is not None:
            rows = rows.filter(pk__lt=params["beforeDeliveryID"])
        limit = params.get("limit") or DEFAULT_DELIVERIES
        return self.respond([render_delivery(delivery) for delivery in rows[:limit]])


class PublicWebhookView(InputMixin, APIView):
    """POST (post a message) and DELETE /webhooks/{webhookID}/{webhookToken}: no session;
    the token is the authorization. Errors in the messaging dialect."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    organization = None

    def get_exception_handler(self) -> Any:
        return exception_handler

    def webhook(self, webhook_id: int, token: str) -> Integration:
        """The incoming webhook of this id and token (404 ``integration_not_found`` for
        anything else, another organization's alike), enabled (else 503)."""
        pk = path_id(webhook_id, code="integration_not_found", field="webhookID")
        integration = integration_by_token(integration_id=pk, token=token, flavor=FLAVOR)
        check_enabled(integration)
        return integration

    @extend_schema(
        operation_id="messaging_webhooks_public_post",
        summary="Create a message from a webhook payload",
        description="Posts `content` into the webhook's channel as its bot, showing "
        "`username` and `avatarURL` (else the webhook's) — through the same posting rules "
        "as every message (content filter, mutes, bans, closed and archived channels). The "
        "parameters come from the query string or the body (JSON or form; the body wins). "
        "`avatarURL` is stored as given and never fetched. At most one call per "
        "`WEBHOOK_MIN_INTERVAL_SECONDS` per webhook (429 with Retry-After). Answers the "
        "message as its bot sees it.",
        parameters=[WEBHOOK_ID, WEBHOOK_TOKEN, *POST_QUERY],
        request=MessagingWebhookPostInput,
        responses={
            201: MessagingMessageEnvelope,
            400: ErrorEnvelope,
            403: ErrorEnvelope,
            404: ErrorEnvelope,
            429: ErrorEnvelope,
            503: ErrorEnvelope,
        },
        auth=[],
        tags=TAGS,
    )
    def post(self, request: Request, webhookID: int, webhookToken: str) -> Response:
        integration = self.webhook(webhookID, webhookToken)
        params = self.validate(MessagingWebhookPostInput, request_data(request, include_query=True))
        avatar = (params.get("avatarURL") or "").strip()
        if avatar:
            avatar = http_url(avatar, "avatarURL")
        incoming_admit(integration)
        with messaging_fields(**_FIELDS):
            posted = incoming_post(
                integration=integration,
                message=IncomingMessage(
                    text=params["content"],
                    alias=params.get("username") or None,
                    avatar=avatar or None,
                ),
                request={
                    "content": {
                        "content": params["content"],
                        "username": params.get("username"),
                        "avatarURL": avatar or None,
                    }
                },
            )
        message = posted[0]
        return Response(
            {"response": render_message(message, member=integration.bot, fresh=True)},
            status=201,
        )

    @extend_schema(
        operation_id="messaging_webhooks_public_delete",
        summary="Delete webhook",
        description="Removes the webhook whose token is in the path (the token is the "
        "authorization; audited as the system). A disabled webhook answers 503.",
        parameters=[WEBHOOK_ID, WEBHOOK_TOKEN],
        responses={200: SuccessEnvelope, 404: ErrorEnvelope, 503: ErrorEnvelope},
        auth=[],
        tags=TAGS,
    )
    def delete(self, request: Request, webhookID: int, webhookToken: str) -> Response:
        integration_remove(actor=Actor.system(), integration=self.webhook(webhookID, webhookToken))
        return Response({"success": {"message": "OK"}})
