"""Inventory: the routes of every surface (from the URL resolver, under the prefixes of
surfaces.SURFACES) and the operations of the OpenAPI schema are the same set, per method.
A route without schema, or a schema path without a route (one under a prefix no surface
has, too), fails here by name."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

from .routes import HTTP_METHODS, api_routes
from .surfaces import SURFACES, surface_of


@pytest.fixture(scope="module")
def schema_operations() -> set[str]:
    schema: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return {
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


@pytest.fixture(scope="module")
def route_operations() -> set[str]:
    return {str(route) for route in api_routes()}


def test_the_resolver_finds_every_surface(route_operations: set[str]) -> None:
    found = {surface_of(op.split()[1]).name for op in route_operations}
    assert found == {surface.name for surface in SURFACES}
    # the Admin API v2's sessions extension (issue and revoke a member's sessions)
    assert {"POST /api/v2/users/{userId}/sessions", "DELETE /api/v2/users/{userId}/sessions"} <= (
        route_operations
    )
    # the integrations' doors (issue 13): Rocket.Chat's API and incoming URL, Stackfield's
    # URL, the messaging API's webhooks and their public URL
    assert {
        "POST /api/v1/integrations.create",
        "POST /hooks/{integrationId}/{token}",
        "POST /apiwh/{webhookId}",
        "GET /api/messaging/webhooks/",
        "POST /api/messaging/webhooks/{webhookID}/{webhookToken}",
    } <= route_operations


def test_every_route_is_in_the_schema(
    route_operations: set[str], schema_operations: set[str]
) -> None:
    missing = sorted(route_operations - schema_operations)
    assert not missing, f"routes without an operation in the OpenAPI schema: {missing}"


def test_every_schema_operation_has_a_route(
    route_operations: set[str], schema_operations: set[str]
) -> None:
    extra = sorted(schema_operations - route_operations)
    assert not extra, f"operations in the OpenAPI schema without a route: {extra}"
