from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports (flags) by end users on users and messages, and their resolution."""

    name = "apps.reports"
    label = "reports"
