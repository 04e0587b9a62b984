"""The parsing layer: form keys with brackets become the lists and objects JSON would carry."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.http import QueryDict

from apps.core.errors import DomainError
from apps.core.parsing import querydict_to_data
from tests.personas import TokenClient


def test_it_expands_bracketed_form_keys_into_lists_and_objects() -> None:
    qd = QueryDict(
        "userIds[]=a&userIds[]=b&options[limit]=10&metadata[color]=red&tags[0]=x&tags[1]=y"
    )
    assert querydict_to_data(qd) == {
        "userIds": ["a", "b"],
        "options": {"limit": "10"},
        "metadata": {"color": "red"},
        "tags": ["x", "y"],
    }


def test_it_turns_repeated_plain_keys_into_a_list() -> None:
    assert querydict_to_data(QueryDict("userIds=a&userIds=b&channelId=c")) == {
        "userIds": ["a", "b"],
        "channelId": "c",
    }


# --- every bracket style, through the real request path -----------------------------------

ECHO = "/api/test/echo"
FORM = "application/x-www-form-urlencoded"


def parse(query: str) -> dict[str, Any]:
    return querydict_to_data(QueryDict(query))


@pytest.mark.parametrize(
    "query",
    [
        "userIds[]=a&userIds[]=b",
        "userIds=a&userIds=b",
        "userIds[0]=a&userIds[1]=b",
        "userIds%5B%5D=a&userIds%5B%5D=b",
    ],
    ids=["empty-brackets", "repeated", "indexed", "percent-encoded"],
)
def test_every_list_style_gives_the_same_list(query: str) -> None:
    assert parse(query) == {"userIds": ["a", "b"]}


def test_a_single_bracketed_value_is_still_a_list() -> None:
    assert parse("userIds[]=a") == {"userIds": ["a"]}


def test_indexed_objects_are_grouped_by_index() -> None:
    assert parse("items[0][name]=a&items[0][id]=1&items[1][name]=b") == {
        "items": [{"name": "a", "id": "1"}, {"name": "b"}]
    }


def test_sparse_indexes_do_not_allocate_empty_items() -> None:
    assert parse("items[9999999][name]=a") == {"items": [{"name": "a"}]}
    assert parse("tags[9999999]=a") == {"tags": ["a"]}


def test_nested_objects_expand() -> None:
    assert parse("options[filter][tag]=x&options[limit]=5") == {
        "options": {"filter": {"tag": "x"}, "limit": "5"}
    }


def test_keys_that_are_not_bracket_syntax_stay_literal() -> None:
    assert parse("a[b=1&]c=2&d]=3") == {"a[b": "1", "]c": "2", "d]": "3"}


@pytest.mark.parametrize(
    "query",
    [
        "a=1&a[b]=2",
        "a[b]=2&a=1",
        "a[]=1&a[b]=2",
        "a[b]=1&a[]=2",
        "a[0]=1&a[0][b]=2",
        "a[0][b]=1&a[0]=2",
        "a[0][b]=1&a[c]=2",
        "a[b]=1&a[b][c]=2",
        "a[b][c]=1&a[b]=2",
    ],
)
def test_mixing_a_value_a_list_and_an_object_is_refused(query: str) -> None:
    with pytest.raises(DomainError) as excinfo:
        parse(query)
    assert excinfo.value.code == "invalid_parameter"
    assert excinfo.value.field == "a"


def test_keys_nested_too_deeply_are_refused() -> None:
    with pytest.raises(DomainError) as excinfo:
        parse("a" + "[b]" * 50 + "=1")
    assert excinfo.value.code == "invalid_parameter"


pytestmark_urls = pytest.mark.urls("tests.core.urls")


@pytestmark_urls
def test_a_form_body_reaches_the_view_as_json_would(api: TokenClient) -> None:
    body = urlencode(
        {"userIds[]": ["a", "b"], "options[limit]": "10", "metadata[color]": "red"}, doseq=True
    )
    form = api.post(ECHO, body, content_type=FORM).json()["params"]
    as_json = api.post(
        ECHO,
        {"userIds": ["a", "b"], "options": {"limit": "10"}, "metadata": {"color": "red"}},
        format="json",
    ).json()["params"]
    assert form == as_json


@pytestmark_urls
def test_a_multipart_body_expands_brackets_too(api: TokenClient) -> None:
    response = api.post(ECHO, {"userIds[]": ["a", "b"], "options[limit]": "3"}, format="multipart")
    assert response.json()["params"] == {"userIds": ["a", "b"], "options": {"limit": "3"}}


@pytestmark_urls
def test_the_query_string_is_expanded_on_get(api: TokenClient) -> None:
    response = api.get(ECHO + "?userIds[]=a&userIds[]=b&options[limit]=2")
    assert response.json()["params"] == {"userIds": ["a", "b"], "options": {"limit": "2"}}


@pytestmark_urls
@pytest.mark.parametrize(
    "body",
    ["a" + "[b]" * 50 + "=1", "a=1&a[b]=2", "a[b]=2&a=1", "a[0]=1&a[0][b]=2", "a[]=1&a[x]=2"],
)
def test_hostile_form_keys_are_a_400_not_a_500(api: TokenClient, body: str) -> None:
    for response in (
        api.post(ECHO, body, content_type=FORM),
        api.get(ECHO + "?" + body),
    ):
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "invalid_parameter"


@pytestmark_urls
def test_a_json_body_is_passed_through_unchanged(api: TokenClient) -> None:
    data = {"userIds": ["a"], "metadata": {"k": {"deep": [1, 2.5, None, True]}}}
    response = api.post(ECHO, json.dumps(data), content_type="application/json")
    assert response.json()["params"] == data
