"""Messaging API: status."""

urlpatterns: list = []
