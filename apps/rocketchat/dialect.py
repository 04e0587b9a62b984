"""Rocket.Chat's error dialect: ``{"success": false, "error": "<message>", "errorType":
"<code>"}`` with the fitting HTTP status (docs/api/integrations-rocketchat.md).

The same :class:`~apps.core.errors.DomainError` every surface raises, rendered here. Our
catalog codes that Rocket.Chat names otherwise are renamed (``invalid_channel`` ->
``error-invalid-channel``, any bad or missing parameter -> ``invalid-params``, ``forbidden``
-> ``not_authorized``); the others keep their catalog code. A missing or bad login is
Rocket.Chat's exact 401 body, ``{"success": false, "error": "unauthorized", "status":
"error", "message": "..."}`` (its ``status``/``message`` pair is what its clients before 8.0
read). The errors answered before a view runs use it too (registered in ``apps.py``, for
``/api/v1/`` and ``/hooks/``).
"""

from __future__ import annotations

from typing import Any

from apps.core.errors import CATALOG
from apps.core.http_errors import make_exception_handler

#: Our catalog code -> Rocket.Chat's ``errorType`` (the rest keep their code).
ERROR_TYPES: dict[str, str] = {
    "invalid_channel": "error-invalid-channel",
    "invalid_channel_prefix": "error-invalid-channel-start-with-chars",
    "invalid_username": "error-invalid-username",
    "invalid_event_type": "error-invalid-event-type",
    "invalid_urls": "error-invalid-urls",
    "url_not_allowed": "error-invalid-urls",
    "invalid_trigger_words": "error-invalid-triggerWords",
    "invalid_target_room": "error-invalid-targetRoom",
    "missing_parameter": "invalid-params",
    "invalid_parameter": "invalid-params",
    "malformed_body": "invalid-params",
    "skip_too_large": "invalid-params",
    "forbidden": "not_authorized",
    "throttled": "error-too-many-requests",
    "delivery_not_found": "error-invalid-integration-history",
}


def error_type(code: str) -> str:
    """Rocket.Chat's ``errorType`` for our catalog ``code``."""
    return ERROR_TYPES.get(code, code)


def rocketchat_error_body(code: str, message: str | None, field: str | None) -> dict[str, Any]:
    text = message or CATALOG[code][1]
    if code == "unauthorized":
        return {"success": False, "error": "unauthorized", "status": "error", "message": text}
    return {"success": False, "error": text, "errorType": error_type(code)}


exception_handler = make_exception_handler(rocketchat_error_body)

#: The mount points (chatadmin/urls.py): the integrations API and the incoming URLs.
PREFIX = "/api/v1/"
HOOKS_PREFIX = "/hooks/"

#: The error body in the OpenAPI schema (apps.core.schema.register_error_schema).
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error of the Rocket.Chat integrations API: `errorType` is Rocket.Chat's "
    "code where it has one (error-invalid-channel, invalid-params, not_authorized...), else "
    "ours (docs/api/integrations-rocketchat.md). A 401 is `{success: false, error: "
    '"unauthorized", status: "error", message}`.',
    "properties": {
        "success": {"type": "boolean", "enum": [False]},
        "error": {"type": "string"},
        "errorType": {"type": "string"},
        "status": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["success", "error"],
}
