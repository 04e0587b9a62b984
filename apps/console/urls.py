"""The moderation console under /console/ (templates in templates/console/)."""

from django.urls import include, path

from apps.console import undo
from apps.console.audit import views as audit
from apps.console.auth import views as auth
from apps.console.bulk import views as bulk
from apps.console.channels import views as channels
from apps.console.dashboard import views as dashboard
from apps.console.events import views as events
from apps.console.filters import views as filters
from apps.console.integrations import views as integrations
from apps.console.messages import views as messages
from apps.console.org_admin import views as org_admin
from apps.console.profile import views as profile
from apps.console.review import views as review
from apps.console.roles import views as roles
from apps.console.users import views as users

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
    *integrations.urlpatterns,
    *roles.urlpatterns,
    *bulk.urlpatterns,
    *undo.urlpatterns,
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
