"""Input hygiene at the door: the parts of a request that Django decodes itself.

Django decodes the path, the query string and urlencoded bodies leniently: NUL passes
through (and PostgreSQL then refuses it with a 500), invalid UTF-8 becomes U+FFFD (and
``channelId=fff%FF`` would be stored so). :class:`InputHygieneMiddleware` decodes them
strictly, once, before any view runs, and answers in the surface's dialect
(apps.core.dialects):

- a path with a control character (NUL included) or a lone surrogate: 404 ``not_found``
  (no route and no id can hold one);
- a query string with NUL, or that is not UTF-8: 400 ``invalid_parameter``;
- an urlencoded body with NUL: 400 ``invalid_parameter``; not valid in its charset:
  400 ``malformed_body`` (as for JSON).

JSON and multipart bodies are parsed by the API's parsers, which apply the same rule to
every string they produce (apps.core.parsers). docs/security.md, "Hostile input".
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from apps.core.dialects import error_response
from apps.core.errors import DomainError
from apps.core.text import unsafe_char

#: Control characters (C0, DEL, C1) and surrogates: never part of a route or an id.
_BAD_PATH = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _path_not_utf8(path: str) -> bool:
    """Whether the path held bytes that are not UTF-8. Django decodes such a path
    leniently, re-escaping the bad bytes (a lone surrogate sent as ``%ED%A0%80`` arrives
    as the text ``%ED%A0%80``), so a route that creates what its path names (a v2
    channel, a user's session, a reaction) would create a row of that name. The price: a
    path whose own text holds a percent escape of such bytes (an id with a literal
    ``%ED``) names nothing either (docs/security.md). Some WSGI servers hand the bad
    bytes over as U+FFFD instead: no id holds that character either."""
    if "\ufffd" in path:
        return True
    if "%" not in path:
        return False
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def check_urlencoded(raw: bytes, *, encoding: str = "utf-8", where: str) -> None:
    """Decode ``raw`` (``a=1&b[]=2``) strictly: raise :class:`DomainError` if a name or
    value is not valid in ``encoding`` (``malformed_body`` for a body, else
    ``invalid_parameter``) or holds NUL or a lone surrogate. One pass: linear."""
    for part in raw.split(b"&"):
        if not part:
            continue
        name_raw, _, value_raw = part.partition(b"=")
        try:
            name = unquote_to_bytes(name_raw.replace(b"+", b" ")).decode(encoding)
            value = unquote_to_bytes(value_raw.replace(b"+", b" ")).decode(encoding)
        except UnicodeDecodeError:
            shown = name_raw[:64].decode("ascii", "backslashreplace")
            code = "malformed_body" if where == "body" else "invalid_parameter"
            raise DomainError(
                code, f"The {where} is not valid {encoding} (at {shown!r})."
            ) from None
        char = unsafe_char(name) or unsafe_char(value)
        if char is not None:
            shown = name.replace("\x00", "\\x00")[:64]
            raise DomainError(
                "invalid_parameter",
                f"{shown}: contains {char} (NUL and unpaired surrogates are not allowed).",
                field=shown,
            )


def _charset(request: HttpRequest) -> str:
    charset = request.content_params.get("charset", "utf-8") if request.content_params else "utf-8"
    try:
        return codecs.lookup(charset).name
    except LookupError:
        raise DomainError("unsupported_media_type", f"Unknown charset {charset[:32]!r}.") from None


class InputHygieneMiddleware:
    """Refuse what Django would decode leniently (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _BAD_PATH.search(request.path) or _path_not_utf8(request.path):
            return error_response(request, "not_found")
        try:
            query = request.META.get("QUERY_STRING", "")
            if query:
                # WSGI hands the raw bytes over as a latin-1 str.
                check_urlencoded(query.encode("latin-1"), where="query string")
            if (
                request.method in _BODY_METHODS
                and request.content_type == "application/x-www-form-urlencoded"
            ):
                check_urlencoded(request.body, encoding=_charset(request), where="body")
        except DomainError as exc:
            return error_response(request, exc.code, exc.message, field=exc.field)
        except RequestDataTooBig:
            return error_response(request, "payload_too_large")
        return self.get_response(request)
