"""Logging in and out, changing one's password, and choosing an organization."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from apps.organizations.selectors import staff_organizations


class LoginView(auth_views.LoginView):
    """Throttled by django-axes (settings AXES_*): after too many failures for an
    account from an address, further attempts are refused for a while."""

    template_name = "console/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("console:login")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "console/password_change.html"
    success_url = reverse_lazy("console:password_changed")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "console/password_changed.html"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The organizations this account works for; straight to the only one."""
    organizations = list(staff_organizations(account=request.user)[:200])
    if len(organizations) == 1:
        return redirect("console:dashboard", org=organizations[0].slug)
    return render(request, "console/home.html", {"organizations": organizations})


def locked_out(
    request: HttpRequest, credentials: dict | None = None, *args, **kwargs
) -> HttpResponse:  # type: ignore[no-untyped-def]
    """What django-axes answers after too many failed logins."""
    response = render(request, "console/locked_out.html", status=429)
    response["Retry-After"] = str(int(settings.AXES_COOLOFF_TIME * 3600))
    return response
