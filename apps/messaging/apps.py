from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "apps.messaging"
    label = "messaging"
    verbose_name = "Messaging API"

    def ready(self) -> None:
        from apps.core.dialects import register_dialect
        from apps.core.schema import register_error_schema
        from apps.messaging import schema  # noqa: F401  (OpenAPI security scheme)
        from apps.messaging.dialect import ERROR_SCHEMA, PREFIX, messaging_error_body
        from apps.messaging.webhooks import commands  # noqa: F401  (outgoing webhooks' commands)

        register_dialect(PREFIX, messaging_error_body)
        register_error_schema(PREFIX, "MessagingError", ERROR_SCHEMA)
