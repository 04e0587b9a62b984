"""Shared check of the API-level tests ``test_api_string_parameters.py`` /
``test_string_parameters.py`` of each surface: a JSON number (or boolean) sent for a
string parameter is a 400 ``invalid_parameter`` naming the parameter, and nothing is
written; the same request with the value as a string is then accepted (so the type
alone was refused)."""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

import pytest
from rest_framework.test import APIClient

from tests.robustness.world import changed, snapshot

#: Values of the wrong JSON type, as pytest parameters.
NOT_STRINGS = {"int": 7, "float": 1.5, "bool": True}


class StringCase(NamedTuple):
    """One string parameter of one operation: the valid JSON ``body`` sent to ``url`` with
    ``method``, the ``path`` (keys and list indexes) of the string inside it, and the
    ``field`` the error must name."""

    method: str
    url: str
    body: dict[str, Any]
    path: list[Any]
    field: str


def string_cases(cases: list[tuple[str, str, dict[str, Any], list[Any], str]]) -> Any:
    """Parametrizes a test over ``cases`` (as :class:`StringCase`, argument ``case``) times
    :data:`NOT_STRINGS` (argument ``value``)."""
    made = [StringCase(*case) for case in cases]

    def decorate(test: Any) -> Any:
        test = pytest.mark.parametrize(
            "case", made, ids=[f"{c.method} {c.url} {c.field}" for c in made]
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


def assert_type_refused(client: APIClient, case: StringCase, value: Any) -> None:
    method, url, body, path, field = case
    before = snapshot()

    response = getattr(client, method)(url, with_value(body, path, value), format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["field"] == field
    assert changed(before, snapshot()) == []
    accepted = getattr(client, method)(url, body, format="json")
    assert accepted.status_code < 300, accepted.json()
