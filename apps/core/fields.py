"""Serializer fields for the API's input conventions (../shared/API.md)."""

from __future__ import annotations

import json
from typing import Any

from django.core.files import File
from django.http import QueryDict
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.parsers import loads
from apps.core.text import identifier_problem, parse_integer

MAX_LIST_ITEMS = 1000
MAX_JSON_BYTES = 16 * 1024


def json_type(value: Any) -> str:
    """What a parsed value is, for error messages: "a number", "a boolean", "an object",
    "an array", "null", "a string" or (a multipart upload) "a file"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a file" if isinstance(value, File) else "another type"


def sent_in_json_body(field: serializers.Field) -> bool:
    """Whether ``field``'s value came from a JSON body, where values are typed, rather than
    from a form body or the query string, where every value is a string (a list or object
    of strings once bracketed and repeated keys are expanded: apps.core.parsing).

    The body wins over the query string for a whole top-level parameter, so the value is
    the JSON body's when its top-level name is a key of that body.
    """
    request = field.context.get("request")
    body = getattr(request, "data", None)
    if not isinstance(body, dict) or isinstance(body, QueryDict):
        return False
    top = field
    while top.parent is not None and top.parent.parent is not None:
        top = top.parent
    return top.field_name is not None and top.field_name in body


class StringField(serializers.CharField):
    """A string parameter that takes strings only.

    DRF's ``CharField`` turns a JSON number into a string (``{"name": 0}`` becomes
    ``"0"``); this field refuses numbers and booleans, as well as objects and arrays,
    with 400 ``invalid_parameter`` naming the field. Form-encoded bodies and query
    strings carry only strings, so they are unaffected. Every other ``CharField`` option
    (``max_length``, ``allow_blank``, ``trim_whitespace``, ...) works as usual.
    """

    default_error_messages = {"not_a_string": "Must be a string, not {input_type}."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string", input_type=json_type(data))
        return super().to_internal_value(data)


class StringListField(serializers.ListField):
    """A list of non-empty strings. Items must be strings, as in :class:`StringField`: a
    number, boolean, object, array or null item is refused.

    Form bodies and query strings carry strings only, so there a single string counts as
    a one-item list and a JSON-encoded list in one field is decoded; in a JSON body the
    value must be an array.
    """

    default_error_messages = {
        "not_an_array": "Must be an array of strings, not {input_type}.",
        "not_a_string": "Item {index} must be a string, not {input_type}.",
    }

    def __init__(self, *, max_item_length: int = 128, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_LIST_ITEMS)
        kwargs.setdefault("child", StringField(max_length=max_item_length, trim_whitespace=True))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if not isinstance(data, (list, tuple)) and (
            not isinstance(data, str) or sent_in_json_body(self)
        ):
            self.fail("not_an_array", input_type=json_type(data))
        if isinstance(data, str):
            stripped = data.strip()
            if stripped.startswith("["):
                try:
                    data = loads(stripped, at=(self.field_name or "",))
                except ValueError:
                    self.fail("not_a_list", input_type="malformed JSON")
            else:
                data = [data]
        if isinstance(data, (list, tuple)):
            for index, item in enumerate(data):
                if not isinstance(item, str):
                    self.fail("not_a_string", index=index, input_type=json_type(item))
            # Count what was sent, not what is left once duplicates are dropped.
            if self.max_length is not None and len(data) > self.max_length:
                self.fail("max_length", max_length=self.max_length)
        values = super().to_internal_value(data)
        # keep order, drop duplicates
        return list(dict.fromkeys(values))


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):
    """A JSON object (dict). Form clients may send it JSON-encoded or as metadata[key]=value;
    in a JSON body it must be an object (a JSON-encoded string there is refused, as a bare
    string is for :class:`StringListField`)."""

    default_error_messages = {
        "not_object": "Must be a JSON object.",
        "too_large": "Must be at most {max_bytes} bytes once encoded as JSON.",
    }

    def __init__(self, *, max_bytes: int = MAX_JSON_BYTES, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str) and not sent_in_json_body(self):
            try:
                data = loads(data, at=(self.field_name or "",))
            except ValueError:
                self.fail("not_object")
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(json.dumps(data, ensure_ascii=False).encode()) > self.max_bytes:
            self.fail("too_large", max_bytes=self.max_bytes)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class IdField(StringField):
    """A customer-chosen identifier (userId, channelId, roleId): a string (the seed
    documents type every such id as one, so a JSON number is refused), trimmed, with no
    control, format (bidi, zero-width) or other invisible characters and not invisible
    altogether (apps.core.text.identifier_problem)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 128)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        # Checked before trimming: str.strip() would also cut U+0085, U+001C..U+001F and
        # U+2028/9 off the ends, and the id would pass as the one without them.
        if isinstance(data, str):
            problem = identifier_problem(data.strip(" "))
            if problem is not None:
                raise serializers.ValidationError(problem)
        return super().to_internal_value(data)


class IntegerField(serializers.IntegerField):
    """An integer parameter: a JSON integer, or ASCII digits in a form or query string
    (:func:`parse_integer`). Floats (``1e3``, ``1.0``), booleans, other digits, underscores
    and surrounding spaces are refused with 400 ``invalid_parameter``."""

    default_error_messages = {
        "invalid": "Must be an integer (a JSON integer or ASCII digits), not {input}.",
    }

    def to_internal_value(self, data: Any) -> int:
        value = parse_integer(data)
        if value is None:
            shown = json_type(data) if not isinstance(data, str) else repr(data[:32])
            self.fail("invalid", input=shown)
        if not -(2**63) <= value < 2**63:
            self.fail("max_string_length")
        return value
