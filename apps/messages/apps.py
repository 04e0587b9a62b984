from django.apps import AppConfig


class MessagesConfig(AppConfig):
    name = "apps.messages"
    # "messages" is django.contrib.messages' label.
    label = "chat_messages"
    verbose_name = "Messages"
