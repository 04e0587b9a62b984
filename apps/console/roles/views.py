"""Console pages: the organization's roles (the messaging API's one permission model,
apps/permissions) with each role's effective permissions, and its rules.

Every staff role reads them; owners and admins change them (as on the org admin pages:
moderators get 403 on the writes, other organizations 404). The effective permissions
are :func:`apps.permissions.services.can` itself, asked for a member holding the role
alone with each organization role (apps.permissions.selectors.roles_permissions); the
writes are the messaging API's own services (``role_rules_set``, ``role_rules_reset``),
audited as ``role.rules.set`` / ``role.rules.reset`` with the console account as actor.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse

from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_get
from apps.console.access import ConsoleView, Role, has_role
from apps.console.paging import console_page
from apps.console.roles.forms import RoleRulesForm, matrix_resource
from apps.core.errors import DomainError
from apps.members.models import Role as MemberRole
from apps.permissions.models import Rule
from apps.permissions.registry import CHANNEL, ORG_ROLES, resource_parse
from apps.permissions.selectors import (
    RolePermission,
    organization_roles,
    role_rules,
    roles_permissions,
)
from apps.permissions.services import role_rules_reset, role_rules_set, rule_dict

SORTS = {"name": "role_id", "newest": "-created_at"}


class RolesView(ConsoleView):
    section = "roles"

    def roles(self) -> QuerySet[MemberRole]:
        return organization_roles(organization=self.organization)

    def role_or_404(self, role_pk: int) -> MemberRole:
        role = self.roles().filter(pk=role_pk).first()
        if role is None:
            raise Http404("No such role.")
        return role

    def detail_url(self, role: MemberRole) -> str:
        return reverse("console:role", args=[self.organization.slug, role.pk])

    @property
    def can_edit(self) -> bool:
        return has_role(self.role, Role.ADMIN)

    def render_detail(
        self, role: MemberRole, form: RoleRulesForm | None = None, status: int = 200
    ) -> HttpResponse:
        rules = list(role_rules(role=role))
        if form is None and self.can_edit:
            form = RoleRulesForm(rules=rules)
        selects = form.rows() if form is not None else {}
        permissions = roles_permissions(roles=[role])[role.pk]
        matrix = [
            (p, selects.get((p.resource, p.operation.operation)), _access_of(rules, p))
            for p in permissions
        ]
        others = [r for r in rules if r.resource != matrix_resource(_type_of(r.resource))]
        names = self._channel_names(others)
        return self.render(
            "console/roles/detail.html",
            status=status,
            role_obj=role,
            matrix=matrix,
            others=[
                (r, selects.get((r.resource, r.operation)), names.get(r.resource)) for r in others
            ],
            form=form,
            can_edit=self.can_edit,
            org_roles=ORG_ROLES,
            list_url=reverse("console:roles", args=[self.organization.slug]),
        )

    def _channel_names(self, rules: list[Rule]) -> dict[str, str]:
        """Resource -> the channelId of the channel it names (one query; a channel
        removed since keeps no name)."""
        pks = {}
        for rule in rules:
            parsed = resource_parse(rule.resource)
            if parsed is not None and parsed.channel_pk is not None:
                pks[parsed.channel_pk] = rule.resource
        if not pks:
            return {}
        rows = Channel.objects.filter(organization=self.organization, pk__in=list(pks))
        return {pks[pk]: channel_id for pk, channel_id in rows.values_list("pk", "channel_id")}


def _type_of(resource: str) -> str:
    parsed = resource_parse(resource)
    return parsed.type if parsed is not None else resource


def _access_of(rules: list[Rule], permission: RolePermission) -> str | None:
    """The access of the role's own rule on the permission's exact resource, if any."""
    key = (permission.resource, permission.operation.operation)
    return next((r.access for r in rules if (r.resource, r.operation) == key), None)


class RoleListView(RolesView):
    def get(self, request: HttpRequest) -> HttpResponse:
        page = console_page(
            request,
            self.roles(),
            scope=f"roles:{self.organization.pk}",
            sorts=SORTS,
            default_sort="name",
        )
        permissions = roles_permissions(roles=page.items)
        rows = [
            (
                role,
                [p for p in permissions[role.pk] if p.decided == Rule.Access.ALLOW],
                [p for p in permissions[role.pk] if p.decided == Rule.Access.DENY],
            )
            for role in page.items
        ]
        return self.render("console/roles/list.html", page=page, rows=rows, sorts=SORTS)


class RoleDetailView(RolesView):
    def get(self, request: HttpRequest, role_pk: int) -> HttpResponse:
        return self.render_detail(self.role_or_404(role_pk))


class RoleRulesView(RolesView):
    """Sets the rules the form changed (and the new channel rule), in one audited
    ``role.rules.set``; owners and admins only."""

    min_role = Role.ADMIN
    http_method_names = ["post"]

    def post(self, request: HttpRequest, role_pk: int) -> HttpResponse:
        role = self.role_or_404(role_pk)
        form = RoleRulesForm(request.POST, rules=list(role_rules(role=role)))
        if not form.is_valid():
            messages.error(request, "Nothing was changed: see the errors in the form.")
            return self.render_detail(role, form, status=400)
        changes = form.changes()
        channel_id = form.cleaned_data["new_channel"]
        if channel_id:
            try:
                channel = channel_get(organization=self.organization, channel_id=channel_id)
            except DomainError as exc:
                form.add_error("new_channel", exc.message)
                messages.error(request, f"Nothing was changed: {exc.message}")
                return self.render_detail(role, form, status=400)
            changes.append(
                rule_dict(
                    f"{CHANNEL}:{channel.pk}",
                    form.cleaned_data["new_operation"],
                    form.cleaned_data["new_access"],
                )
            )
        if not changes:
            messages.info(request, "Nothing to save: no rule was changed.")
            return redirect(self.detail_url(role))
        try:
            role_rules_set(actor=self.actor, role=role, rules=changes)
        except DomainError as exc:
            form.add_error(None, exc.message)
            messages.error(request, f"Nothing was changed: {exc.message}")
            return self.render_detail(role, form, status=400)
        count = len(changes)
        messages.success(
            request, f"Saved {count} rule change{'s' if count != 1 else ''} of role {role.role_id}."
        )
        return redirect(self.detail_url(role))


class RoleResetView(RolesView):
    """Removes every rule of the role (its v2 permissions stay); owners and admins only.
    The button carries the role's name (``confirm``) and asks first: a POST without it
    changes nothing."""

    min_role = Role.ADMIN
    http_method_names = ["post"]

    def post(self, request: HttpRequest, role_pk: int) -> HttpResponse:
        role = self.role_or_404(role_pk)
        if request.POST.get("confirm") != role.role_id:  # the button's own field
            messages.error(request, "Nothing was removed: use the page's Remove button.")
            return self.render_detail(role, status=400)
        removed = role_rules_reset(actor=self.actor, role=role)
        messages.success(
            request,
            f"Removed {removed} rule{'s' if removed != 1 else ''} of role {role.role_id}: "
            "the defaults (and its v2 permissions) decide again.",
        )
        return redirect(self.detail_url(role))


urlpatterns: list[URLPattern] = [
    path("roles/", RoleListView.as_view(), name="roles"),
    path("roles/<int:role_pk>/", RoleDetailView.as_view(), name="role"),
    path("roles/<int:role_pk>/rules/", RoleRulesView.as_view(), name="role_rules"),
    path("roles/<int:role_pk>/reset/", RoleResetView.as_view(), name="role_reset"),
]
