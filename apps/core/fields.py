"""Serializer fields for the API's input conventions (../shared/API.md)."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_LIST_ITEMS = 1000
MAX_JSON_BYTES = 16 * 1024


class StringListField(serializers.ListField):
    """A list of non-empty strings; a single string counts as a one-item list and a
    JSON-encoded list in a form field is decoded."""

    def __init__(self, *, max_item_length: int = 128, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_LIST_ITEMS)
        kwargs.setdefault(
            "child", serializers.CharField(max_length=max_item_length, trim_whitespace=True)
        )
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            stripped = data.strip()
            if stripped.startswith("["):
                try:
                    data = json.loads(stripped)
                except ValueError:
                    self.fail("not_a_list", input_type="malformed JSON")
            else:
                data = [data]
        if isinstance(data, (list, tuple)):
            for item in data:
                if not isinstance(item, str) and not (
                    isinstance(item, (int, float)) and not isinstance(item, bool)
                ):
                    raise serializers.ValidationError("Every item must be a string.")
            # Count what was sent, not what is left once duplicates are dropped.
            if self.max_length is not None and len(data) > self.max_length:
                self.fail("max_length", max_length=self.max_length)
        values = super().to_internal_value(data)
        # keep order, drop duplicates
        return list(dict.fromkeys(values))


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):
    """A JSON object (dict). Form clients may send it JSON-encoded or as metadata[key]=value."""

    default_error_messages = {
        "not_object": "Must be a JSON object.",
        "too_large": "Must be at most {max_bytes} bytes once encoded as JSON.",
    }

    def __init__(self, *, max_bytes: int = MAX_JSON_BYTES, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                self.fail("not_object")
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(json.dumps(data, ensure_ascii=False).encode()) > self.max_bytes:
            self.fail("too_large", max_bytes=self.max_bytes)
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class IdField(serializers.CharField):
    """A customer-chosen identifier (userId, channelId): trimmed, no control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 128)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, (int,)) and not isinstance(data, bool):
            data = str(data)
        value = super().to_internal_value(data)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise serializers.ValidationError("Must not contain control characters.")
        return value
