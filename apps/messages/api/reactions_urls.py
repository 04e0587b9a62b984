"""/api/v2/reactions... (see docs/api/reactions.md)."""

from django.urls import path

from apps.messages.api import reactions

urlpatterns = [
    path("reactions", reactions.ReactionsView.as_view(), name="v2-reactions"),
    path(
        "reactions/messages/most",
        reactions.MostReactedMessagesView.as_view(),
        name="v2-reactions-messages-most",
    ),
]
