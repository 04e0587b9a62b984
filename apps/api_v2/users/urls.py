"""/api/v2/users... and /api/v2/roles (see docs/api/users.md)."""

from django.urls import path

from apps.api_v2.users import views

urlpatterns = [
    path("users", views.UsersView.as_view(), name="v2-users"),
    path("users/ban", views.UserBanView.as_view(), name="v2-users-ban"),
    path("users/unban", views.UserUnbanView.as_view(), name="v2-users-unban"),
    # users/<userId>/flags (POST report, DELETE clear): apps/api_v2/filter_records/urls.py
    path("roles", views.RolesView.as_view(), name="v2-roles"),
]
