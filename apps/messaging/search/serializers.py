"""Input shapes of ``/search/messages`` and ``/search/threads``
(docs/api/messaging-search.md). Answers are messages as the messages area renders them
(:func:`apps.messaging.messages.shapes.render_messages`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import IntegerField, StringField, StringListField, json_type
from apps.messages.selectors.search import DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_LENGTH, TYPE_NAMES
from apps.messaging.base import IdField
from apps.messaging.messages.serializers import MessagingMessage

#: The most ids one list parameter may carry.
MAX_IDS = 500
#: The most ``type`` values (there are only so many types).
MAX_TYPES = len(TYPE_NAMES)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class IdListField(serializers.ListField):
    """A list of ids (``"42"`` or ``42`` each). The query string carries it as repeated
    keys (``channelID=1&channelID=2``) or with brackets (``channelID[]=1``); one value is a
    one-item list."""

    default_error_messages = {"not_a_list": "Must be a list of ids, not {input_type}."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("child", IdField())
        kwargs.setdefault("max_length", MAX_IDS)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        if isinstance(data, (str, int)) and not isinstance(data, bool):
            data = [data]
        if not isinstance(data, (list, tuple)):
            self.fail("not_a_list", input_type=json_type(data))
        return list(dict.fromkeys(super().to_internal_value(data)))


class ThreadSearchInput(serializers.Serializer):
    channelID = IdListField(required=False, help_text="Filter by channels (any of them).")
    limit = IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_LIMIT,
        help_text=f"Max number of threads, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT}; 0 is "
        "the default).",
    )
    query = StringField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=MAX_QUERY_LENGTH,
        help_text='Search query: words (all of them), "a phrase", -excluded, or.',
    )

    def validate_limit(self, value: int) -> int:
        return value or DEFAULT_LIMIT


class MessageSearchInput(ThreadSearchInput):
    afterMessageID = IdField(
        required=False, help_text="ID of the first message in the list (exclusive)."
    )
    beforeMessageID = IdField(
        required=False, help_text="ID of the last message in the list (exclusive)."
    )
    fromMessageID = IdField(
        required=False, help_text="ID of the first message in the list (inclusive)."
    )
    toMessageID = IdField(required=False, help_text="ID of the last message the list (inclusive).")
    threadID = IdListField(required=False, help_text="Filter by thread message ID.")
    userID = IdListField(required=False, help_text="Filter by one or more user.")
    type = StringListField(
        required=False,
        max_length=MAX_TYPES,
        max_item_length=32,
        help_text=f"Filter by message type: {', '.join(TYPE_NAMES)}.",
    )
    pinnedOnly = serializers.BooleanField(required=False, default=False)
    bookmarkedOnly = serializers.BooleanField(required=False, default=False)

    def validate_type(self, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in TYPE_NAMES]
        if unknown:
            raise serializers.ValidationError(
                f"{unknown[0][:32]!r} is not a message type; use {', '.join(TYPE_NAMES)}."
            )
        return value


class SearchResultEnvelope(serializers.Serializer):
    """``{"response": [messages]}``."""

    response = MessagingMessage(many=True)
