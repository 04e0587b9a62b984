"""Admin API v2: reports (flags), an extension (docs/api/reports.md). DELETE
users/.../flags is the users area's view, extended here with POST."""

from django.urls import path

from apps.api_v2.reports import views as reports

urlpatterns = [
    path(
        "messages/<str:messageId>/flags",
        reports.MessageFlagsView.as_view(),
        name="v2-messages-flags",
    ),
    path("users/<path:userId>/flags", reports.UserFlagsView.as_view(), name="v2-users-flags"),
]
