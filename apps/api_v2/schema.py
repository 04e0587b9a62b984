"""OpenAPI description of the token authentication (loaded by drf-spectacular)."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AdminTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.api_v2.authentication.AdminTokenAuthentication"
    name = "AdminAccessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An Admin API access token: `Authorization: Bearer <token>`.",
        }
