"""Rocket.Chat's incoming URL ``POST /hooks/{_id}/{token}`` (the original's
apps/meteor/app/integrations/server/api/api.ts): an outside tool posts a message as the
integration's bot.

The body is Rocket.Chat's payload (``text``, ``alias``, ``emoji``, ``avatar``,
``attachments`` with Slack's fields, ``channel`` when the integration allows it; Slack's
``username``, ``icon_url`` and ``icon_emoji`` stand for ``alias``, ``avatar`` and
``emoji``), as JSON, as a form field ``payload=<json>``, or as plain form fields. A JSON
object sent with a form Content-Type (``curl -d '{...}'``) is read as JSON, as Rocket.Chat
does. Everything else (the limits, the script, the posting rules, the history) is
apps.integrations.services.incoming's.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.errors import DomainError
from apps.core.parsers import loads
from apps.core.parsing import querydict_to_data
from apps.integrations.models import Integration
from apps.integrations.selectors import integration_by_token
from apps.integrations.services.incoming import (
    IncomingMessage,
    incoming_admit,
    incoming_post,
)
from apps.rocketchat.base import RocketChatBaseView
from apps.rocketchat.serializers import (
    RocketChatErrorOutput,
    RocketChatHookPayloadInput,
    RocketChatSuccessOutput,
)

#: Headers a script sees and the history keeps: all but credentials and addresses.
_PRIVATE_HEADER = re.compile(
    r"auth|token|secret|cookie|key|signature|password|session|csrf|user-id|forwarded|real-ip", re.I
)
MAX_HEADERS = 50
MAX_QUERY_KEYS = 50
MAX_VALUE_LENGTH = 1000


def _json_object(text: str | bytes, *, at: tuple[str, ...] = ()) -> dict[str, Any]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise DomainError("malformed_body", "The body is not valid UTF-8.") from None
    try:
        value = loads(text, at=at)
    except RecursionError:
        raise DomainError("malformed_body", "The JSON is nested too deeply.") from None
    except ValueError as exc:
        raise DomainError("malformed_body", f"The JSON could not be parsed: {exc}") from None
    if not isinstance(value, dict):
        raise DomainError("malformed_body", "The payload must be a JSON object.")
    return value


def hook_content(request: Request) -> dict[str, Any]:
    """The payload a call sent, as one object (see the module docstring)."""
    media = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        raw = request._request.body.strip()  # read once; the form parser re-reads it
        if raw.startswith(b"{"):
            return _json_object(raw)
    data = request.data
    if isinstance(data, QueryDict):
        form = querydict_to_data(data)
        if "payload" not in form:
            return form
        if len(form) != 1 or not isinstance(form["payload"], str):
            raise DomainError(
                "invalid_parameter", "Send payload alone, as one JSON object.", field="payload"
            )
        return _json_object(form["payload"], at=("payload",))
    if isinstance(data, dict):
        return data
    raise DomainError("malformed_body", "The JSON body must be an object.")


def _channel(content: dict[str, Any]) -> str | None:
    """The call's ``channel`` (or ``roomId``, a channel's id) override: a string, or a
    list of them (Rocket.Chat takes both), as one comma-separated string."""
    channel = content.get("channel")
    if channel is None and content.get("roomId") is not None:
        room = content["roomId"]
        channel = f"#{room}" if isinstance(room, str) else room
    if channel is None or channel == "":
        return None
    if isinstance(channel, list) and all(isinstance(c, str) for c in channel):
        return ",".join(channel)
    if not isinstance(channel, str):
        raise DomainError(
            "invalid_parameter", "channel must be a string or a list of strings.", field="channel"
        )
    return channel


def incoming_message(content: dict[str, Any]) -> IncomingMessage:
    """The message of a payload, Slack's names standing in for Rocket.Chat's."""

    def first(*names: str) -> Any:
        return next((content[n] for n in names if content.get(n) is not None), None)

    return IncomingMessage(
        text=content.get("text"),
        alias=first("alias", "username"),
        emoji=first("emoji", "icon_emoji"),
        avatar=first("avatar", "icon_url"),
        attachments=content.get("attachments"),
        channel=_channel(content),
    )


def safe_headers(request: Request) -> dict[str, str]:
    """The request's headers a script may read and the history may keep: no credentials
    (``Authorization``, cookies, tokens, signatures) and no client addresses; bounded."""
    out: dict[str, str] = {}
    for name, value in request.headers.items():
        if _PRIVATE_HEADER.search(name):
            continue
        out[name.lower()] = value[:MAX_VALUE_LENGTH]
        if len(out) >= MAX_HEADERS:
            break
    return out


def _query(request: Request) -> dict[str, str]:
    keys = list(request.query_params)[:MAX_QUERY_KEYS]
    return {key[:100]: request.query_params.get(key, "")[:MAX_VALUE_LENGTH] for key in keys}


class HookView(RocketChatBaseView):
    """``POST /hooks/{integrationId}/{token}``: no login; the URL is the credential."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(
        operation_id="rocketchat_hooks_post",
        summary="Post through an incoming integration",
        description="Rocket.Chat's incoming webhook: the payload as JSON, as the form field "
        "`payload=<json>`, or as form fields. Posts as the integration's user into its "
        "channel(s) (`channel` only when the integration allows overriding it), through the "
        "same posting rules as every other surface. 404 for an unknown id or token, 503 "
        "when the integration is disabled, 429 (with Retry-After) past one call per "
        "WEBHOOK_MIN_INTERVAL_SECONDS.",
        parameters=[
            OpenApiParameter("integrationId", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        request=RocketChatHookPayloadInput,
        responses={
            200: RocketChatSuccessOutput,
            400: RocketChatErrorOutput,
            403: RocketChatErrorOutput,
            404: RocketChatErrorOutput,
            429: RocketChatErrorOutput,
            503: RocketChatErrorOutput,
        },
        auth=[],
        tags=["rocketchat"],
    )
    def post(self, request: Request, integrationId: str, token: str) -> Response:
        integration = integration_by_token(
            integration_id=integrationId, token=token, flavor=Integration.Flavor.ROCKETCHAT
        )
        incoming_admit(integration)
        content = hook_content(request)
        incoming_post(
            integration=integration,
            message=incoming_message(content),
            request={
                "content": content,
                "headers": safe_headers(request),
                "query": _query(request),
            },
        )
        return self.success()
