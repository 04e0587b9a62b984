"""Rocket.Chat's REST API (/api/v1/, ../shared/seeds/rocketchat-integrations-create.txt):
the paths its clients call, dots included."""

from django.urls import URLPattern, path

from apps.rocketchat import views

urlpatterns: list[URLPattern] = [
    path("login", views.LoginView.as_view(), name="rocketchat-login"),
    path("me", views.MeView.as_view(), name="rocketchat-me"),
    path(
        "integrations.create",
        views.IntegrationsCreateView.as_view(),
        name="rocketchat-integrations-create",
    ),
    path(
        "integrations.list",
        views.IntegrationsListView.as_view(),
        name="rocketchat-integrations-list",
    ),
    path(
        "integrations.get", views.IntegrationsGetView.as_view(), name="rocketchat-integrations-get"
    ),
    path(
        "integrations.update",
        views.IntegrationsUpdateView.as_view(),
        name="rocketchat-integrations-update",
    ),
    path(
        "integrations.remove",
        views.IntegrationsRemoveView.as_view(),
        name="rocketchat-integrations-remove",
    ),
    path(
        "integrations.history",
        views.IntegrationsHistoryView.as_view(),
        name="rocketchat-integrations-history",
    ),
    path(
        "integrations.clearHistory",
        views.IntegrationsClearHistoryView.as_view(),
        name="rocketchat-integrations-clear-history",
    ),
    path(
        "integrations.replayOutgoing",
        views.IntegrationsReplayOutgoingView.as_view(),
        name="rocketchat-integrations-replay-outgoing",
    ),
    path(
        "integrations.rotateSigningSecret",
        views.IntegrationsRotateSigningSecretView.as_view(),
        name="rocketchat-integrations-rotate-signing-secret",
    ),
]
