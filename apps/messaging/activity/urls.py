"""Messaging API: activity."""

urlpatterns: list = []
