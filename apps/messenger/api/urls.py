"""Chatroom service routes (/api/messenger/, ../shared/seeds/messenger-chatrooms.txt;
paths as issue 5 gives them)."""

from django.urls import path

from apps.messenger.api import views

urlpatterns = [
    path("chatroom", views.ChatroomOfEventView.as_view(), name="messenger-chatroom-of-event"),
    path("chatrooms", views.ChatroomsView.as_view(), name="messenger-chatrooms"),
    path(
        "organizations/<int:organizationID>/default-chatroom",
        views.DefaultChatroomView.as_view(),
        name="messenger-default-chatroom",
    ),
    path("chatrooms/<int:roomID>", views.ChatroomDetailView.as_view(), name="messenger-chatroom"),
    path(
        "chatrooms/<int:roomID>/avatar",
        views.ChatroomAvatarView.as_view(),
        name="messenger-chatroom-avatar",
    ),
    path(
        "chatrooms/<int:roomID>/messages",
        views.ChatroomMessagesView.as_view(),
        name="messenger-chatroom-messages",
    ),
]
