"""Admin API v2: blacklist and whitelist records. ``<path:ruleId>``: a ruleId is a
pattern and may contain ``/`` (sent as %2F)."""

from django.urls import path

from apps.api_v2.filter_records import views

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
]
