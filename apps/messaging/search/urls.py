"""Messaging API: search."""

urlpatterns: list = []
