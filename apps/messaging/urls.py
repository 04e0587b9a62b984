"""The messaging API (/api/messaging/, ../shared/seeds/messaging-api.txt): one include per
area."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.messaging.channels.urls")),
    path("", include("apps.messaging.messages.urls")),
    path("", include("apps.messaging.commands.urls")),
    path("", include("apps.messaging.permissions.urls")),
    path("", include("apps.messaging.search.urls")),
    path("", include("apps.messaging.status.urls")),
    path("", include("apps.messaging.activity.urls")),
    path("", include("apps.messaging.attachments.urls")),
    path("", include("apps.messaging.webhooks.urls")),
]
