"""Messaging API: webhooks (docs/api/messaging-webhooks.md)."""

from django.urls import path

from apps.messaging.webhooks import views

urlpatterns = [
    path("webhooks/", views.WebhookListView.as_view(), name="messaging-webhooks"),
    path("webhooks/<int:webhookID>", views.WebhookDetailView.as_view(), name="messaging-webhook"),
    # ours; before the public URL, whose token is never one of these words
    path(
        "webhooks/<int:webhookID>/rotate-secret",
        views.WebhookRotateSecretView.as_view(),
        name="messaging-webhook-rotate-secret",
    ),
    path(
        "webhooks/<int:webhookID>/deliveries",
        views.WebhookDeliveriesView.as_view(),
        name="messaging-webhook-deliveries",
    ),
    path(
        "webhooks/<int:webhookID>/<str:webhookToken>",
        views.PublicWebhookView.as_view(),
        name="messaging-webhook-public",
    ),
]
