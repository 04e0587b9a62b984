from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "apps.channels"
    label = "chat_channels"
    verbose_name = "Channels"
