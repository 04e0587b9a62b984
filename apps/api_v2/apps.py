from django.apps import AppConfig


class ApiV2Config(AppConfig):
    """The Admin API v2 (/api/v2/): a surface; it imports the domain, never the reverse."""

    name = "apps.api_v2"
    label = "api_v2"

    def ready(self) -> None:
        from apps.api_v2 import schema  # noqa: F401  (registers the OpenAPI auth extension)
