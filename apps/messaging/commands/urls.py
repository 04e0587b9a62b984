"""Messaging API: commands."""

urlpatterns: list = []
