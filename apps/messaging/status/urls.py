"""Messaging API: status."""

from django.urls import path

from apps.messaging.status import views

urlpatterns = [
    path("status/", views.StatusView.as_view(), name="messaging-status"),
]
