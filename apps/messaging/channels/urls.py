"""Messaging API: channels."""

urlpatterns: list = []
