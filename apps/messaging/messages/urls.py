"""Messaging API: messages."""

urlpatterns: list = []
