from django.apps import AppConfig


class MessengerConfig(AppConfig):
    """The chatroom service (/api/messenger/, ../shared/seeds/messenger-chatrooms.txt)."""

    name = "apps.messenger"
    label = "messenger"
    verbose_name = "Chatroom service"

    def ready(self) -> None:
        # registers the OpenAPI security schemes of the two token headers
        from apps.messenger import schema  # noqa: F401
