from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "apps.integrations"
    label = "integrations"
    verbose_name = "Integrations and webhooks"

    def ready(self) -> None:
        from apps.events.registry import subscribe
        from apps.integrations.services.outgoing import SUBSCRIBED_TYPES, on_event

        # The fan-out of outgoing webhooks: domain events become deliveries.
        subscribe(on_event, types=SUBSCRIBED_TYPES)
