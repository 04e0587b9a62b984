"""Messaging API: permissions (docs/api/messaging-permissions.md). Parse -> selector or
service -> render; every decision is :func:`apps.permissions.services.can`'s."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.members.models import Role
from apps.messaging.base import ErrorEnvelope, MessagingAPIView, SuccessEnvelope
from apps.messaging.permissions.serializers import (
    EffectiveEnvelope,
    EffectiveQueryInput,
    OperationsEnvelope,
    RoleRulesEnvelope,
    RulesSetInput,
    render_rules,
)
from apps.permissions import selectors, services
from apps.permissions.registry import MESSAGING, operations_of

TAGS = ["messaging"]
ROLE_ID = OpenApiParameter(
    "roleID",
    str,
    OpenApiParameter.PATH,
    description="The role's numeric id, or its v2 roleId (name, at most 64 characters); "
    "a numeric id wins over a role named with the same digits.",
)
_ERRORS = {401: ErrorEnvelope, 403: ErrorEnvelope, 404: ErrorEnvelope}


class _PermissionsAPIView(MessagingAPIView):
    """A permissions route."""


class PermissionsView(_PermissionsAPIView):
    """GET /permissions/: every operation the product checks."""

    @extend_schema(
        operation_id="messaging_permissions_list",
        summary="Retrieve defined permissions",
        responses={200: OperationsEnvelope, 401: ErrorEnvelope, 403: ErrorEnvelope},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return self.respond(
            [
                {"resource": op.resource, "operation": op.operation, "description": op.description}
                for op in operations_of()
            ]
        )


class EffectiveView(_PermissionsAPIView):
    """GET /permissions/effective: the caller's allow/deny for every operation."""

    @extend_schema(
        operation_id="messaging_permissions_effective",
        summary="Effective rules for current user",
        parameters=[EffectiveQueryInput],
        responses={200: EffectiveEnvelope, 400: ErrorEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        data = self.validate(EffectiveQueryInput)
        rules = selectors.effective_rules(member=self.member, resource=data.get("resource") or None)
        return self.respond(rules)


class RoleRulesView(_PermissionsAPIView):
    """GET, PATCH, DELETE /permissions/{roleID}/rules: a role's rules (``grant`` needed)."""

    def _role(self, role_ref: str) -> Role:
        """The caller's organization's role by numeric id or v2 roleId (404 otherwise),
        once the caller may ``grant`` (403 first: no role's existence is told)."""
        services.check(self.member, "grant", MESSAGING)
        return selectors.role_get(organization=self.organization, role_ref=role_ref)

    @extend_schema(
        operation_id="messaging_permissions_role_rules",
        summary="Retrieve role permissions",
        parameters=[ROLE_ID],
        responses={200: RoleRulesEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def get(self, request: Request, roleID: str) -> Response:
        role = self._role(roleID)
        return self.respond(render_rules(list(selectors.role_rules(role=role))))

    @extend_schema(
        operation_id="messaging_permissions_role_rules_set",
        summary="Update permission settings",
        parameters=[ROLE_ID],
        request=RulesSetInput,
        responses={
            200: RoleRulesEnvelope,
            400: ErrorEnvelope,
            409: ErrorEnvelope,
            **_ERRORS,
        },
        tags=TAGS,
    )
    def patch(self, request: Request, roleID: str) -> Response:
        role = self._role(roleID)
        data = self.validate(RulesSetInput)
        rules = services.role_rules_set(actor=self.actor, role=role, rules=data["rules"])
        return self.respond(render_rules(rules))

    @extend_schema(
        operation_id="messaging_permissions_role_rules_reset",
        summary="Remove all defined role permissions",
        parameters=[ROLE_ID],
        responses={200: SuccessEnvelope, **_ERRORS},
        tags=TAGS,
    )
    def delete(self, request: Request, roleID: str) -> Response:
        role = self._role(roleID)
        services.role_rules_reset(actor=self.actor, role=role)
        return self.acknowledge()
