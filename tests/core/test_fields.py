"""The serializer fields of apps.core.fields: string parameters take strings only.

DRF's ``CharField`` turns a JSON number into a string (``{"name": 0}`` is ``"0"``);
``StringField`` (and ``IdField``, and the items of ``StringListField``) refuse it, while
form bodies and query strings, whose values are always strings, keep working.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from apps.core.errors import validation_error_body
from apps.core.fields import (
    IdField,
    IntegerField,
    JSONObjectField,
    StringField,
    StringListField,
    json_type,
    sent_in_json_body,
)
from apps.core.parsers import JSONParser
from apps.core.parsing import request_data

NOT_STRINGS = [
    pytest.param(0, "a number", id="zero"),
    pytest.param(42, "a number", id="int"),
    pytest.param(-1.5, "a number", id="float"),
    pytest.param(True, "a boolean", id="true"),
    pytest.param(False, "a boolean", id="false"),
    pytest.param({"a": "b"}, "an object", id="object"),
    pytest.param(["a"], "an array", id="array"),
]


class Sample(serializers.Serializer):
    name = StringField(max_length=8)
    note = StringField(required=False, allow_blank=True)
    userId = IdField(required=False)
    tags = StringListField(required=False, max_item_length=8)
    metadata = JSONObjectField(required=False)


def errors_of(data: dict[str, Any], request: Request | None = None) -> dict[str, Any] | None:
    """The API's error body for ``data`` (None when it is valid)."""
    serializer = Sample(data=data, context={"request": request} if request else {})
    if serializer.is_valid():
        return None
    return validation_error_body(serializer.errors)


def json_request(body: dict[str, Any], query: str = "") -> Request:
    raw = APIRequestFactory().post(f"/api/x?{query}", body, format="json")
    return Request(raw, parsers=[JSONParser(), FormParser(), MultiPartParser()])


def form_request(pairs: list[tuple[str, str]], query: str = "") -> Request:
    raw = APIRequestFactory().post(
        f"/api/x?{query}", urlencode(pairs), content_type="application/x-www-form-urlencoded"
    )
    return Request(raw, parsers=[JSONParser(), FormParser(), MultiPartParser()])


def validate(request: Request) -> Sample:
    serializer = Sample(
        data=request_data(request, include_query=True), context={"request": request}
    )
    serializer.is_valid()
    return serializer


# --- StringField --------------------------------------------------------------------------


def test_string_field_takes_a_string_and_keeps_the_charfield_options() -> None:
    field = StringField(max_length=5)
    assert field.run_validation("  abc ") == "abc"  # trimmed, as CharField does
    with pytest.raises(serializers.ValidationError) as too_long:
        field.run_validation("abcdef")
    assert too_long.value.detail[0].code == "max_length"
    with pytest.raises(serializers.ValidationError) as blank:
        field.run_validation("")
    assert blank.value.detail[0].code == "blank"
    assert StringField(allow_blank=True).run_validation("") == ""
    assert StringField(trim_whitespace=False).run_validation(" a ") == " a "


@pytest.mark.parametrize(("value", "described"), NOT_STRINGS)
def test_string_field_refuses_every_json_value_that_is_not_a_string(
    value: Any, described: str
) -> None:
    with pytest.raises(serializers.ValidationError) as refused:
        StringField().run_validation(value)
    detail = refused.value.detail[0]
    assert detail.code == "not_a_string"
    assert str(detail) == f"Must be a string, not {described}."


def test_string_field_refuses_null_unless_allowed() -> None:
    with pytest.raises(serializers.ValidationError) as refused:
        StringField().run_validation(None)
    assert refused.value.detail[0].code == "null"
    assert StringField(allow_null=True).run_validation(None) is None


def test_a_json_number_for_a_string_is_an_invalid_parameter_naming_the_field() -> None:
    assert errors_of({"name": 0}) == {
        "status": "error",
        "code": "invalid_parameter",
        "message": "name: Must be a string, not a number.",
        "field": "name",
    }


def test_a_missing_string_is_still_a_missing_parameter() -> None:
    body = errors_of({})
    assert body is not None
    assert (body["code"], body["field"]) == ("missing_parameter", "name")


def test_a_string_that_looks_like_a_number_is_a_string() -> None:
    assert errors_of({"name": "0", "note": "1.5", "userId": "42"}) is None


# --- IdField ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "described"), NOT_STRINGS)
def test_id_field_refuses_a_json_number_it_once_turned_into_a_string(
    value: Any, described: str
) -> None:
    body = errors_of({"name": "n", "userId": value})
    assert body is not None
    assert (body["code"], body["field"]) == ("invalid_parameter", "userId")
    assert body["message"] == f"userId: Must be a string, not {described}."


def test_id_field_still_refuses_control_characters() -> None:
    with pytest.raises(serializers.ValidationError):
        IdField().run_validation("a\x00b")
    assert IdField().run_validation(" alice ") == "alice"


# --- StringListField ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "described"),
    [*NOT_STRINGS, pytest.param(None, "null", id="null")],
)
def test_string_list_field_refuses_an_item_that_is_not_a_string(items: Any, described: str) -> None:
    body = errors_of({"name": "n", "tags": ["ok", items]})
    assert body is not None
    assert (body["code"], body["field"]) == ("invalid_parameter", "tags")
    assert body["message"] == f"tags: Item 1 must be a string, not {described}."


def test_string_list_field_takes_an_array_of_strings_and_drops_duplicates() -> None:
    field = StringListField()
    assert field.run_validation(["b", " a ", "b"]) == ["b", "a"]


@pytest.mark.parametrize("value", [0, True, {"a": "b"}])
def test_string_list_field_refuses_a_value_that_is_neither_an_array_nor_a_string(
    value: Any,
) -> None:
    with pytest.raises(serializers.ValidationError) as refused:
        StringListField().run_validation(value)
    assert refused.value.detail[0].code == "not_an_array"


def test_a_json_body_must_send_a_list_parameter_as_an_array() -> None:
    serializer = validate(json_request({"name": "n", "tags": "solo"}))
    body = validation_error_body(serializer.errors)
    assert (body["code"], body["field"]) == ("invalid_parameter", "tags")
    assert body["message"] == "tags: Must be an array of strings, not a string."
    serializer = validate(json_request({"name": "n", "tags": '["a", "b"]'}))
    assert "tags" in serializer.errors


def test_a_json_body_with_an_array_of_strings_is_valid() -> None:
    serializer = validate(json_request({"name": "n", "tags": ["a", "b"]}))
    assert serializer.validated_data["tags"] == ["a", "b"]


def test_a_form_body_keeps_its_string_conventions() -> None:
    serializer = validate(form_request([("name", "0"), ("tags", "solo"), ("userId", "7")]))
    assert dict(serializer.validated_data) == {"name": "0", "tags": ["solo"], "userId": "7"}
    serializer = validate(form_request([("name", "n"), ("tags", '["a", "b"]')]))
    assert serializer.validated_data["tags"] == ["a", "b"]


def test_a_json_body_must_send_an_object_parameter_as_an_object() -> None:
    serializer = validate(json_request({"name": "n", "metadata": '{"a": 1}'}))
    body = validation_error_body(serializer.errors)
    assert (body["code"], body["field"]) == ("invalid_parameter", "metadata")
    serializer = validate(json_request({"name": "n", "metadata": {"a": 1}}))
    assert serializer.validated_data["metadata"] == {"a": 1}


def test_a_form_body_may_send_an_object_parameter_json_encoded() -> None:
    serializer = validate(form_request([("name", "n"), ("metadata", '{"a": 1}')]))
    assert serializer.validated_data["metadata"] == {"a": 1}


def test_a_json_encoded_list_in_a_form_field_must_hold_strings() -> None:
    serializer = validate(form_request([("name", "n"), ("tags", "[1, 2]")]))
    body = validation_error_body(serializer.errors)
    assert (body["field"], body["message"]) == (
        "tags",
        "tags: Item 0 must be a string, not a number.",
    )


def test_a_query_string_value_beside_a_json_body_is_a_form_value() -> None:
    serializer = validate(json_request({"name": "n"}, query="tags=solo"))
    assert serializer.validated_data["tags"] == ["solo"]


def test_a_repeated_form_key_for_a_string_parameter_is_refused_as_an_array() -> None:
    serializer = validate(form_request([("name", "a"), ("name", "b")]))
    assert validation_error_body(serializer.errors)["message"] == (
        "name: Must be a string, not an array."
    )


# --- helpers ------------------------------------------------------------------------------


def test_sent_in_json_body_tells_a_json_value_from_a_form_or_query_value() -> None:
    def tags_field(request: Request | None) -> serializers.Field:
        serializer = Sample(data={}, context={"request": request} if request else {})
        return serializer.fields["tags"]

    assert sent_in_json_body(tags_field(json_request({"tags": ["a"]})))
    assert not sent_in_json_body(tags_field(json_request({"name": "n"}, query="tags=a")))
    assert not sent_in_json_body(tags_field(form_request([("tags", "a")])))
    assert not sent_in_json_body(tags_field(None))
    assert not sent_in_json_body(StringListField())
    assert isinstance(form_request([("tags", "a")]).data, QueryDict)


@pytest.mark.parametrize(
    ("value", "described"),
    [
        (None, "null"),
        (True, "a boolean"),
        (1, "a number"),
        (1.0, "a number"),
        ({}, "an object"),
        ([], "an array"),
        ("", "a string"),
        (SimpleUploadedFile("a.txt", b"x"), "a file"),
        (object(), "another type"),
    ],
)
def test_json_type_describes_a_parsed_value(value: Any, described: str) -> None:
    assert json_type(value) == described


# --- IntegerField and IdField (apps/core/text.py's rules) ---------------------------------


@pytest.mark.parametrize("value", ["\u0661", "\uff11", "1_0", " 1 ", 1e3, 1e-400, 1.0, True])
def test_integer_field_refuses_every_odd_spelling(value: Any) -> None:
    with pytest.raises(serializers.ValidationError) as excinfo:
        IntegerField(min_value=-1).run_validation(value)
    assert "Must be an integer" in str(excinfo.value.detail[0])


def test_integer_field_takes_json_integers_and_ascii_digits_and_keeps_its_bounds() -> None:
    field = IntegerField(min_value=-1, max_value=10)
    assert field.run_validation(7) == 7
    assert field.run_validation("-1") == -1
    with pytest.raises(serializers.ValidationError):
        field.run_validation(11)


@pytest.mark.parametrize("value", ["secret\u200b-a", "a\u202eb", "a\x85b", "\u200b\u200b"])
def test_id_field_refuses_invisible_and_direction_changing_characters(value: str) -> None:
    with pytest.raises(serializers.ValidationError):
        IdField().run_validation(value)
