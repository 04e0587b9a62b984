"""Admin API v2: blacklist and whitelist records. ``<path:ruleId>``: a ruleId is a
pattern and may contain ``/`` (sent as %2F)."""

from django.urls import path

from apps.moderation.api import reports, views

urlpatterns = [
    path("blacklist/records", views.BlacklistRecordsView.as_view(), name="v2-blacklist-records"),
    path(
        "blacklist/records/<path:ruleId>",
        views.BlacklistRecordView.as_view(),
        name="v2-blacklist-record",
    ),
    path("whitelist/records", views.WhitelistRecordsView.as_view(), name="v2-whitelist-records"),
    path(
        "whitelist/records/<path:ruleId>",
        views.WhitelistRecordView.as_view(),
        name="v2-whitelist-record",
    ),
    # Reports (flags), an extension (docs/api/reports.md). DELETE users/.../flags is the
    # members app's view, extended here with POST.
    path(
        "messages/<str:messageId>/flags",
        reports.MessageFlagsView.as_view(),
        name="v2-messages-flags",
    ),
    path("users/<path:userId>/flags", reports.UserFlagsView.as_view(), name="v2-users-flags"),
]
