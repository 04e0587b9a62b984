"""The profile page ``/console/profile/``: an Account issues, lists and revokes its own
Personal Access Tokens (kind personal, organization NULL).

The page belongs to no organization (any logged-in Account may open it, staff or not);
it only ever shows and changes the logged-in Account's own tokens: another Account's
token id is a 404, exactly like an unknown id.

Audit decision: the audit log is per organization and a personal token belongs to none,
so issuing and revoking one writes NO audit entry. The token row keeps the trail itself
(``created_at``, ``last_used_at``, ``revoked_at``; revoked tokens stay listed), and what
is done WITH the token is audited in each organization like any other action.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, URLPattern, path, resolve, reverse
from django.views import View

from apps.accounts.services import account_preferences_set
from apps.console.access import safe_console_next, token_issue_retry_after
from apps.console.paging import console_page
from apps.console.profile.forms import PersonalTokenIssueForm, PreferencesForm
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.organizations import services
from apps.organizations.models import AccessToken
from apps.organizations.selectors import (
    TOKEN_SORTS,
    TOKEN_STATES,
    staff_organizations,
    tokens_filtered,
)

#: Longest search text, in characters.
MAX_SEARCH_LENGTH = 100
#: The organizations listed on the page where the Account is a Member (a bound, not a rule).
MAX_MEMBERSHIPS_SHOWN = 100


class ProfileView(LoginRequiredMixin, View):
    def tokens(self, state: str, search: str) -> QuerySet[AccessToken]:
        """The logged-in Account's personal tokens (one query)."""
        queryset = AccessToken.objects.filter(
            account=self.request.user, kind=AccessToken.Kind.PERSONAL
        )
        return tokens_filtered(queryset, state=state, search=search)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(PersonalTokenIssueForm())

    def render_page(self, form: PersonalTokenIssueForm, status: int = 200) -> HttpResponse:
        state = self.request.GET.get("state", "active")
        state = state if state in TOKEN_STATES else "active"
        search = self.request.GET.get("q", "").strip()[:MAX_SEARCH_LENGTH]
        page = console_page(
            self.request,
            self.tokens(state, search),
            scope=f"profile-tokens:{self.request.user.pk}:{state}:{search}",
            sorts=TOKEN_SORTS,
            default_sort="newest",
        )
        # The organizations where a personal token acts, and as which Member (one query).
        memberships = list(
            Member.objects.filter(account=self.request.user)
            .select_related("organization")
            .order_by("organization__name")[:MAX_MEMBERSHIPS_SHOWN]
        )
        return render(
            self.request,
            "console/profile/profile.html",
            {
                "page": page,
                "state": state,
                "search": search,
                "form": form,
                "memberships": memberships,
                "max_search_length": MAX_SEARCH_LENGTH,
                "preferences_form": PreferencesForm(
                    initial={
                        "theme": self.request.user.theme,
                        "keyboard_shortcuts": "on"
                        if self.request.user.keyboard_shortcuts
                        else "off",
                    }
                ),
                # The account's sidebar (base.html): the organizations it may open.
                "account_nav": True,
                "console_organizations": list(
                    staff_organizations(account=self.request.user)[:MAX_MEMBERSHIPS_SHOWN]
                ),
            },
            status=status,
        )


class PersonalTokenIssueView(ProfileView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PersonalTokenIssueForm(request.POST)
        retry_after = token_issue_retry_after(request)
        if retry_after is not None:
            messages.error(request, f"Too many tokens issued: try again in {retry_after} s.")
            response = self.render_page(form, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if not form.is_valid():
            messages.error(request, "No token was issued: see the errors under the form.")
            return self.render_page(form, status=400)
        try:
            issued = services.personal_token_issue(
                account=request.user, name=form.cleaned_data["name"]
            )
        except DomainError as exc:
            form.add_error("name", exc.message)
            messages.error(request, f"No token was issued: {exc.message}")
            return self.render_page(form, status=400)
        # Not a redirect: the raw token exists only in this response (never in the
        # session or the database), so it is shown exactly once.
        response = render(
            request, "console/profile/token_issued.html", {"token": issued.token, "raw": issued.raw}
        )
        response["Cache-Control"] = "no-store"
        return response


class PersonalTokenRevokeView(ProfileView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            token = services.personal_token_revoke(account=request.user, token_id=pk)
        except DomainError as exc:
            if exc.code == "token_not_found":
                raise Http404(exc.message) from exc
            messages.error(request, exc.message)
            return redirect("console:profile")
        messages.success(
            request,
            f"Revoked the token “{token.name or token.prefix}” ({token.prefix}…): "
            "requests with it are refused from now on.",
        )
        return redirect("console:profile")


def _back_to(request: HttpRequest) -> str:
    """Where the preferences form sends the browser back: its ``next`` field if that is
    a console path of this site, else the profile page. A page rendered in answer to a
    POST (a form shown again with its errors) has a POST-only path, which a redirect
    would GET (405): then the nearest page above it that answers GET."""
    fallback = reverse("console:profile")
    target = safe_console_next(request, request.POST.get("next"), fallback)
    page = urlsplit(target).path
    while not _answers_get(page):
        page = page.rstrip("/").rsplit("/", 1)[0] + "/"
        if page.count("/") <= 2:  # never up to /console/ itself: the profile page then
            return fallback
        target = page
    return target


def _answers_get(path: str) -> bool:
    """Whether the console page at ``path`` answers GET (a class-based view with a
    ``get``; the console has no function views that refuse GET)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None)
    return view_class is None or (
        "get" in view_class.http_method_names and hasattr(view_class, "get")
    )


class PreferencesView(LoginRequiredMixin, View):
    """The account's console preferences (theme, single-key shortcuts): from the
    profile page and from the top bar's theme toggle on every page. Not audited: see
    the module's docstring (a preference belongs to no organization)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PreferencesForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Preferences not saved: unknown value.")
            return redirect(_back_to(request))
        account_preferences_set(
            account=request.user,
            theme=form.cleaned_data["theme"] or None,
            keyboard_shortcuts=form.cleaned_data["keyboard_shortcuts"],
        )
        if "keyboard_shortcuts" in request.POST:  # the profile page's form, not the toggle
            messages.success(request, "Preferences saved.")
        return redirect(_back_to(request))


#: Mounted at /console/profile/ (before the organization pages in apps/console/urls.py).
urlpatterns: list[URLPattern] = [
    path("", ProfileView.as_view(), name="profile"),
    path("preferences/", PreferencesView.as_view(), name="preferences"),
    path("tokens/issue/", PersonalTokenIssueView.as_view(), name="personal_token_issue"),
    path(
        "tokens/<int:pk>/revoke/", PersonalTokenRevokeView.as_view(), name="personal_token_revoke"
    ),
]
