"""Rocket.Chat's REST API, the part this product speaks: ``login``, ``me`` and
``integrations.*`` (../shared/seeds/rocketchat-integrations-create.txt; the original's
apps/meteor/app/api/server/v1/integrations.ts). docs/api/integrations-rocketchat.md
records the decisions.

Parse (apps.rocketchat.serializers) -> apps.integrations selectors/services -> render
(apps.rocketchat.shapes). Who may is the domain's: the caller acts as the token holder's
member, with the four integration permissions of apps.permissions.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import DomainError
from apps.integrations.models import Integration
from apps.integrations.selectors import (
    delivery_get,
    integration_deliveries,
    integration_get,
    integration_history,
    integrations_visible,
    manage_scope,
)
from apps.integrations.services.delivery import delivery_replay
from apps.integrations.services.history import integration_history_clear
from apps.integrations.services.integrations import (
    integration_create,
    integration_remove,
    integration_signing_secret_rotate,
    integration_update,
)
from apps.members.models import Member
from apps.rocketchat.authentication import login_for_token
from apps.rocketchat.base import RocketChatAPIView, RocketChatBaseView, page
from apps.rocketchat.serializers import (
    TYPES,
    RocketChatErrorOutput,
    RocketChatHistoryEnvelope,
    RocketChatIntegrationCreateInput,
    RocketChatIntegrationEnvelope,
    RocketChatIntegrationGetInput,
    RocketChatIntegrationHistoryInput,
    RocketChatIntegrationIdInput,
    RocketChatIntegrationListEnvelope,
    RocketChatIntegrationListInput,
    RocketChatIntegrationRemoveInput,
    RocketChatIntegrationUpdateInput,
    RocketChatLoginEnvelope,
    RocketChatLoginInput,
    RocketChatMeEnvelope,
    RocketChatReplayOutgoingInput,
    RocketChatSigningSecretEnvelope,
    RocketChatSuccessOutput,
)
from apps.rocketchat.shapes import (
    TYPE_OF,
    render_delivery,
    render_history_entry,
    render_integration,
    render_me,
)

ROCKETCHAT = Integration.Flavor.ROCKETCHAT
INCOMING, OUTGOING = Integration.Direction.INCOMING, Integration.Direction.OUTGOING
TAGS = ["rocketchat"]
_ERRORS = {401: RocketChatErrorOutput, 403: RocketChatErrorOutput, 404: RocketChatErrorOutput}
_WRITE_ERRORS = {400: RocketChatErrorOutput, **_ERRORS}

# --- request fields -> the domain's ----------------------------------------------------

_COMMON_FIELDS = {
    "name": "name",
    "enabled": "enabled",
    "username": "username",
    "channel": "targets",
    "scriptEnabled": "script_enabled",
    "script": "script",
    "alias": "alias",
    "avatar": "avatar_url",
    "emoji": "emoji",
}
#: Rocket.Chat's request fields of each type -> the model's field names.
FIELDS: dict[str, dict[str, str]] = {
    INCOMING: {**_COMMON_FIELDS, "overrideDestinationChannelEnabled": "override_channel"},
    OUTGOING: {
        **_COMMON_FIELDS,
        "event": "event",
        "urls": "urls",
        "triggerWords": "trigger_words",
        "triggerWordAnywhere": "trigger_word_anywhere",
        "targetRoom": "target_room",
        "runOnEdits": "run_on_edits",
        "retryFailedCalls": "retry_failed_calls",
        "retryCount": "retry_count",
        "retryDelay": "retry_delay",
        "impersonateUser": "impersonate_user",
        "token": "outgoing_token",
    },
}
#: Not fields of the integration: which one it is, or accepted and ignored
#: (``scriptEngine``: scripts here are sandboxed templates whatever the engine named).
_NOT_FIELDS = frozenset({"type", "integrationId", "target_url", "scriptEngine"})
#: What each type needs, and Rocket.Chat's error when it is missing or blank.
REQUIRED: dict[str, dict[str, str]] = {
    INCOMING: {"channel": "invalid_channel", "username": "invalid_username"},
    OUTGOING: {
        "event": "invalid_event_type",
        "username": "invalid_username",
        "urls": "invalid_urls",
    },
}


def _blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not any(item.strip() for item in value)
    return value is None


def domain_fields(data: dict[str, Any], direction: str, *, creating: bool) -> dict[str, Any]:
    """The domain's fields of a create or update: what the type needs must be there (on
    create) and not blank (400 with Rocket.Chat's code); a field of the other type is 400
    ``invalid-params``. Values pass as sent: the domain checks them."""
    for name, code in REQUIRED[direction].items():
        if (creating and name not in data) or (name in data and _blank(data[name])):
            raise DomainError(code, f"{name} is required.", field=name)
    mapping = FIELDS[direction]
    fields: dict[str, Any] = {}
    for name, value in data.items():
        if name in _NOT_FIELDS:
            continue
        if name not in mapping:
            raise DomainError(
                "invalid_parameter",
                f"{name} does not apply to {TYPE_OF[direction]} integrations.",
                field=name,
            )
        fields[mapping[name]] = value
    return fields


class IntegrationsView(RocketChatAPIView):
    """A route of ``integrations.*``."""

    def check_any_permission(self) -> None:
        """403 unless the caller holds at least one of the four integration permissions
        (Rocket.Chat's ``permissionsRequired``: hasAny); which integrations it may see and
        change is the selectors' and services' to decide."""
        if not any(manage_scope(self.member, d) for d in Integration.Direction.values):
            raise DomainError("forbidden", "You are not allowed to manage integrations.")

    def integration(self, integration_id: Any, *, field: str = "integrationId") -> Integration:
        """The caller's visible Rocket.Chat integration with this ``_id``, else 404."""
        return integration_get(
            organization=self.organization,
            integration_id=integration_id,
            member=self.member,
            flavor=ROCKETCHAT,
            field=field,
        )

    def target(self, data: dict[str, Any]) -> Integration:
        """The integration an update or a remove names: by ``integrationId``, or (outgoing)
        by ``target_url``, one of its urls. One of another type is answered as missing."""
        direction = TYPES[data["type"]]
        if "integrationId" in data:
            integration = self.integration(data["integrationId"])
        elif direction == OUTGOING and data.get("target_url"):
            integration = self._by_url(data["target_url"])
        else:
            raise DomainError(
                "missing_parameter", "integrationId is required.", field="integrationId"
            )
        if integration.direction != direction:
            raise DomainError("integration_not_found", field="integrationId")
        return integration

    def _by_url(self, url: str) -> Integration:
        rows = integrations_visible(
            organization=self.organization, member=self.member, flavor=ROCKETCHAT
        ).filter(direction=OUTGOING)
        for pk, urls in rows.order_by("pk").values_list("pk", "urls").iterator():
            if isinstance(urls, list) and url.strip() in urls:
                return self.integration(pk)
        raise DomainError("integration_not_found", field="target_url")


class IntegrationsCreateView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_create",
        summary="Create an integration",
        description="An incoming (`webhook-incoming`) or outgoing (`webhook-outgoing`) "
        "integration. Needs `manage-incoming-integrations` or its `-own-` variant (and the "
        "outgoing ones for outgoing). The answer of an incoming one carries its `token`, "
        "once: the URL is `/hooks/{_id}/{token}`; that of an outgoing one its "
        "`signingSecret` (`whsec_...`, ours), once: the Standard Webhooks secret its "
        "requests are signed with.",
        request=RocketChatIntegrationCreateInput,
        responses={200: RocketChatIntegrationEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationCreateInput)
        direction = TYPES[data["type"]]
        issued = integration_create(
            organization=self.organization,
            actor=self.actor,
            flavor=ROCKETCHAT,
            direction=direction,
            **domain_fields(data, direction, creating=True),
        )
        return self.success(
            integration=render_integration(
                issued.integration, token=issued.token, signing_secret=issued.signing_secret
            )
        )


class IntegrationsListView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_list",
        summary="List integrations",
        description="The Rocket.Chat integrations the caller may manage (only its own where "
        "it holds only an `-own-` permission), newest first; `name` keeps those whose name "
        "contains it (case-insensitive), `type` those of one type. Never carries tokens.",
        parameters=[RocketChatIntegrationListInput],
        responses={
            200: RocketChatIntegrationListEnvelope,
            400: RocketChatErrorOutput,
            401: RocketChatErrorOutput,
            403: RocketChatErrorOutput,
        },
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationListInput)
        self.check_any_permission()
        offset, count = page(data)
        rows = integrations_visible(
            organization=self.organization, member=self.member, flavor=ROCKETCHAT
        )
        if data.get("name"):
            rows = rows.filter(name__icontains=data["name"])
        if "type" in data:
            rows = rows.filter(direction=TYPES[data["type"]])
        total = rows.count()
        found = list(rows[offset : offset + count])
        return self.success(
            integrations=[render_integration(i) for i in found],
            offset=offset,
            items=len(found),
            count=len(found),
            total=total,
        )


class IntegrationsGetView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_get",
        summary="Get an integration",
        description="One integration by `integrationId` (`createdBy`: only if its creator "
        "has this `_id`). Never carries its token.",
        parameters=[RocketChatIntegrationGetInput],
        responses={200: RocketChatIntegrationEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationGetInput)
        self.check_any_permission()
        integration = self.integration(data["integrationId"])
        created_by = data.get("createdBy")
        if created_by is not None and (
            integration.created_by is None or integration.created_by.user_id != created_by
        ):
            raise DomainError("integration_not_found", field="integrationId")
        return self.success(integration=render_integration(integration))


class IntegrationsUpdateView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_update",
        summary="Update an integration",
        description="`type` and `integrationId` (outgoing: or `target_url`) name it; the "
        "fields sent change, the others stay.",
        request=RocketChatIntegrationUpdateInput,
        responses={200: RocketChatIntegrationEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def put(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationUpdateInput)
        self.check_any_permission()
        integration = self.target(data)
        fields = domain_fields(data, integration.direction, creating=False)
        updated = integration_update(actor=self.actor, integration=integration, **fields)
        return self.success(integration=render_integration(updated))


class IntegrationsRemoveView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_remove",
        summary="Remove an integration",
        description="Deletes it and its history (its messages stay); answers it as it was.",
        request=RocketChatIntegrationRemoveInput,
        responses={200: RocketChatIntegrationEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationRemoveInput)
        self.check_any_permission()
        integration = self.target(data)
        removed = render_integration(integration)
        integration_remove(actor=self.actor, integration=integration)
        return self.success(integration=removed)


class IntegrationsHistoryView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_history",
        summary="An integration's history",
        description="Its runs, newest first: an incoming integration's calls (posted or "
        "refused); an outgoing one's deliveries (one per event and URL, with their `step`, "
        "`status`, `attempts`, the last `responseStatus`, `httpResult` (an excerpt, secrets "
        "redacted) and `webhookId`).",
        parameters=[RocketChatIntegrationHistoryInput],
        responses={200: RocketChatHistoryEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationHistoryInput)
        self.check_any_permission()
        offset, count = page(data)
        integration = self.integration(data["id"], field="id")
        if integration.direction == OUTGOING:
            deliveries = integration_deliveries(integration=integration)
            total = deliveries.count()
            history = [
                render_delivery(delivery, integration)
                for delivery in deliveries[offset : offset + count]
            ]
        else:
            rows = integration_history(integration=integration)
            total = rows.count()
            history = [
                render_history_entry(entry, integration) for entry in rows[offset : offset + count]
            ]
        return self.success(
            history=history,
            offset=offset,
            items=len(history),
            count=len(history),
            total=total,
        )


class IntegrationsClearHistoryView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_clear_history",
        summary="Clear an integration's history",
        description="Deletes every history entry of the integration (Rocket.Chat's "
        "`clearIntegrationHistory`): an outgoing one's finished deliveries (pending ones "
        "are still to be sent: they stay).",
        request=RocketChatIntegrationIdInput,
        responses={200: RocketChatSuccessOutput, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationIdInput)
        self.check_any_permission()
        integration = self.integration(data["integrationId"])
        integration_history_clear(actor=self.actor, integration=integration)
        return self.success()


class IntegrationsReplayOutgoingView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_replay_outgoing",
        summary="Send a delivery again",
        description="Rocket.Chat's `replayOutgoingIntegration` (a method there): the "
        "delivery `historyId` (its `_id` or its `webhookId`) of the outgoing integration "
        "`integrationId` is sent again, with the same `webhook-id` (a receiver that "
        "processed it de-duplicates). 404 `integration_not_found` (also an incoming one), "
        "404 `error-invalid-integration-history`; 400 `invalid-params` while it is still "
        "being sent; 503 `integration_disabled` when the integration is disabled.",
        request=RocketChatReplayOutgoingInput,
        responses={200: RocketChatSuccessOutput, 503: RocketChatErrorOutput, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.parse(RocketChatReplayOutgoingInput)
        self.check_any_permission()
        integration = self.integration(data["integrationId"])
        if integration.direction != OUTGOING:
            raise DomainError("integration_not_found", field="integrationId")
        delivery = delivery_get(integration=integration, delivery_id=data["historyId"])
        delivery_replay(actor=self.actor, delivery=delivery)
        return self.success()


class IntegrationsRotateSigningSecretView(IntegrationsView):
    @extend_schema(
        operation_id="rocketchat_integrations_rotate_signing_secret",
        summary="Rotate an outgoing integration's signing secret",
        description="Ours (Rocket.Chat signs nothing): a new Standard Webhooks signing "
        "secret, answered once as `signingSecret`; the previous one keeps signing (a second "
        "signature) for `CHATADMIN_WEBHOOK_SECRET_GRACE_HOURS`. Permissions as "
        "`integrations.update`; an incoming integration (it has none) is 400 "
        "`invalid-params`.",
        request=RocketChatIntegrationIdInput,
        responses={200: RocketChatSigningSecretEnvelope, **_WRITE_ERRORS},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.parse(RocketChatIntegrationIdInput)
        self.check_any_permission()
        integration = self.integration(data["integrationId"])
        secret = integration_signing_secret_rotate(actor=self.actor, integration=integration)
        return self.success(
            integration=render_integration(self.integration(integration.pk)),
            signingSecret=secret,
        )


# --- login ---------------------------------------------------------------------------------


class LoginView(RocketChatBaseView):
    """``POST /api/v1/login``: no password exists here; a client resumes with its token."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(
        operation_id="rocketchat_login",
        summary="Log in with an access token",
        description='`{"resume": "<admin access token>"}` (or `user` + `password`, the '
        "password being the token) answers the holder's `userId` for `X-User-Id` and the "
        "token as `authToken`. Nothing is issued: the token is the session.",
        request=RocketChatLoginInput,
        responses={
            200: RocketChatLoginEnvelope,
            400: RocketChatErrorOutput,
            401: RocketChatErrorOutput,
        },
        auth=[],
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        data = self.parse(RocketChatLoginInput)
        named = data.get("user") or data.get("username") or data.get("email")
        raw = data.get("resume") or (data.get("password") if named else None)
        login = login_for_token(raw)
        if login is None or (named is not None and not _names(login.member, named)):
            raise DomainError("unauthorized", "Unauthorized")
        member = login.member
        return Response(
            {
                "status": "success",
                "data": {
                    "authToken": raw.strip(),
                    "userId": member.user_id,
                    "me": render_me(member),
                },
                "success": True,
            }
        )


def _names(member: Member, name: str) -> bool:
    """Whether ``name`` (a login's user) is the member's userId or its account's email."""
    email = member.account.email if member.account is not None else None
    return name == member.user_id or (email is not None and name.lower() == email.lower())


class MeView(RocketChatAPIView):
    @extend_schema(
        operation_id="rocketchat_me",
        summary="The logged-in user",
        description="The token holder's member, as Rocket.Chat's user.",
        responses={200: RocketChatMeEnvelope, 401: RocketChatErrorOutput},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return self.success(**render_me(self.member))
