"""/api/v2/users... and /api/v2/roles (see docs/api/users.md)."""

from django.urls import path

from . import views

urlpatterns = [
    path("users", views.UsersView.as_view(), name="v2-users"),
    path("users/ban", views.UserBanView.as_view(), name="v2-users-ban"),
    path("users/unban", views.UserUnbanView.as_view(), name="v2-users-unban"),
    path("users/<path:userId>/flags", views.UserFlagsView.as_view(), name="v2-users-flags"),
    path("roles", views.RolesView.as_view(), name="v2-roles"),
]
