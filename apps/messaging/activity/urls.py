"""Messaging API: activity."""

from django.urls import path

from apps.messaging.activity import views

urlpatterns = [
    path("activity/", views.ActivityView.as_view(), name="messaging-activity"),
]
