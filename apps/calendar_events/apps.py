from django.apps import AppConfig


class CalendarEventsConfig(AppConfig):
    name = "apps.calendar_events"
    label = "calendar_events"
    verbose_name = "Organization events"
