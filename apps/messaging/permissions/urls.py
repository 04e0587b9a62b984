"""Messaging API: permissions."""

urlpatterns: list = []
