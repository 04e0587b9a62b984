"""Turn any request body (JSON, urlencoded, multipart) and query string into one dict.

Form bodies carry arrays and objects the way HTTP clients send them
(``userIds[]=a``, ``userIds=a&userIds=b``, ``userIds[0]=a``, ``options[limit]=10``,
``metadata[color]=red``); see ../shared/API.md. The result is what a JSON client
would have sent, so one serializer validates both.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import QueryDict

from apps.core.errors import DomainError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 8


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        return [key]
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > MAX_DEPTH:
        raise DomainError(
            "invalid_parameter", f"{key[:64]}: nested too deeply.", field=match.group(1)
        )
    return parts


def _insert(
    target: dict[str, Any],
    parts: list[str],
    values: list[Any],
    key: str,
    positions: dict[tuple[int, str], int],
) -> None:
    """Put ``values`` at the path ``parts`` of ``target``.

    ``positions`` maps (list, index as written) to the item's place in that list, so
    ``a[0][x]=1&a[0][y]=2`` fills one object and ``a[7][x]=1`` makes one item, not eight.
    Any mix of a value, a list and an object at one place is a 400, never a crash.
    """
    node: Any = target
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list) and part != "" and not part.isdigit():
            raise DomainError("invalid_parameter", f"{key}: mixes list and object.", field=parts[0])
        if isinstance(node, dict) and part == "":
            raise DomainError("invalid_parameter", f"{key}: mixes list and object.", field=parts[0])
        if last:
            if isinstance(node, list):
                if part != "" and (id(node), part) in positions:
                    raise DomainError(
                        "invalid_parameter",
                        f"{key}: mixes a value with nested keys.",
                        field=parts[0],
                    )
                if part != "":
                    positions[(id(node), part)] = len(node)
                node.extend(values)  # a[]=x, a[0]=x: appended in order
                return
            existing = node.get(part)
            if existing is None:
                node[part] = values[0] if len(values) == 1 else list(values)
            elif isinstance(existing, list):
                existing.extend(values)  # a[]=x&a=y
            elif isinstance(existing, dict):
                raise DomainError(
                    "invalid_parameter", f"{key}: mixes a value with nested keys.", field=parts[0]
                )
            else:
                node[part] = [existing, *values]
            return
        nxt = parts[depth + 1]
        container: Any = [] if (nxt == "" or nxt.isdigit()) else {}
        if isinstance(node, list):
            # a[0][name]=x: one item per index as written; a[][name]=x: a new item
            index = positions.get((id(node), part)) if part != "" else None
            if index is None:
                index = len(node)
                node.append(container)
                if part != "":
                    positions[(id(node), part)] = index
            node = node[index]
            if not isinstance(node, (dict, list)):
                raise DomainError(
                    "invalid_parameter", f"{key}: mixes a value with nested keys.", field=parts[0]
                )
            continue
        existing = node.get(part)
        if existing is None:
            node[part] = container
        elif not isinstance(existing, (dict, list)):
            raise DomainError(
                "invalid_parameter", f"{key}: mixes a value with nested keys.", field=parts[0]
            )
        node = node[part]


def querydict_to_data(data: QueryDict) -> dict[str, Any]:
    """Expand bracketed keys of a QueryDict (files included) into nested dicts/lists."""
    result: dict[str, Any] = {}
    positions: dict[tuple[int, str], int] = {}
    for key in data:
        values = data.getlist(key)
        _insert(result, _split_key(key), values, key, positions)
    return result


def request_data(request: Any, *, include_query: bool = False) -> dict[str, Any]:
    """The request's parameters as one dict.

    ``request`` is a DRF Request. The body wins over the query string when both name a
    parameter. Query endpoints that the documents define as POST also answer GET with the
    same parameters in the query string (``include_query=True``).
    """
    result: dict[str, Any] = {}
    if include_query or request.method in ("GET", "HEAD"):
        result.update(querydict_to_data(request.query_params))
    body = request.data
    if isinstance(body, QueryDict):
        # DRF merges uploaded files into request.data for multipart bodies.
        result.update(querydict_to_data(body))
    elif isinstance(body, dict):
        result.update(body)
    elif body != {}:  # a JSON array, string, number or null
        raise DomainError("malformed_body", "The JSON body must be an object.")
    return result


class InputMixin:
    """For API views: ``params()`` (the body and, for GET/HEAD, the query string, as one
    dict: :func:`request_data`) and ``validate(SerializerClass)`` (its validated data, or
    400 naming the offending field). The serializer's context carries the request and
    the view's ``organization``."""

    request: Any
    organization: Any

    def params(self) -> dict[str, Any]:
        return request_data(self.request, include_query=self.request.method in ("GET", "HEAD"))

    def validate(self, serializer_class: Any, data: dict[str, Any] | None = None) -> dict[str, Any]:
        serializer = serializer_class(
            data=self.params() if data is None else data,
            context={"request": self.request, "organization": self.organization},
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
