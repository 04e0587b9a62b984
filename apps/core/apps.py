from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django.core.signals import got_request_exception

        from apps.core.database import note_request_exception

        # A database outage hit by a middleware becomes a 503 (apps/core/database.py).
        got_request_exception.connect(
            note_request_exception, dispatch_uid="chatadmin.database_unavailable"
        )
