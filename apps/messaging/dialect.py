"""The messaging API's error dialect (Corteza's, with real HTTP statuses):
``{"error": {"message": "...", "code": "<catalog code>", "field": "..."}}``.

The same :class:`~apps.core.errors.DomainError` every surface raises, rendered here; the
errors answered before a view runs use it too (registered in ``apps.py``).
"""

from __future__ import annotations

from typing import Any

from apps.core.errors import CATALOG
from apps.core.http_errors import make_exception_handler


def messaging_error_body(code: str, message: str | None, field: str | None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message or CATALOG[code][1], "code": code}
    if field:
        error["field"] = field
    return {"error": error}


exception_handler = make_exception_handler(messaging_error_body)

#: The mount point (chatadmin/urls.py).
PREFIX = "/api/messaging/"

#: The error body in the OpenAPI schema (apps.core.schema.register_error_schema).
ERROR_SCHEMA = {
    "type": "object",
    "description": "An error of the messaging API (codes: docs/api.md).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "code": {"type": "string"},
                "field": {"type": "string"},
            },
            "required": ["message", "code"],
        }
    },
    "required": ["error"],
}
