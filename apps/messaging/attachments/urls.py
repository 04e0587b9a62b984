"""Messaging API: attachments."""

urlpatterns: list = []
