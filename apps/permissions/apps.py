from django.apps import AppConfig


class PermissionsConfig(AppConfig):
    name = "apps.permissions"
    label = "chat_permissions"
    verbose_name = "Permissions"
