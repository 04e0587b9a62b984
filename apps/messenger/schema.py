"""OpenAPI security schemes of the chatroom service's two token headers (names as in
../shared/seeds/messenger-chatrooms.txt)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from apps.messenger.authentication import API_TOKEN_HEADER, PERSONAL_TOKEN_HEADER


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.messenger.authentication.ApiTokenAuthentication"
    name = "API_Token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": API_TOKEN_HEADER,
            "description": "An organization's API token: every request acts in the scope "
            "of that organization; requests that need a user fail with "
            "400 user_context_required.",
        }


class PersonalTokenScheme(OpenApiAuthenticationExtension):
    target_class = "apps.messenger.authentication.PersonalTokenAuthentication"
    name = "Personal-Access-Token"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": PERSONAL_TOKEN_HEADER,
            "description": "An Account's personal access token: requests act as that "
            "Account's member in each organization, with its permissions there.",
        }
