from django.urls import path

from apps.stackfield.views import WebhookView

urlpatterns = [
    path("<str:webhookId>", WebhookView.as_view(), name="stackfield-webhook"),
]
