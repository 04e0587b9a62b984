"""Stackfield's error dialect: ``{"Result": "<code>", "ErrorText": "<text>"}`` with a 4xx
HTTP status (docs/api/integrations-stackfield.md). ``Result`` is Stackfield's numeric
code written as a string, as its success answer ``{"Result": "ok"}`` is one.

The same :class:`~apps.core.errors.DomainError` every surface raises, rendered here
through ONE table, :data:`CODES`: (catalog code, field) -> Stackfield's number, where the
field picks among the document's numbers for one of our codes (a missing ``Title`` is
4050, a missing ``Users`` 4051). The errors answered before a view runs (an unreadable
or too large body, an unknown path under ``/apiwh/``) use it too (``apps.py``).
"""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response

from apps.core.errors import CATALOG, DomainError
from apps.core.http_errors import make_exception_handler

#: (catalog code, field or None) -> Stackfield's code. Looked up with the error's field,
#: then with None; a code in neither is :data:`INVALID_REQUEST` (4031), or
#: :data:`NOT_COMPLETED` (4030) for our own failures (5xx).
CODES: dict[tuple[str, str | None], int] = {
    ("integration_not_found", None): 4035,  # ObjectId is invalid: the URL's uuid
    ("channel_not_found", "RoomId"): 4035,  # ObjectId is invalid: the RoomId
    ("channel_not_found", None): 4036,  # room level: not active (gone)
    ("channel_closed", None): 4036,
    ("channel_archived", None): 4036,
    ("integration_disabled", None): 4038,  # Integration disabled
    ("throttled", None): 4040,
    ("invalid_file", None): 4041,  # No files found (or an empty one)
    ("payload_too_large", None): 4042,  # File is too big (or any body over the limits)
    ("unsupported_media_type", "File"): 4045,  # Invalid file type: File is not a file part
    ("missing_parameter", "Title"): 4050,
    ("missing_parameter", "Users"): 4051,
    ("invalid_parameter", "Command"): 4052,
    ("end_before_start", None): 4055,
    ("invalid_parameter", None): 4056,  # Property could not be parsed (Users' bad emails too)
    ("double_request", None): 4057,
    ("missing_parameter", "Email"): 4060,
    ("invalid_parameter", "Email"): 4060,
    ("user_not_found", "Users"): 4061,  # Invalid email. Item not found
    ("missing_parameter", "Command"): 4070,
    ("missing_parameter", "RoomId"): 4071,
    ("user_not_found", None): 4075,  # not a member of this organization
    ("user_already_deactivated", None): 4076,
    ("user_deactivated", "Users"): 4076,
    ("last_admin", None): 4077,
    ("channel_already_archived", None): 4079,
    ("user_exists", None): 4080,
}
#: "Invalid request": anything else we refuse.
INVALID_REQUEST = 4031
#: "Request could not be completed": our failures (500, 503).
NOT_COMPLETED = 4030
#: HTTP statuses that differ from the catalog's: a failure of this door is a 4xx, and a
#: disabled URL refuses (403) rather than being unavailable (the catalog's 503).
STATUSES: dict[str, int] = {"integration_disabled": 403}


def stackfield_code(code: str, field: str | None) -> int:
    """Stackfield's number for our catalog ``code`` raised on ``field``."""
    found = CODES.get((code, field)) or CODES.get((code, None))
    if found is not None:
        return found
    return NOT_COMPLETED if CATALOG[code][0] >= 500 else INVALID_REQUEST


def stackfield_error_body(code: str, message: str | None, field: str | None) -> dict[str, Any]:
    return {"Result": str(stackfield_code(code, field)), "ErrorText": message or CATALOG[code][1]}


_render = make_exception_handler(stackfield_error_body)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler of the Stackfield views: the shared classification, this
    dialect's body, and :data:`STATUSES`."""
    response = _render(exc, context)
    if response is not None and isinstance(exc, DomainError) and exc.code in STATUSES:
        response.status_code = STATUSES[exc.code]
    return response


#: The mount point (chatadmin/urls.py).
PREFIX = "/apiwh/"

#: The error body in the OpenAPI schema (apps.core.schema.register_error_schema).
ERROR_SCHEMA = {
    "type": "object",
    "description": "A refused call: `Result` is Stackfield's error code as a string (4031 "
    "invalid request, 4040 call limit, 4050 Title missing, ...: "
    "docs/api/integrations-stackfield.md), `ErrorText` says why.",
    "properties": {
        "Result": {"type": "string", "example": "4050"},
        "ErrorText": {"type": "string"},
    },
    "required": ["Result", "ErrorText"],
}
