"""OpenAPI security scheme of Rocket.Chat's header pair (both are required together)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class RocketChatAuthScheme(OpenApiAuthenticationExtension):
    target_class = "apps.rocketchat.authentication.RocketChatAuthentication"
    name = ["RocketChatAuthToken", "RocketChatUserId"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, str]]:
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Auth-Token",
                "description": "An admin access token of the organization.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-User-Id",
                "description": "The token holder's `_id` (POST /api/v1/login answers it).",
            },
        ]
