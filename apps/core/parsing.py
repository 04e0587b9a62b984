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

from .errors import DomainError

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")
MAX_DEPTH = 8


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        return [key]
    parts = [match.group(1), *_PART.findall(match.group(2))]
    if len(parts) > MAX_DEPTH:
        raise DomainError("invalid_parameter", f"{key}: nested too deeply.", field=match.group(1))
    return parts


def _insert(target: dict[str, Any], parts: list[str], values: list[Any], key: str) -> None:
    node: Any = target
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if last:
            if part == "":  # a[] -> list
                if not isinstance(node, list):
                    raise DomainError("invalid_parameter", f"{key}: mixes list and object.")
                node.extend(values)
            elif isinstance(node, list):
                node.extend(values)  # a[0]=x -> appended in order
            elif part in node and isinstance(node[part], list):
                node[part].extend(values)
            else:
                node[part] = values[0] if len(values) == 1 else list(values)
            return
        nxt = parts[depth + 1]
        container: Any = [] if (nxt == "" or nxt.isdigit()) else {}
        if isinstance(node, list):
            if part == "" or part.isdigit():
                # a[0][name]=x : one object per index
                index = int(part) if part.isdigit() else len(node)
                while len(node) <= index:
                    node.append(type(container)())
                node = node[index]
                continue
            raise DomainError("invalid_parameter", f"{key}: mixes list and object.")
        existing = node.get(part)
        if existing is None:
            node[part] = container
        elif not isinstance(existing, (dict, list)):
            raise DomainError("invalid_parameter", f"{key}: mixes a value with nested keys.")
        node = node[part]


def querydict_to_data(data: QueryDict) -> dict[str, Any]:
    """Expand bracketed keys of a QueryDict (files included) into nested dicts/lists."""
    result: dict[str, Any] = {}
    for key in data:
        values = data.getlist(key)
        _insert(result, _split_key(key), values, key)
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
    elif body is not None and body != {}:
        raise DomainError("malformed_body", "The JSON body must be an object.")
    return result
