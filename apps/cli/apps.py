from django.apps import AppConfig


class CliConfig(AppConfig):
    """Every management command: a surface over the same audited services as the console."""

    name = "apps.cli"
    label = "cli"
