"""Input and output shapes of the messaging API's commands
(docs/api/messaging-commands.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import StringField, json_type, sent_in_json_body
from apps.core.parsers import loads
from apps.messages.services.messages import MAX_TEXT_LENGTH

#: Longest ``input``: a message's text.
MAX_INPUT_LENGTH = MAX_TEXT_LENGTH
#: Most ``params``, and the longest one.
MAX_PARAMS = 50
MAX_PARAM_LENGTH = 1000


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class ParamsField(serializers.Field):
    """``params``: a list of strings, kept as given (order and repeats matter to a
    command). In a form body a single value is a one-item list, and a value starting
    with ``[`` is a JSON-encoded list (checked like a JSON body: no NUL, no lone
    surrogate)."""

    default_error_messages = {
        "not_a_list": "Must be an array of strings, not {input_type}.",
        "not_a_string": "Item {index} must be a string, not {input_type}.",
        "too_many": f"At most {MAX_PARAMS} items.",
        "too_long": f"Item {{index}} is longer than {MAX_PARAM_LENGTH} characters.",
    }

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str) and not sent_in_json_body(self):
            # a form value: one item, or a JSON-encoded list (as StringListField reads it)
            if data.strip().startswith("["):
                try:
                    data = loads(data.strip(), at=(self.field_name or "params",))
                except ValueError:
                    self.fail("not_a_list", input_type="malformed JSON")
            else:
                data = [data]
        if not isinstance(data, (list, tuple)):
            self.fail("not_a_list", input_type=json_type(data))
        if len(data) > MAX_PARAMS:
            self.fail("too_many")
        items = []
        for index, item in enumerate(data):
            if not isinstance(item, str):
                self.fail("not_a_string", index=index, input_type=json_type(item))
            if len(item) > MAX_PARAM_LENGTH:
                self.fail("too_long", index=index)
            if item.strip():
                items.append(item.strip())
        return items

    def to_representation(self, value: Any) -> Any:
        return value


class MessagingCommandExecInput(serializers.Serializer):
    input = StringField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_INPUT_LENGTH,
        help_text="Arbitrary command input (the text after the command's name).",
    )
    params = ParamsField(
        required=False,
        default=list,
        help_text="Command parameters (used instead of parsing input when given).",
    )


class MessagingCommandParam(serializers.Serializer):
    name = serializers.CharField()
    type = serializers.CharField(help_text="string, user (@<userID> or @<userId>), duration")
    required = serializers.BooleanField()


class MessagingCommand(serializers.Serializer):
    name = serializers.CharField()
    params = MessagingCommandParam(many=True)
    description = serializers.CharField()


class MessagingCommandListEnvelope(serializers.Serializer):
    response = MessagingCommand(many=True)
