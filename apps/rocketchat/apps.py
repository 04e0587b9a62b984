from django.apps import AppConfig


class RocketchatConfig(AppConfig):
    name = "apps.rocketchat"
    label = "rocketchat"
    verbose_name = "Rocket.Chat integrations API"

    def ready(self) -> None:
        from apps.core.dialects import register_dialect
        from apps.core.schema import register_error_schema
        from apps.rocketchat import schema  # noqa: F401  (OpenAPI security scheme)
        from apps.rocketchat.dialect import (
            ERROR_SCHEMA,
            HOOKS_PREFIX,
            PREFIX,
            rocketchat_error_body,
        )

        for prefix in (PREFIX, HOOKS_PREFIX):
            register_dialect(prefix, rocketchat_error_body)
            register_error_schema(prefix, "RocketChatError", ERROR_SCHEMA)
