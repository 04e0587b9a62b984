"""Console pages for owners and admins: the organization's staff, its admin access
tokens and its settings (moderators get 403, other organizations 404).

Writes go through apps/organizations/services.py (the role rules and the audit entry
live there): only owners grant or remove the owner role, the last owner stays, a new
token is shown once and only its hash is stored.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse

from apps.console.access import ConsoleView, Role, token_issue_retry_after
from apps.console.org_admin.forms import (
    TOKEN_KINDS,
    SettingsForm,
    StaffAddForm,
    StaffRoleForm,
    TokenIssueForm,
    role_choices,
)
from apps.console.paging import console_page
from apps.core.errors import DomainError
from apps.organizations import services
from apps.organizations.models import AccessToken, StaffRole
from apps.organizations.selectors import TOKEN_SORTS, TOKEN_STATES, tokens_filtered

#: Longest search text, in characters.
MAX_SEARCH_LENGTH = 100
STAFF_SORTS = {"email": "email", "role": "role", "newest": "-created_at"}
#: Errors that mean "no such thing here": answered as a 404 like any unknown id.
NOT_HERE = ("staff_not_found", "token_not_found")


def _search(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:MAX_SEARCH_LENGTH]


class OrgAdminView(ConsoleView):
    min_role = Role.ADMIN

    def fail(self, exc: DomainError) -> None:
        if exc.code in NOT_HERE:
            raise Http404(exc.message)
        messages.error(self.request, exc.message)


# --- Staff ----------------------------------------------------------------------------


class StaffView(OrgAdminView):
    section = "staff"

    def staff(self, search: str = "") -> QuerySet[StaffRole]:
        """The organization's staff, with the account (one query, no N+1)."""
        queryset = (
            StaffRole.objects.filter(organization=self.organization)
            .select_related("account")
            .annotate(email=F("account__email"))
        )
        return queryset.filter(account__email__icontains=search) if search else queryset

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_list(StaffAddForm(is_owner=self.is_owner))

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    def render_list(self, add_form: StaffAddForm, status: int = 200) -> HttpResponse:
        search = _search(self.request)
        page = console_page(
            self.request,
            self.staff(search),
            scope=f"staff:{self.organization.pk}:{search}",
            sorts=STAFF_SORTS,
            default_sort="email",
        )
        return self.render(
            "console/org_admin/staff.html",
            status=status,
            page=page,
            search=search,
            add_form=add_form,
            role_choices=role_choices(is_owner=self.is_owner),
            max_search_length=MAX_SEARCH_LENGTH,
        )


class StaffAddView(StaffView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = StaffAddForm(request.POST, is_owner=self.is_owner)
        if not form.is_valid():
            messages.error(request, "Nobody was added: see the errors under the form.")
            return self.render_list(form, status=400)
        try:
            added = services.staff_member_add(
                organization=self.organization,
                actor=self.actor,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            messages.error(request, f"Nobody was added: {exc.message}")
            return self.render_list(form, status=400)
        account = added.staff.account
        messages.success(
            request, f"{account.email} is now {added.staff.role} of {self.organization.name}."
        )
        if not account.has_usable_password():
            created = "New account" if added.account_created else "The account"
            messages.warning(
                request,
                f"{created} {account.email} has no password yet: set one with "
                f"“manage.py changepassword {account.email}” before they can log in.",
            )
        return redirect("console:staff", self.organization.slug)


class StaffRoleView(StaffView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        form = StaffRoleForm(request.POST)
        if not form.is_valid():
            if not self.staff().filter(pk=pk).exists():
                raise Http404("No such staff member.")
            messages.error(request, "Choose one of the roles: owner, admin, moderator.")
            return redirect("console:staff", self.organization.slug)
        try:
            staff = services.staff_role_change(
                organization=self.organization,
                actor=self.actor,
                staff_id=pk,
                role=form.cleaned_data["role"],
            )
        except DomainError as exc:
            self.fail(exc)
        else:
            messages.success(request, f"{staff.account.email} is now {staff.role}.")
        return redirect("console:staff", self.organization.slug)


class StaffRemoveView(StaffView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            staff = services.staff_role_remove(
                organization=self.organization, actor=self.actor, staff_id=pk
            )
        except DomainError as exc:
            self.fail(exc)
        else:
            messages.success(
                request,
                f"{staff.account.email} was removed from the staff of {self.organization.name}.",
            )
            if staff.account_id == request.user.pk:
                return redirect("console:home")
        return redirect("console:staff", self.organization.slug)


# --- Access tokens ----------------------------------------------------------------------


def _token_kind(value: str | None) -> str:
    """``?kind=``: admin (Admin API tokens, the default) or api (API-TOKENs)."""
    return value if value in TOKEN_KINDS else AccessToken.Kind.ADMIN


class TokensView(OrgAdminView):
    section = "tokens"

    def tokens(self, state: str, search: str, kind: str) -> QuerySet[AccessToken]:
        """The organization's tokens of one kind with their issuer (one query)."""
        queryset = AccessToken.objects.filter(
            organization=self.organization, kind=kind
        ).select_related("account")
        return tokens_filtered(queryset, state=state, search=search)

    def get(self, request: HttpRequest) -> HttpResponse:
        kind = _token_kind(request.GET.get("kind"))
        return self.render_list(TokenIssueForm(initial={"kind": kind}), kind=kind)

    def render_list(self, form: TokenIssueForm, kind: str, status: int = 200) -> HttpResponse:
        state = self.request.GET.get("state", "active")
        state = state if state in TOKEN_STATES else "active"
        search = _search(self.request)
        page = console_page(
            self.request,
            self.tokens(state, search, kind),
            scope=f"tokens:{self.organization.pk}:{kind}:{state}:{search}",
            sorts=TOKEN_SORTS,
            default_sort="newest",
        )
        return self.render(
            "console/org_admin/tokens.html",
            status=status,
            page=page,
            state=state,
            search=search,
            form=form,
            kind=kind,
            token_kinds=TOKEN_KINDS,
            max_search_length=MAX_SEARCH_LENGTH,
        )


class TokenIssueView(TokensView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TokenIssueForm(request.POST)
        kind = _token_kind(request.POST.get("kind"))
        retry_after = token_issue_retry_after(request)
        if retry_after is not None:
            messages.error(request, f"Too many tokens issued: try again in {retry_after} s.")
            response = self.render_list(form, kind=kind, status=429)
            response["Retry-After"] = str(retry_after)
            return response
        if not form.is_valid():
            messages.error(request, "No token was issued: see the errors under the form.")
            return self.render_list(form, kind=kind, status=400)
        try:
            issued = services.organization_token_issue(
                organization=self.organization,
                actor=self.actor,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
            )
        except DomainError as exc:
            form.add_error("name", exc.message)
            messages.error(request, f"No token was issued: {exc.message}")
            return self.render_list(form, kind=kind, status=400)
        # Not a redirect: the raw token exists only in this response (never in the
        # session or the database), so it is shown exactly once.
        response = self.render(
            "console/org_admin/token_issued.html", token=issued.token, raw=issued.raw
        )
        response["Cache-Control"] = "no-store"
        return response


class TokenRevokeView(TokensView):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            token = services.organization_token_revoke(
                organization=self.organization, actor=self.actor, token_id=pk
            )
        except DomainError as exc:
            self.fail(exc)
            return redirect("console:tokens", self.organization.slug)
        messages.success(
            request,
            f"Revoked the token “{token.name or token.prefix}” ({token.prefix}…): "
            "requests with it are refused from now on.",
        )
        url = reverse("console:tokens", args=[self.organization.slug])
        if token.kind != AccessToken.Kind.ADMIN:
            url += f"?kind={token.kind}"
        return redirect(url)


# --- Settings ---------------------------------------------------------------------------


class SettingsView(OrgAdminView):
    section = "settings"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = SettingsForm(
            initial={
                "filter_policy": self.organization.filter_policy,
                "auto_hide_threshold": self.organization.auto_hide_threshold,
                "chatroom_deletion_grace_seconds": (
                    self.organization.chatroom_deletion_grace_seconds
                ),
                "event_chatroom_retention_days": self.organization.event_chatroom_retention_days,
            },
            search_language=self.organization.search_language,
        )
        return self.render("console/org_admin/settings.html", form=form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = SettingsForm(request.POST, search_language=self.organization.search_language)
        if form.is_valid():
            try:
                services.organization_settings_update(
                    organization=self.organization,
                    actor=self.actor,
                    filter_policy=form.cleaned_data["filter_policy"],
                    auto_hide_threshold=form.cleaned_data["auto_hide_threshold"],
                    chatroom_deletion_grace_seconds=form.cleaned_data[
                        "chatroom_deletion_grace_seconds"
                    ],
                    event_chatroom_retention_days=form.cleaned_data[
                        "event_chatroom_retention_days"
                    ],
                    search_language=form.cleaned_data["search_language"] or None,
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Saved the settings of {self.organization.name}.")
                return redirect("console:settings", self.organization.slug)
        messages.error(request, "The settings were not saved: see the errors below.")
        return self.render("console/org_admin/settings.html", form=form, status=400)


urlpatterns: list[URLPattern] = [
    path("staff/", StaffView.as_view(), name="staff"),
    path("staff/add/", StaffAddView.as_view(), name="staff_add"),
    path("staff/<int:pk>/role/", StaffRoleView.as_view(), name="staff_role"),
    path("staff/<int:pk>/remove/", StaffRemoveView.as_view(), name="staff_remove"),
    path("tokens/", TokensView.as_view(), name="tokens"),
    path("tokens/issue/", TokenIssueView.as_view(), name="token_issue"),
    path("tokens/<int:pk>/revoke/", TokenRevokeView.as_view(), name="token_revoke"),
    path("settings/", SettingsView.as_view(), name="settings"),
]
