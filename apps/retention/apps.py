from django.apps import AppConfig


class RetentionConfig(AppConfig):
    """Closing channels, purging their rows and files, and scheduled deletion."""

    name = "apps.retention"
    label = "retention"
