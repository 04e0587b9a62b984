"""Messaging API: search."""

from django.urls import path

from apps.messaging.search import views

urlpatterns = [
    path("search/messages", views.SearchMessagesView.as_view(), name="messaging-search-messages"),
    path("search/threads", views.SearchThreadsView.as_view(), name="messaging-search-threads"),
]
