"""The moderation console under /console/ (templates in templates/console/)."""

from django.urls import include, path

from apps.console.views import (
    audit,
    auth,
    channels,
    dashboard,
    events,
    filters,
    messages,
    org_admin,
    profile,
    review,
    users,
)

app_name = "console"

org_pages = [
    *dashboard.urlpatterns,
    *review.urlpatterns,
    *channels.urlpatterns,
    *users.urlpatterns,
    *messages.urlpatterns,
    *filters.urlpatterns,
    *audit.urlpatterns,
    *org_admin.urlpatterns,
    *events.urlpatterns,
]

urlpatterns = [
    path("", auth.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth.PasswordChangeDoneView.as_view(), name="password_changed"),
    # Before the organization pages: "profile" is not an organization's slug here.
    path("profile/", include(profile.urlpatterns)),
    path("<slug:org>/", include(org_pages)),
]
