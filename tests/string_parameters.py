"""Shared check of the API-level tests ``test_api_string_parameters.py`` /
``test_string_parameters.py`` of each surface: a JSON number (or boolean) sent for a
string parameter is a 400 ``invalid_parameter`` naming the parameter, and nothing is
written; the same request with the value as a string is then accepted (so the type
alone was refused)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.robustness.world import changed, snapshot

#: Values of the wrong JSON type, as pytest parameters.
NOT_STRINGS = {"int": 7, "float": 1.5, "bool": True}


def string_cases(cases: list[tuple[str, str, dict[str, Any], list[Any], str]]) -> Any:
    """Parametrizes a test over ``cases`` — (method, url, valid JSON body, path of the
    string to send with another type, field named) — times :data:`NOT_STRINGS` (``value``)."""

    def decorate(test: Any) -> Any:
        test = pytest.mark.parametrize(
            ("method", "url", "body", "path", "field"),
            cases,
            ids=[f"{case[0]} {case[1]} {case[4]}" for case in cases],
        )(test)
        return pytest.mark.parametrize("value", NOT_STRINGS.values(), ids=NOT_STRINGS.keys())(test)

    return decorate


def with_value(body: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the item at ``path`` (keys and list indexes) replaced."""
    result = copy.deepcopy(body)
    node: Any = result
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return result


def assert_type_refused(
    client: APIClient,
    method: str,
    url: str,
    body: dict[str, Any],
    path: list[Any],
    field: str,
    value: Any,
) -> None:
    before = snapshot()

    response = getattr(client, method)(url, with_value(body, path, value), format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["field"] == field
    assert changed(before, snapshot()) == []
    accepted = getattr(client, method)(url, body, format="json")
    assert accepted.status_code < 300, accepted.json()
