"""Messaging API: webhooks (docs/api/messaging-webhooks.md)."""

from django.urls import path

from apps.messaging.webhooks import views

urlpatterns = [
    path("webhooks/", views.WebhookListView.as_view(), name="messaging-webhooks"),
    path("webhooks/<int:webhookID>", views.WebhookDetailView.as_view(), name="messaging-webhook"),
    path(
        "webhooks/<int:webhookID>/<str:webhookToken>",
        views.PublicWebhookView.as_view(),
        name="messaging-webhook-public",
    ),
]
