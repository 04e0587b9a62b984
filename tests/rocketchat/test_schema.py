"""The OpenAPI schema documents every route of the Rocket.Chat surface (/api/v1/ and the
incoming URLs under /hooks/), with its header pair and Rocket.Chat's error body."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.rocketchat import urls as api_urls

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
EXPECTED = {
    ("post", "/api/v1/login"),
    ("get", "/api/v1/me"),
    ("post", "/api/v1/integrations.create"),
    ("get", "/api/v1/integrations.list"),
    ("get", "/api/v1/integrations.get"),
    ("put", "/api/v1/integrations.update"),
    ("post", "/api/v1/integrations.remove"),
    ("get", "/api/v1/integrations.history"),
    ("post", "/api/v1/integrations.clearHistory"),
    ("post", "/api/v1/integrations.replayOutgoing"),
    ("post", "/api/v1/integrations.rotateSigningSecret"),
    ("post", "/hooks/{integrationId}/{token}"),
}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in schema["paths"].items()
        if path.startswith(("/api/v1/", "/hooks/"))
        for method, operation in item.items()
        if method in HTTP_METHODS
    }


def test_every_route_and_method_is_in_the_schema(schema: dict[str, Any]) -> None:
    assert set(_operations(schema)) == EXPECTED
    routed = {
        (method, "/api/v1/" + str(pattern.pattern))
        for pattern in api_urls.urlpatterns
        for method in HTTP_METHODS
        if hasattr(pattern.callback.view_class, method)
    }
    assert routed <= EXPECTED


def test_the_integrations_routes_take_the_header_pair_and_login_and_hooks_none(
    schema: dict[str, Any],
) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["RocketChatAuthToken"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Auth-Token",
        "description": "An admin access token of the organization.",
    }
    assert schemes["RocketChatUserId"]["name"] == "X-User-Id"
    for (_method, path), operation in _operations(schema).items():
        if path in ("/api/v1/login", "/hooks/{integrationId}/{token}"):
            assert operation.get("security") in (None, [], [{}]), path
        else:
            assert operation["security"] == [{"RocketChatAuthToken": [], "RocketChatUserId": []}]


def test_every_error_is_rocketchats_error_body(schema: dict[str, Any]) -> None:
    body = schema["components"]["schemas"]["RocketChatError"]
    assert body["required"] == ["success", "error"]
    for (method, path), operation in _operations(schema).items():
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        assert errors, (method, path)
        for code, response in errors.items():
            ref = response["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/RocketChatError", (method, path, code)
