"""/api/v2/users/:userId/sessions: messaging API sessions (our extension of v2,
docs/api/sessions.md). Included before the users area (``users/<path:userId>/...``)."""

from django.urls import path

from apps.api_v2.sessions import views

urlpatterns = [
    path(
        "users/<path:userId>/sessions",
        views.UserSessionsView.as_view(),
        name="v2-users-sessions",
    ),
]
