"""Messaging API: commands (docs/api/messaging-commands.md)."""

from django.urls import path

from apps.messaging.commands import views

urlpatterns = [
    path("commands/", views.CommandListView.as_view(), name="messaging-commands"),
    path(
        "channels/<int:channelID>/messages/command/<str:command>/exec",
        views.CommandExecView.as_view(),
        name="messaging-command-exec",
    ),
]
