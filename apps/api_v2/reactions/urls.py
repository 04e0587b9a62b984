"""/api/v2/reactions... (see docs/api/reactions.md)."""

from django.urls import path

from apps.api_v2.reactions import views as reactions

urlpatterns = [
    path("reactions", reactions.ReactionsView.as_view(), name="v2-reactions"),
    path(
        "reactions/messages/most",
        reactions.MostReactedMessagesView.as_view(),
        name="v2-reactions-messages-most",
    ),
]
