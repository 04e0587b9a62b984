"""The OpenAPI schema describes every /api/v2/ route, and its docs page needs no CDN."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from apps.core.schema import error_component_for

API_PREFIX = "/api/v2/"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def _openapi_path(route: str) -> str:
    """Django's route syntax to OpenAPI's: ``<str:channelId>`` -> ``{channelId}``."""
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    route = route.lstrip("^").rstrip("$").replace("\\", "")
    return "/" + route


def _methods(callback: Any) -> list[str]:
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is None:
        return ["*"]  # a plain Django view: the schema cannot know it; must be annotated
    allowed = getattr(callback, "actions", None)  # viewsets: {"get": "list", ...}
    if allowed:
        return [m for m in allowed if m in HTTP_METHODS]
    return [m for m in HTTP_METHODS if hasattr(view_class, m)]


def v2_routes() -> list[tuple[str, str]]:
    routes = []
    for route, callback in _walk(get_resolver().url_patterns):
        path = _openapi_path(route)
        if path.startswith(API_PREFIX):
            routes.extend((path, method) for method in _methods(callback))
    return sorted(set(routes))


def test_the_schema_is_openapi_3(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"]
    assert isinstance(schema["paths"], dict)


def test_the_schema_is_served_as_yaml_too(db: None) -> None:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    document = yaml.safe_load(response.content)
    assert document["openapi"].startswith("3.")


def test_the_docs_page_renders_without_any_cdn(db: None) -> None:
    response = Client().get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    external = re.findall(r"""(?:src|href)=["'](https?://[^"']+)""", html)
    assert not external, f"the docs page loads assets from outside: {external}"
    assert "cdn" not in html.lower()


def test_there_are_v2_routes_to_check() -> None:
    assert v2_routes(), "no route under /api/v2/ was found"


def test_every_v2_route_and_method_is_in_the_schema(schema: dict[str, Any]) -> None:
    documented = {
        (path, method)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }
    missing = [
        f"{method.upper()} {path}"
        for path, method in v2_routes()
        if (path, method) not in documented and not (method == "*" and path in schema["paths"])
    ]
    assert not missing, "routes missing from /api/schema/:\n" + "\n".join(missing)


def test_every_v2_operation_has_a_unique_operation_id(schema: dict[str, Any]) -> None:
    ids = [
        operation["operationId"]
        for path, operations in schema["paths"].items()
        if path.startswith(API_PREFIX)
        for method, operation in operations.items()
        if method in HTTP_METHODS
    ]
    assert len(ids) == len(set(ids))


def test_every_operation_documents_the_errors_of_the_shared_layers(schema: dict[str, Any]) -> None:
    """Any operation may answer 503 (database down); any that takes a body, 413 and 415
    (apps.core.schema.add_common_error_responses); every error is in the error shape."""
    operations = [
        (method, path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 50
    for method, path, op in operations:
        expected = {"503"} | ({"413", "415"} if method != "get" else set())
        assert expected <= set(op["responses"]), (method, path, sorted(op["responses"]))
        for code, response in op["responses"].items():
            if code >= "400":  # every documented error has its surface's error body
                schema_of = response.get("content", {}).get("application/json", {}).get("schema")
                error_ref = {"$ref": f"#/components/schemas/{error_component_for(path)}"}
                assert schema_of == error_ref, (method, path, code)
