"""Every route of every surface (surfaces.SURFACES: /api/v2/, /api/messenger/,
/api/messaging/, /api/v1/, /hooks/, /apiwh/), read from the URL resolver (so a new route
cannot escape the robustness matrices), with the HTTP methods its view answers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from .surfaces import PREFIXES

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
#: Not operations of the API: the JSON 404 catch-alls (of /api/ and of Rocket.Chat's
#: /hooks/), the schema and its docs page.
NOT_OPERATIONS = {"/api/", "/api/schema/", "/api/docs/", "/hooks/"}


@dataclass(frozen=True)
class Route:
    template: str  # OpenAPI form: /api/v2/channel/{channelId}/users
    method: str  # lower case
    callback: Any

    @property
    def params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.template)

    @property
    def public(self) -> bool:
        """Whether the view takes no credential header (no authentication classes): its
        credential is in the request itself (surfaces.PATH_KEYS, a signed query, a login
        body)."""
        view_class = getattr(self.callback, "cls", None) or getattr(
            self.callback, "view_class", None
        )
        return getattr(view_class, "authentication_classes", None) == []

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.template}"


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def openapi_path(route: str) -> str:
    """Django's route syntax to OpenAPI's: ``<str:channelId>`` -> ``{channelId}``."""
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    # the anchors of regex patterns, at any level (``hooks/`` + ``^``)
    return "/" + re.sub(r"[\^$]", "", route).replace("\\", "")


def view_methods(callback: Any) -> list[str]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return ["get"]  # a plain function view: at least GET reaches it
    actions = getattr(callback, "actions", None)
    if actions:
        return [m for m in actions if m in HTTP_METHODS]
    allowed = getattr(view_class, "http_method_names", HTTP_METHODS)
    return [m for m in HTTP_METHODS if m in allowed and hasattr(view_class, m)]


def api_routes() -> list[Route]:
    """Every operation under a surface's prefix (surfaces.SURFACES)."""
    routes = set()
    for raw, callback in _walk(get_resolver().url_patterns):
        path = openapi_path(raw)
        if not path.startswith(PREFIXES) or path in NOT_OPERATIONS:
            continue
        routes.update(Route(path, method, callback) for method in view_methods(callback))
    return sorted(routes, key=lambda r: (r.template, r.method))


def console_url_names() -> list[tuple[str, list[str], Any]]:
    """(name, route parameter names, callback) of every page under /console/<org>/."""
    from apps.console import urls as console_urls

    found = []
    for raw, callback in _walk(console_urls.org_pages):
        name = None
        for pattern in console_urls.org_pages:
            if isinstance(pattern, URLPattern) and pattern.callback is callback:
                name = pattern.name
        found.append((name, re.findall(r"<(?:\w+:)?(\w+)>", raw), callback))
    return found
