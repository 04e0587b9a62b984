"""Errors answered before a view runs (middleware, WSGI), in the dialect of the surface
that the path belongs to.

Views render :class:`~apps.core.errors.DomainError` through their surface's exception
handler; a request refused at the door (a body it cannot read, a NUL in its query string)
never reaches one, so :func:`error_response` picks the dialect from the path: the JSON
error body under the JSON prefixes, a small static HTML page elsewhere (console, admin
site). A surface whose error format differs (the coming foreign dialects) registers its
own renderer for its prefix with :func:`register_dialect`; the longest prefix wins.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.core.errors import CATALOG, error_body

#: Paths answered in JSON by default (the rest gets the HTML page).
JSON_PREFIXES = ("/api/", "/healthz")

#: renderer(code, message, field) -> body dict, per path prefix.
Renderer = Callable[[str, str, str | None], dict]
_DIALECTS: dict[str, Renderer] = {}


def register_dialect(prefix: str, renderer: Renderer) -> None:
    """Render errors refused at the door under ``prefix`` with ``renderer`` (a function of
    code, message and field that returns the JSON body)."""
    _DIALECTS[prefix] = renderer


def _renderer_for(path: str) -> Renderer | None:
    matches = [prefix for prefix in _DIALECTS if path.startswith(prefix)]
    if matches:
        return _DIALECTS[max(matches, key=len)]
    if path.startswith(JSON_PREFIXES):
        return error_body
    return None


_TITLES = {
    400: "Bad request",
    404: "Not found",
    411: "Length required",
    413: "Request too large",
    503: "Service unavailable",
}
_HTML = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
    "<title>{title}</title></head>\n<body><h1>{title}</h1>\n<p>{message}</p></body></html>\n"
)


def error_response(
    request: HttpRequest | str,
    code: str,
    message: str | None = None,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    """The error ``code`` of the catalog, for ``request`` (or a path), in its surface's
    dialect. No template and no database: this also answers before the app is reached."""
    status, default = CATALOG[code]
    text = message or default
    path = request if isinstance(request, str) else request.path
    renderer = _renderer_for(path)
    if renderer is not None:
        return JsonResponse(renderer(code, text, field), status=status, headers=headers)
    title = _TITLES.get(status, "Error")
    page = _HTML.format(title=html.escape(title), message=html.escape(text))
    return HttpResponse(
        page, status=status, content_type="text/html; charset=utf-8", headers=headers
    )
