"""Integration scripts: a template in Jinja2's sandboxed environment that maps an incoming
request to the message, never arbitrary code (Rocket.Chat ran JavaScript in a sandbox that
was escaped again and again; issue 13). docs/api/integrations-scripts.md is the user's view.

The template sees ``request`` only (``content``, ``headers``, ``query``); its rendered text
is the message: a JSON object of message fields, or else the text itself. The sandbox and
its limits are in ``sandbox``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from jinja2.environment import Template

from apps.integrations.scripts.sandbox import ScriptError, compile_template, render

__all__ = ["MESSAGE_FIELDS", "ScriptError", "script_check", "script_run"]

MESSAGE_FIELDS = ("text", "alias", "emoji", "attachments")
#: Compiled scripts kept, keyed by the script text.
CACHE_SIZE = 256


@functools.lru_cache(maxsize=CACHE_SIZE)
def _compile(script: str) -> Template | str:
    """The compiled script, or its error text. Cached by text, failures too: a webhook
    call does not parse again."""
    try:
        return compile_template(script)
    except ScriptError as exc:
        return str(exc)


def script_check(script: str) -> str | None:
    """None when ``script`` compiles in the sandbox, else the error text (``scriptError``)."""
    compiled = _compile(script)
    return compiled if isinstance(compiled, str) else None


def script_run(script: str, *, request: Mapping[str, Any]) -> dict[str, Any]:
    """The message fields (``text``, ``alias``, ``emoji``, ``attachments``) the script makes
    of ``request`` (``content``, ``headers``, ``query``); ScriptError when it fails."""
    template = _compile(script)
    if isinstance(template, str):
        raise ScriptError(template)
    seen = {
        "content": request.get("content"),
        "headers": {str(k).lower(): v for k, v in (request.get("headers") or {}).items()},
        "query": dict(request.get("query") or {}),
    }
    return _message(render(template, request=seen))


def _message(output: str) -> dict[str, Any]:
    """A JSON object's fields, or the whole output as ``text``."""
    text = output.strip()
    if text.startswith("{"):
        try:
            fields = json.loads(text)
        except (ValueError, RecursionError):
            fields = None
        if isinstance(fields, dict):
            return _fields(fields)
    if not text:
        raise ScriptError("the script produced no message")
    return {"text": text}


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The message fields of a JSON object output; ``null`` is the same as absent."""
    for name in fields:
        if name not in MESSAGE_FIELDS:
            raise ScriptError(
                f"the script produced an unknown field {name!r} "
                f"(the fields are {', '.join(MESSAGE_FIELDS)})"
            )
    made = {name: value for name, value in fields.items() if value is not None}
    for name, value in made.items():
        if name == "attachments":
            if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
                raise ScriptError("attachments must be a list of objects")
        elif not isinstance(value, str):
            raise ScriptError(f"{name} must be a string")
    if not made.get("text", "").strip() and not made.get("attachments"):
        raise ScriptError("the script produced no message")
    return made
