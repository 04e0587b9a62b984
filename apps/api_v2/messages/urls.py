"""Message API v2 routes. Reactions live in ``reactions.py`` (another module) and are
included by the project's URL map, not here."""

from django.urls import path

from apps.api_v2.messages import views

urlpatterns: list = [
    path("messages", views.MessageQueryView.as_view(), name="v2-messages-query"),
    path("messages/images", views.ImageMessageCreateView.as_view(), name="v2-message-image-create"),
    path("messages/files", views.FileMessageCreateView.as_view(), name="v2-message-file-create"),
    path(
        "messages/<str:messageId>/images",
        views.ImageMessageFileView.as_view(),
        name="v2-message-image",
    ),
    path(
        "messages/<str:messageId>/files",
        views.FileMessageFileView.as_view(),
        name="v2-message-file",
    ),
    path("message", views.MessageCreateView.as_view(), name="v2-message-create"),
    path("message/<str:messageId>", views.MessageDetailView.as_view(), name="v2-message"),
]
