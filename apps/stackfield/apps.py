from django.apps import AppConfig


class StackfieldConfig(AppConfig):
    name = "apps.stackfield"
    label = "stackfield"
    verbose_name = "Stackfield webhook URLs"

    def ready(self) -> None:
        from apps.core.dialects import register_dialect
        from apps.core.schema import register_error_schema
        from apps.stackfield.dialect import ERROR_SCHEMA, PREFIX, stackfield_error_body

        register_dialect(PREFIX, stackfield_error_body)
        register_error_schema(PREFIX, "StackfieldError", ERROR_SCHEMA)
