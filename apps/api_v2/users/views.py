"""Users and Roles API v2 (docs/api/users.md): parse -> selector/service -> render."""

from __future__ import annotations

import hashlib

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api_v2.base import AdminAPIView
from apps.api_v2.users.serializers import (
    RoleListEnvelope,
    RoleOutput,
    RoleQueryInput,
    RoleUpsertEnvelope,
    RoleUpsertInput,
    UserBanInput,
    UserEnvelope,
    UserIdInput,
    UserListEnvelope,
    UserOutput,
    UserQueryInput,
    UserUpdateInput,
    render_user,
)
from apps.core.pagination import keyset_page
from apps.core.schema import ErrorOutput
from apps.members import selectors, services

USERS = ["users"]
ROLES = ["roles"]
_ERRORS = {400: ErrorOutput, 401: ErrorOutput, 404: ErrorOutput}


def _digest(value: str) -> str:
    """Keeps page tokens short whatever the filter's length."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class _UserView(AdminAPIView):
    def _render(self, user_id: str) -> dict:
        """The user as it now is (with flagCount): one query."""
        return render_user(
            selectors.member_get_detailed(organization=self.organization, user_id=user_id)
        )


class UsersView(_UserView):
    """GET: query users; PUT: update a user."""

    @extend_schema(
        operation_id="v2_users_query",
        summary="Query for users",
        parameters=[UserQueryInput],
        responses={200: UserListEnvelope, 400: ErrorOutput, 401: ErrorOutput},
        tags=USERS,
    )
    def get(self, request: Request) -> Response:
        data = self.validate(UserQueryInput)
        search = data.get("search") or ""
        scope = f"v2.users:{self.organization.pk}:{data['filter']}:{_digest(search)}"
        page = keyset_page(
            selectors.member_list(
                organization=self.organization,
                filters={"search": search, "filter": data["filter"]},
            ),
            scope=scope,
            limit=data["limit"],
            token=data.get("pageToken") or None,
            token_field="pageToken",
        )
        return Response({"users": UserOutput(page.items, many=True).data, "paging": page.paging()})

    @extend_schema(
        operation_id="v2_users_update",
        summary="Update a user's displayName, roles and metadata",
        request=UserUpdateInput,
        responses={200: UserEnvelope, **_ERRORS},
        tags=USERS,
    )
    def put(self, request: Request) -> Response:
        data = self.validate(UserUpdateInput)
        member = selectors.member_get(organization=self.organization, user_id=data["userId"])
        services.member_update(
            actor=self.actor,
            member=member,
            display_name=data.get("displayName"),
            roles=data.get("roles"),
            metadata=data.get("metadata"),
        )
        return Response(self._render(data["userId"]))


class UserBanView(_UserView):
    @extend_schema(
        operation_id="v2_users_ban",
        summary="Globally ban a user",
        description="Optional reason (audit log) and banPeriod (extension) in ms: absent or "
        "-1 bans until unbanned, > 0 for that long (an expired ban ends by itself); 0 and "
        "other negatives are 400.",
        request=UserBanInput,
        responses={200: UserEnvelope, **_ERRORS},
        tags=USERS,
    )
    def post(self, request: Request) -> Response:
        data = self.validate(UserBanInput)
        member = selectors.member_get(organization=self.organization, user_id=data["userId"])
        services.member_ban(
            actor=self.actor,
            member=member,
            reason=data["reason"],
            ban_period=data["banPeriod"],
        )
        return Response(self._render(data["userId"]))


class UserUnbanView(_UserView):
    @extend_schema(
        operation_id="v2_users_unban",
        summary="Globally unban a user",
        request=UserIdInput,
        responses={200: UserEnvelope, **_ERRORS},
        tags=USERS,
    )
    def post(self, request: Request) -> Response:
        data = self.validate(UserIdInput)
        member = selectors.member_get(organization=self.organization, user_id=data["userId"])
        services.member_unban(actor=self.actor, member=member, reason=data["reason"])
        return Response(self._render(data["userId"]))


class UserFlagsView(_UserView):
    @extend_schema(
        operation_id="v2_users_flags_clear",
        summary="Clear the flags (open reports) on a user",
        parameters=[OpenApiParameter("userId", str, OpenApiParameter.PATH, description="userId")],
        request=None,
        responses={200: UserEnvelope, 401: ErrorOutput, 404: ErrorOutput},
        tags=USERS,
    )
    def delete(self, request: Request, userId: str) -> Response:
        member = selectors.member_get(organization=self.organization, user_id=userId)
        services.member_flags_clear(actor=self.actor, member=member)
        return Response(self._render(userId))


class RolesView(AdminAPIView):
    """GET: query roles; PUT: add roles (existing ones get the new permissions)."""

    @extend_schema(
        operation_id="v2_roles_query",
        summary="Query for roles",
        parameters=[RoleQueryInput],
        responses={200: RoleListEnvelope, 400: ErrorOutput, 401: ErrorOutput},
        tags=ROLES,
    )
    def get(self, request: Request) -> Response:
        data = self.validate(RoleQueryInput)
        text = data.get("filter") or ""
        page = keyset_page(
            selectors.role_list(organization=self.organization, filters={"filter": text}),
            scope=f"v2.roles:{self.organization.pk}:{_digest(text)}",
            limit=data["limit"],
            token=data.get("pageToken") or None,
            token_field="pageToken",
        )
        return Response({"roles": RoleOutput(page.items, many=True).data, "paging": page.paging()})

    @extend_schema(
        operation_id="v2_roles_add",
        summary="Add roles (upsert: existing roles get the given permissions)",
        request=RoleUpsertInput,
        responses={200: RoleUpsertEnvelope, 400: ErrorOutput, 401: ErrorOutput},
        tags=ROLES,
    )
    def put(self, request: Request) -> Response:
        data = self.validate(RoleUpsertInput)
        roles = services.roles_upsert(
            organization=self.organization,
            actor=self.actor,
            role_ids=data["publicIds"],
            permissions=data.get("permissions") or [],
        )
        return Response({"roles": RoleOutput(roles, many=True).data})
