"""The Admin API v2 (/api/v2/, ../shared/seeds/admin-api-v2.txt): one include per area.

The order matters where two areas share a prefix (``users/<path:userId>`` and
``users/<path:userId>/flags``): the first pattern that matches wins."""

from django.urls import include, path

urlpatterns = [
    path("", include("apps.api_v2.channels.urls")),
    path("", include("apps.api_v2.messages.urls")),
    path("", include("apps.api_v2.sessions.urls")),  # before users/<path:userId>
    path("", include("apps.api_v2.users.urls")),
    path("", include("apps.api_v2.filter_records.urls")),
    path("", include("apps.api_v2.reports.urls")),
    path("", include("apps.api_v2.reactions.urls")),
]
