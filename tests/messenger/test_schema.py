"""Every /api/messenger/ route is in the OpenAPI schema with the two token schemes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

ROUTES = {
    "/api/messenger/chatroom": {"get"},
    "/api/messenger/chatrooms": {"get", "post"},
    "/api/messenger/organizations/{organizationID}/default-chatroom": {"post", "delete"},
    "/api/messenger/chatrooms/{roomID}": {"get", "put", "delete"},
    "/api/messenger/chatrooms/{roomID}/avatar": {"get", "put"},
    "/api/messenger/chatrooms/{roomID}/messages": {"post"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    with django_db_blocker.unblock():
        response = Client().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_route_is_published_with_both_security_schemes(schema) -> None:
    published = {p: set(v) & {"get", "post", "put", "delete"} for p, v in schema["paths"].items()}
    for path, methods in ROUTES.items():
        assert published.get(path) == methods, path
        for method in methods:
            operation = schema["paths"][path][method]
            assert {"API_Token": []} in operation["security"]
            assert {"Personal-Access-Token": []} in operation["security"]
            assert "200" in operation["responses"] or "201" in operation["responses"]


def test_the_security_schemes_are_the_document_s_headers(schema) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["API_Token"] == schemes["API_Token"] | {
        "type": "apiKey",
        "in": "header",
        "name": "API-TOKEN",
    }
    assert schemes["Personal-Access-Token"]["name"] == "Personal-Access-Token"
    assert schemes["Personal-Access-Token"]["in"] == "header"


def test_the_chatroom_object_has_exactly_the_document_s_fields(schema) -> None:
    chatroom = schema["components"]["schemas"]["Chatroom"]
    assert set(chatroom["properties"]) == {
        "assignedUsers",
        "avatarURL",
        "eventID",
        "id",
        "name",
        "organizationID",
        "scheduledDeletion",
        "type",
    }


def test_query_parameters_and_bodies_are_described(schema) -> None:
    listing = schema["paths"]["/api/messenger/chatrooms"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"organization_id", "all", "limit", "offset"} <= names
    event = schema["paths"]["/api/messenger/chatroom"]["get"]
    assert {"organization_id", "event_id"} <= {p["name"] for p in event["parameters"]}
    avatar = schema["paths"]["/api/messenger/chatrooms/{roomID}/avatar"]["put"]
    assert "image/*" in avatar["requestBody"]["content"]
    create = schema["paths"]["/api/messenger/chatrooms"]["post"]
    assert "application/json" in create["requestBody"]["content"]
