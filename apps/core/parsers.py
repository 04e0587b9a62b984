"""Request body parsers: DRF's, hardened so hostile JSON is a 400, never a 500."""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

#: Deeper JSON than this is refused: no API parameter nests more than a few levels.
MAX_JSON_DEPTH = 32


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf, which no database column takes
        raise ValueError(f"number out of range: {text}")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


class JSONParser(parsers.JSONParser):
    """Strict JSON: no NaN/Infinity, finite numbers only, bounded nesting."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
            value = json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc
        except ValueError as exc:  # includes UnicodeDecodeError and JSONDecodeError
            raise ParseError(f"JSON parse error - {exc}") from exc
        if _too_deep(value):
            raise ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels")
        return value
