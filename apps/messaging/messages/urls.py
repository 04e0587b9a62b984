"""Messaging API: messages (docs/api/messaging-messages.md), and the channel's attach
route (a message with a file). Paths as the document writes them; the commands area owns
``messages/command/{command}/exec``."""

from django.urls import path

from apps.messaging.messages import views

_MESSAGE = "channels/<int:channelID>/messages/<int:messageID>"

urlpatterns = [
    path(
        "channels/<int:channelID>/messages/",
        views.MessagesView.as_view(),
        name="messaging-messages",
    ),
    path(
        "channels/<int:channelID>/messages/mark-as-read",
        views.MarkAsReadView.as_view(),
        name="messaging-messages-mark-as-read",
    ),
    path(_MESSAGE, views.MessageView.as_view(), name="messaging-message"),
    path(f"{_MESSAGE}/replies", views.RepliesView.as_view(), name="messaging-message-replies"),
    path(f"{_MESSAGE}/pin", views.PinView.as_view(), name="messaging-message-pin"),
    path(f"{_MESSAGE}/bookmark", views.BookmarkView.as_view(), name="messaging-message-bookmark"),
    path(
        f"{_MESSAGE}/reaction/<str:reaction>",
        views.ReactionView.as_view(),
        name="messaging-message-reaction",
    ),
    path(
        "channels/<int:channelID>/attach",
        views.AttachView.as_view(),
        name="messaging-channel-attach",
    ),
]
