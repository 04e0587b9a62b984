"""OpenAPI security scheme of the messaging API's session tokens."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.messaging.authentication.SessionTokenAuthentication"
    name = "MessagingSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A member's session token (POST /api/v2/users/{userId}/sessions): "
            "every request acts as that member of its organization.",
        }
