"""Request body parsers: DRF's, hardened so hostile bodies are a 400, never a 500.

Every string a body carries, at any depth and object keys included, is checked here for
NUL and lone surrogates (apps.core.text.unsafe_char), once, before any serializer or
database sees it; query strings and urlencoded bodies are checked where they are decoded
(apps.core.hygiene).
"""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from django.conf import settings
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from apps.core.errors import DomainError
from apps.core.text import unsafe_char

#: Deeper JSON than this is refused: no API parameter nests more than a few levels.
MAX_JSON_DEPTH = 32


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf, which no database column takes
        raise ValueError(f"number out of range: {text}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _field(path: tuple[str | int, ...]) -> str:
    """``("metadata", "a", 0)`` -> ``"metadata.a[0]"``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _unsafe_string(field: str, where: str, char: str) -> DomainError:
    return DomainError(
        "invalid_parameter",
        f"{field or 'The body'}: {where} contains {char} (NUL and unpaired surrogates are "
        "not allowed in any string).",
        field=field or None,
    )


def check_strings(value: Any, *, at: tuple[str | int, ...] = ()) -> None:
    """Walk a parsed JSON value once: refuse nesting deeper than :data:`MAX_JSON_DEPTH`
    and any string (object keys included) holding NUL or a lone surrogate. ``at`` is where
    the value sits (a form field's name, for JSON sent in one form field)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, at)]
    while stack:
        node, path = stack.pop()
        if len(path) >= MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, str):
            char = unsafe_char(node)
            if char is not None:
                raise _unsafe_string(_field(path), "the value", char)
        elif isinstance(node, dict):
            for key, child in node.items():
                char = unsafe_char(key)
                if char is not None:
                    raise _unsafe_string(_field(path), "a key", char)
                stack.append((child, (*path, key)))
        elif isinstance(node, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(node))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook``: a key given twice in one object is refused (JSON allows it,
    and most parsers silently keep the last one, so two readers could disagree)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        shown = duplicate[:64].encode("unicode_escape").decode("ascii")
        raise ValueError(f'duplicate key "{shown}"')
    return result


def loads(text: str, *, at: tuple[str | int, ...] = ()) -> Any:
    """JSON text as the API reads it everywhere (a body, or JSON sent in one form field):
    no NaN/Infinity, finite numbers only, no duplicate keys (ValueError), then
    :func:`check_strings` (DomainError, ParseError)."""
    value = json.loads(
        text,
        parse_float=_finite_float,
        parse_constant=_reject_constant,
        object_pairs_hook=_unique_keys,
    )
    check_strings(value, at=at)
    return value


class JSONParser(parsers.JSONParser):
    """Strict JSON: no NaN/Infinity, finite numbers only, no duplicate keys, bounded
    nesting, no NUL or lone surrogate in any string."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            return loads(codecs.getreader(encoding)(stream).read())
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
        except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
            raise ParseError(f"JSON parse error - {exc}") from exc


#: A codec that decodes UTF-8 strictly whatever error handler it is asked for. Django's
#: multipart parser decodes field names, values and file names with errors="replace"
#: (invalid UTF-8 would become U+FFFD, where an urlencoded body is refused); given this
#: codec as the request's encoding it raises instead.
STRICT_UTF8 = "chatadmin_strict_utf_8"


def _strict_utf8_decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
    return codecs.utf_8_decode(data, "strict", True)


codecs.register(
    lambda name: (
        codecs.CodecInfo(codecs.utf_8_encode, _strict_utf8_decode, name=STRICT_UTF8)
        if name == STRICT_UTF8
        else None
    )
)


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, read as strictly as the other bodies: text that is not
    valid UTF-8 is 400 ``malformed_body``, and every field name and text value (and file
    name) is checked for NUL and lone surrogates, as JSON strings are."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        context = dict(parser_context or {})
        encoding = context.get("encoding") or settings.DEFAULT_CHARSET
        if codecs.lookup(encoding).name == "utf-8":
            context["encoding"] = STRICT_UTF8
        try:
            parsed = super().parse(stream, media_type, context)
        except UnicodeDecodeError as exc:  # Django wraps it in DjangoUnicodeDecodeError
            raise DomainError(
                "malformed_body", "A multipart field name or value is not valid UTF-8."
            ) from exc
        check_form(parsed.data)
        for name, upload in parsed.files.items():
            check_strings({name: getattr(upload, "name", "") or ""})
        return parsed


def check_form(data: QueryDict) -> None:
    """Refuse NUL and lone surrogates in a form's field names and values."""
    for key, values in data.lists():
        for value in values:
            check_strings({key: value})
