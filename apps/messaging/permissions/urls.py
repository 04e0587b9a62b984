"""Messaging API: permissions (docs/api/messaging-permissions.md). ``{roleID}`` is a
numeric id or a v2 roleId, which may hold a ``/`` (URL-encoded), hence ``path``."""

from django.urls import path

from apps.messaging.permissions import views

urlpatterns = [
    path("permissions/", views.PermissionsView.as_view(), name="messaging-permissions"),
    path(
        "permissions/effective",
        views.EffectiveView.as_view(),
        name="messaging-permissions-effective",
    ),
    path(
        "permissions/<path:roleID>/rules",
        views.RoleRulesView.as_view(),
        name="messaging-permissions-role-rules",
    ),
]
