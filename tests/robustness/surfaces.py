"""The surfaces the robustness suite walks, in one table: where each is mounted, which
credential kinds of world.Credentials it takes, the one its probes send, and the judge of
its error dialect. The route inventory (routes.py) reads every route under these
prefixes, and each matrix asks this table what a route's surface is: a route under no
prefix here is not walked (test_inventory then names it, as a schema operation without a
route), and a new surface joins by one row.

A route whose view takes no credential header (routes.Route.public: no authentication
classes) carries its credential in the request itself, where the matrices put the
caller's own key (world.Tenant.keys): a secret in the path (:data:`PATH_KEYS`: Rocket.Chat's
``/hooks/{integrationId}/{token}``, Stackfield's ``/apiwh/{webhookId}``, the messaging
API's ``/webhooks/{webhookID}/{webhookToken}``), a signed query (the messaging API's
attachments) or a login body (Rocket.Chat's ``/api/v1/login``).

The judges say why a 4xx is not the surface's error body (or None):

- ``/api/v2/``, ``/api/messenger/``: ``{"status": "error", "code", "message"}``;
- ``/api/messaging/``: ``{"error": {"message", "code", "field"?}}``;
- ``/api/v1/``, ``/hooks/``: Rocket.Chat's ``{"success": false, "error", "errorType"}``
  (a 401 ``{"success": false, "error": "unauthorized", "status": "error", "message"}``);
- ``/apiwh/``: Stackfield's ``{"Result": "<number>", "ErrorText"}``.

Each checks that the code is one the product can answer with that status (the catalog's,
renamed by the dialect's own table: apps.rocketchat.dialect, apps.stackfield.dialect).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.core.errors import CATALOG

Judge = Callable[[Any], "str | None"]


# --- reading a response ------------------------------------------------------------------


def content_type_of(response: Any) -> str:
    """The Content-Type of a Django response or of a schemathesis one (whose headers map
    lower-case names to lists of values)."""
    if hasattr(response, "get"):
        return response.get("Content-Type", "")
    headers = {k.lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    value = headers.get("content-type", "")
    return value[0] if isinstance(value, list) and value else str(value or "")


def _json_object(response: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The response's JSON object, or why it is not one."""
    content_type = content_type_of(response)
    if not content_type.startswith("application/json"):
        return None, f"Content-Type {content_type!r}, not the JSON error body"
    try:
        body = json.loads(response.content)
    except ValueError:
        return None, "a body that is not JSON"
    if not isinstance(body, dict):
        return None, f"not an object: {str(body)[:120]}"
    return body, None


def _catalog_code(code: Any, status: int) -> str | None:
    if code not in CATALOG:
        return f"code {code!r} is not in apps.core.errors.CATALOG"
    if CATALOG[code][0] != status:
        return f"code {code!r} is a {CATALOG[code][0]}, answered with {status}"
    return None


# --- the judges --------------------------------------------------------------------------


def api_error_problem(response: Any) -> str | None:
    """Why ``response`` (a 4xx of the Admin API v2 or the chatroom service) is not the
    API's error body, or None."""
    body, problem = _json_object(response)
    if body is None:
        return problem
    if body.get("status") != "error":
        return f"not the error body: {str(body)[:120]}"
    problem = _catalog_code(body.get("code"), response.status_code)
    if problem:
        return problem
    if not isinstance(body.get("message"), str) or not body["message"]:
        return "no message"
    return None


def messaging_error_problem(response: Any) -> str | None:
    """Why ``response`` (a 4xx under /api/messaging/) is not the messaging API's error
    body ``{"error": {"message", "code", "field"?}}``, or None."""
    body, problem = _json_object(response)
    if body is None:
        return problem
    error = body.get("error")
    if not isinstance(error, dict) or set(body) != {"error"}:
        return f"not the messaging error body: {str(body)[:120]}"
    problem = _catalog_code(error.get("code"), response.status_code)
    if problem:
        return problem
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "no message"
    if "field" in error and not isinstance(error["field"], str):
        return f"field {error['field']!r} is not a string"
    return None


@functools.cache
def _rocketchat_statuses() -> dict[str, set[int]]:
    """Rocket.Chat's ``errorType`` -> the statuses it comes with (apps.rocketchat.dialect
    renames catalog codes; the others keep theirs)."""
    from apps.rocketchat.dialect import error_type

    found: dict[str, set[int]] = {}
    for code, (status, _) in CATALOG.items():
        found.setdefault(error_type(code), set()).add(status)
    return found


def rocketchat_error_problem(response: Any) -> str | None:
    """Why ``response`` (a 4xx under /api/v1/ or /hooks/) is not Rocket.Chat's error body
    ``{"success": false, "error", "errorType"}`` (a missing or bad login: ``{"success":
    false, "error": "unauthorized", "status": "error", "message"}``), or None."""
    body, problem = _json_object(response)
    if body is None:
        return problem
    status = response.status_code
    if body.get("success") is not False:
        return f"not Rocket.Chat's error body (success is not false): {str(body)[:120]}"
    if "errorType" not in body:
        if set(body) != {"success", "error", "status", "message"} or status != 401:
            return f"not Rocket.Chat's error body: {status} {str(body)[:120]}"
        if body["error"] != "unauthorized" or body["status"] != "error":
            return f"not Rocket.Chat's 401 body: {str(body)[:120]}"
        if not isinstance(body["message"], str) or not body["message"]:
            return "no message"
        return None
    if set(body) != {"success", "error", "errorType"}:
        return f"not Rocket.Chat's error body: {str(body)[:120]}"
    kind = body["errorType"]
    statuses = _rocketchat_statuses().get(kind) if isinstance(kind, str) else None
    if statuses is None:
        return f"errorType {kind!r} is none that apps.rocketchat.dialect answers"
    if status not in statuses:
        return f"errorType {kind!r} comes with {sorted(statuses)}, answered with {status}"
    if not isinstance(body["error"], str) or not body["error"]:
        return "no error message"
    return None


@functools.cache
def _stackfield_statuses() -> dict[int, set[int]]:
    """Stackfield's number -> the statuses it comes with: every catalog code, raised on
    each field apps.stackfield.dialect.CODES tells apart (and on any other), rendered by
    the dialect's own function."""
    from apps.stackfield.dialect import CODES, STATUSES, stackfield_code

    found: dict[int, set[int]] = {}
    for code, (status, _) in CATALOG.items():
        fields = {None, "<another field>", *(f for c, f in CODES if c == code)}
        for name in fields:
            number = stackfield_code(code, name)
            found.setdefault(number, set()).add(STATUSES.get(code, status))
    return found


def stackfield_error_problem(response: Any) -> str | None:
    """Why ``response`` (a 4xx under /apiwh/) is not Stackfield's error body ``{"Result":
    "<number>", "ErrorText"}``, or None."""
    body, problem = _json_object(response)
    if body is None:
        return problem
    if set(body) != {"Result", "ErrorText"}:
        return f"not Stackfield's error body: {str(body)[:120]}"
    result = body["Result"]
    if not isinstance(result, str) or not result.isascii() or not result.isdigit():
        return f"Result {result!r} is not a number written as a string"
    statuses = _stackfield_statuses().get(int(result))
    if statuses is None:
        return f"Result {result} is none that apps.stackfield.dialect answers"
    if response.status_code not in statuses:
        return f"Result {result} comes with {sorted(statuses)}, answered {response.status_code}"
    if not isinstance(body["ErrorText"], str) or not body["ErrorText"]:
        return "no ErrorText"
    return None


# --- the table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    name: str
    prefix: str
    #: The credential kinds (world.Credentials) this surface takes; every other kind is
    #: 401 here. Empty: every route of it is public (its key is in the request).
    kinds: tuple[str, ...]
    #: The kind its hostile probes send (None: a surface of public routes).
    probe_kind: str | None
    judge: Judge
    #: Whether the matrices send only the parameters the schema documents for an
    #: operation: Rocket.Chat refuses one it does not know (``invalid-params``), and a
    #: Stackfield URL reads its kind's properties only.
    documented_only: bool = False


SURFACES: tuple[Surface, ...] = (
    Surface("v2", "/api/v2/", ("admin_bearer",), "admin_bearer", api_error_problem),
    Surface(
        "messenger",
        "/api/messenger/",
        ("api_token", "member_pat", "admin_pat"),
        "admin_pat",
        api_error_problem,
    ),
    # an org admin's session (it may do every operation, so clean requests reach their
    # handlers); the signed files and the public webhook URLs ignore it
    Surface(
        "messaging",
        "/api/messaging/",
        ("member_session", "admin_session"),
        "admin_session",
        messaging_error_problem,
    ),
    Surface(
        "rocketchat",
        "/api/v1/",
        ("rc_login",),
        "rc_login",
        rocketchat_error_problem,
        documented_only=True,
    ),
    Surface(
        "rocketchat-hooks", "/hooks/", (), None, rocketchat_error_problem, documented_only=True
    ),
    Surface("stackfield", "/apiwh/", (), None, stackfield_error_problem, documented_only=True),
)
PREFIXES = tuple(surface.prefix for surface in SURFACES)

#: Path parameters that are a public route's credential: the caller sends its own
#: organization's (world.Tenant.keys), never another's.
PATH_KEYS = frozenset({"token", "webhookToken", "webhookId"})


def surface_for(path: str) -> Surface | None:
    """The surface of a path or route template (the longest prefix), or None."""
    matches = [s for s in SURFACES if path.startswith(s.prefix)]
    return max(matches, key=lambda s: len(s.prefix)) if matches else None


def surface_of(template: str) -> Surface:
    """The surface of a route (AssertionError for a route under no prefix of the table)."""
    found = surface_for(template)
    if found is None:
        raise AssertionError(f"{template}: a new surface? add it to surfaces.SURFACES")
    return found


def error_problem(path: str, response: Any) -> str | None:
    """Why ``response`` (a 4xx of ``path``) is not its surface's error body, or None."""
    surface = surface_for(path)
    if surface is None:
        return f"{path}: no surface (tests/robustness/surfaces.py)"
    return surface.judge(response)
