"""Errors are data: one catalog of stable codes, one exception, one renderer.

Services raise :class:`DomainError` with a code from :data:`CATALOG`. This module is the
catalog only (it imports neither DRF nor HTTP): each surface renders the same error in its
own dialect, ours being ``{"status": "error", "code": ..., "message": ..., "field": ...}``
(apps.core.http_errors: the DRF exception handler and the JSON 404/500 views;
apps.core.dialects: the errors answered before a view runs).
"""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

#: code -> (HTTP status, default message). docs/api.md lists the same table.
CATALOG: dict[str, tuple[int, str]] = {
    # 400
    "missing_parameter": (400, "A required parameter is missing."),
    "invalid_parameter": (400, "A parameter has an invalid value."),
    "malformed_body": (400, "The request body could not be parsed."),
    "invalid_page_token": (400, "The page token is invalid or belongs to another query."),
    "skip_too_large": (400, "skip is larger than the allowed maximum."),
    "invalid_pattern": (400, "The pattern is not a valid regular expression."),
    "invalid_image": (400, "The uploaded file is not a supported image."),
    "invalid_file": (400, "The uploaded file is missing or empty."),
    "image_not_available": (404, "The image is not available in this size."),
    "blacklisted_content": (400, "The message contains blacklisted content."),
    "url_not_whitelisted": (400, "The message contains a URL that is not whitelisted."),
    "parent_not_found": (400, "The parent message does not exist in this channel."),
    "invalid_parent": (400, "A reply cannot be the parent of another reply."),
    "user_context_required": (
        400,
        "This request needs a user: use a Personal-Access-Token.",
    ),
    "invalid_avatar": (400, "The avatar is not a supported image."),
    "invalid_channel": (400, "No such channel in this organization."),
    "invalid_channel_prefix": (400, "A channel must start with # (a channel) or @ (a user)."),
    "invalid_username": (400, "No such user in this organization."),
    "invalid_event_type": (400, "Unknown event type."),
    "invalid_urls": (400, "The URLs are missing or invalid."),
    "url_not_allowed": (
        400,
        "This URL is not allowed: it must be http(s) and reach a public address "
        "(see CHATADMIN_WEBHOOK_ALLOWLIST).",
    ),
    "invalid_trigger_words": (400, "The trigger words are invalid."),
    "invalid_target_room": (400, "The target room is invalid."),
    "script_failed": (400, "The integration's script failed."),
    "end_before_start": (400, "The end is before the start."),
    # 401 / 403
    "unauthorized": (401, "Missing or invalid credentials."),
    "forbidden": (403, "You are not allowed to do this."),
    "channel_closed": (403, "The channel is closed."),
    "channel_muted": (403, "The channel is muted."),
    "user_muted": (403, "The user is muted in this channel."),
    "user_banned": (403, "The user is banned from this channel."),
    "user_globally_banned": (403, "The user is banned from the organization."),
    "user_deactivated": (403, "The user is deactivated or was removed from the organization."),
    "not_a_member": (403, "The user is not a member of this channel."),
    "chatroom_not_custom": (403, "Only custom chatrooms can be changed or deleted."),
    "channel_archived": (403, "The channel is archived (read-only)."),
    "invalid_signature": (403, "The signature is invalid or has expired."),
    # 404
    "not_found": (404, "Not found."),
    "channel_not_found": (404, "Channel not found."),
    "message_not_found": (404, "Message not found."),
    "user_not_found": (404, "User not found."),
    "rule_not_found": (404, "Record not found."),
    "reaction_not_found": (404, "Reaction not found."),
    "staff_not_found": (404, "Staff member not found."),
    "token_not_found": (404, "Access token not found."),
    "chatroom_not_found": (404, "Chatroom not found."),
    "organization_not_found": (404, "Organization not found."),
    "role_not_found": (404, "Role not found."),
    "command_not_found": (404, "No such command."),
    "attachment_not_found": (404, "Attachment not found."),
    "integration_not_found": (404, "Integration not found."),
    "delivery_not_found": (404, "Delivery not found."),
    # 405 / 409 / 411 / 413 / 415 / 429 / 500 / 503
    "method_not_allowed": (405, "This method is not allowed on this path."),
    "not_acceptable": (406, "The requested representation is not available."),
    "conflict": (409, "The request conflicts with the current state."),
    "channel_exists": (409, "A channel with this channelId already exists."),
    "default_chatroom_exists": (409, "The organization already has a default chatroom."),
    "already_reported": (409, "This reporter already has an open report on this target."),
    "rule_exists": (409, "A record with this pattern already exists."),
    "too_many_records": (409, "The organization has reached its maximum number of records."),
    "role_exists": (409, "A role with this id already exists."),
    "staff_exists": (409, "This account is already on the organization's staff."),
    "last_owner": (409, "The organization must keep at least one owner."),
    "double_request": (409, "The same request reached this URL moments ago; nothing was done."),
    "user_exists": (409, "A user with this email is already a member of the organization."),
    "user_already_deactivated": (409, "The user is already deactivated."),
    "last_admin": (409, "The organization must keep at least one active admin."),
    "channel_already_archived": (409, "The channel is already archived."),
    "length_required": (
        411,
        "A request body needs a Content-Length or chunked framing that the server can read.",
    ),
    "payload_too_large": (413, "The request body is too large."),
    "unsupported_media_type": (415, "This Content-Type is not supported here."),
    "throttled": (429, "Too many requests."),
    "internal_error": (500, "Something went wrong on our side."),
    # 503: the database cannot be reached (apps/core/database.py); with Retry-After
    "database_unavailable": (503, "The database is unavailable; try again in a few seconds."),
    "integration_disabled": (503, "The integration is disabled."),
}


class DomainError(Exception):
    """A rule was broken; ``code`` is a key of :data:`CATALOG`."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        field: str | None = None,
        retry_after: int | None = None,
    ):
        if code not in CATALOG:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.status = CATALOG[code][0]
        self.message = message or CATALOG[code][1]
        self.field = field
        #: Seconds a client should wait before trying again (``Retry-After``), if known.
        self.retry_after = retry_after
        super().__init__(self.message)

    @property
    def headers(self) -> dict[str, str]:
        """The HTTP headers every dialect sends with this error."""
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


def quoted(value: str) -> str:
    """A value (a pattern, a URL) inside an error message: as written, between “ and ”.
    ``repr`` would double every backslash of a regular expression (``'\\\\bfoo'`` for
    ``\\bfoo``), which every surface would then show; a character that does not print
    (a control character, a line break) is escaped as ``repr`` escapes it."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)
    return f"“{shown}”"


def error_body(code: str, message: str | None = None, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "error", "code": code, "message": message or CATALOG[code][1]}
    if field:
        body["field"] = field
    return body


def _first_validation_error(detail: Any, prefix: str = "") -> tuple[str, str, str]:
    """Walk DRF's nested error detail to its first leaf: (field, message, drf_code)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = (
                prefix if key == "non_field_errors" else (f"{prefix}.{key}" if prefix else str(key))
            )
            return _first_validation_error(value, name)
    if isinstance(detail, list) and detail:
        for index, item in enumerate(detail):
            if item:  # ListField errors are {index: [...]} or a list with blanks
                name = prefix if not isinstance(item, (dict, list)) else f"{prefix}[{index}]"
                return _first_validation_error(item, name)
    code = getattr(detail, "code", "invalid") or "invalid"
    return prefix, str(detail), code


def validation_error_body(detail: Any) -> dict[str, Any]:
    field, message, drf_code = _first_validation_error(detail)
    code = "missing_parameter" if drf_code == "required" else "invalid_parameter"
    if isinstance(drf_code, str) and drf_code in CATALOG:
        code = drf_code
    text = f"{field}: {message}" if field else message
    return error_body(code, text, field or None)
