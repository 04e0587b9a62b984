"""Reads of the permission model, scoped to an organization: roles by id or name, a
role's rules, a member's effective rules (docs/api/messaging-permissions.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from apps.channels.models import Channel
from apps.channels.selectors.conversations import conversation_get
from apps.core.errors import DomainError
from apps.members.models import Member, Role
from apps.organizations.models import Organization
from apps.permissions.models import Rule
from apps.permissions.registry import (
    ANY_CHANNEL,
    MESSAGING,
    ORG_ROLES,
    Operation,
    operations_of,
    resource_parse,
)
from apps.permissions.services import can, role_probes, rule_access

#: The longest v2 ``roleId`` (apps.api_v2.users.serializers.MAX_ROLE_ID_LENGTH).
MAX_ROLE_REF_LENGTH = 64


def role_get(*, organization: Organization, role_ref: str) -> Role:
    """The organization's role whose numeric id or v2 ``roleId`` is ``role_ref`` (a
    numeric id wins over a role named with the same digits), or 404 ``role_not_found``
    (field ``roleID``); another organization's role is missing. One query."""
    if not role_ref or len(role_ref) > MAX_ROLE_REF_LENGTH:
        raise DomainError("role_not_found", field="roleID")
    match = Q(role_id=role_ref)
    pk = int(role_ref) if role_ref.isascii() and role_ref.isdigit() else None
    if pk is not None and 1 <= pk < 2**63:
        match |= Q(pk=pk)
    else:
        pk = None
    roles = list(
        Role.objects.filter(match, organization=organization).select_related("organization")[:2]
    )
    if not roles:
        raise DomainError("role_not_found", f"No role {role_ref!r}.", field="roleID")
    by_pk = [r for r in roles if r.pk == pk]
    return by_pk[0] if by_pk else roles[0]


def role_rules(*, role: Role) -> QuerySet[Rule]:
    """The role's rules, by resource then operation."""
    return Rule.objects.filter(role=role).order_by("resource", "operation", "pk")


def _visible_channel(*, member: Member, channel_pk: int) -> Channel:
    """The channel as the member may see it (the messaging API's rule:
    :func:`apps.channels.selectors.conversations.conversation_get`, which also sets
    ``viewer_is_owner`` for :func:`can`), else 404 ``channel_not_found`` on ``resource``."""
    try:
        return conversation_get(member=member, channel_pk=channel_pk)
    except DomainError as missing:
        raise DomainError("channel_not_found", missing.message, field="resource") from None


def effective_rules(*, member: Member, resource: str | None = None) -> list[dict[str, str]]:
    """``[{resource, operation, access}]`` for every registered operation as :func:`can`
    decides it for ``member``. ``resource`` narrows it: ``messaging`` (its operations),
    ``messaging:channel`` or ``messaging:channel:*`` (channel operations on any channel,
    as a non-owner), or ``messaging:channel:<id>`` (that channel, owner defaults
    included; 404 unless the member may see it). Without ``resource``: every operation,
    channel operations on ``messaging:channel:*``. One query (the member's rules), and
    the channel's own for a concrete one."""
    targets: list[tuple[Operation, str, str | Channel]] = []
    if resource is None:
        for op in operations_of():
            name = MESSAGING if op.resource == MESSAGING else ANY_CHANNEL
            targets.append((op, name, name))
    else:
        parsed = resource_parse(resource)
        if parsed is None:
            raise DomainError(
                "invalid_parameter",
                "resource: use messaging, messaging:channel, messaging:channel:* or "
                "messaging:channel:<channelID>.",
                field="resource",
            )
        subject: str | Channel = parsed.name
        if parsed.wildcard:
            subject = ANY_CHANNEL
        elif parsed.channel_pk is not None:
            subject = _visible_channel(member=member, channel_pk=parsed.channel_pk)
        targets = [(op, parsed.name, subject) for op in operations_of(parsed.type)]
    return [
        {
            "resource": name,
            "operation": op.operation,
            "access": (
                Rule.Access.ALLOW if can(member, op.operation, subject) else Rule.Access.DENY
            ).value,
        }
        for op, name, subject in targets
    ]


def organization_roles(*, organization: Organization) -> QuerySet[Role]:
    """The organization's roles by name, each with ``rule_count`` (its rules)."""
    return (
        Role.objects.filter(organization=organization)
        .annotate(rule_count=Count("rules"))
        .order_by("role_id", "pk")
    )


@dataclass(frozen=True)
class RolePermission:
    """One registered operation as one role decides it (the console's roles page)."""

    operation: Operation
    #: ``messaging`` for the organization's operations, ``messaging:channel:*`` (any
    #: channel, as a non-owner) for the channel ones: as ``GET /permissions/effective``.
    resource: str
    #: ``allow``/``deny`` as the role's rules and v2 permissions decide on that resource
    #: (:func:`apps.permissions.services.rule_access`), or None: the defaults decide.
    decided: str | None
    #: Organization role -> whether :func:`can` allows a member holding this role alone.
    allowed: dict[str, bool]

    @property
    def changes(self) -> bool:
        """Whether the role changes the default of at least one organization role."""
        return any(self.allowed[r] != (r in self.operation.roles) for r in ORG_ROLES)


def roles_permissions(*, roles: list[Role]) -> dict[int, list[RolePermission]]:
    """For each role (by pk), every registered operation as :func:`can` decides it for a
    member holding that role alone, per organization role (the messaging API's own
    resolution: deny wins, v2 permissions allow, else the defaults), in registry order.
    One query for all the roles' rules."""
    probes = role_probes(roles)
    result: dict[int, list[RolePermission]] = {}
    for role in roles:
        members = probes[role.pk]
        any_member = members[ORG_ROLES[0]]
        rows = []
        for op in operations_of():
            name = MESSAGING if op.resource == MESSAGING else ANY_CHANNEL
            rows.append(
                RolePermission(
                    operation=op,
                    resource=name,
                    decided=rule_access(any_member, op.operation, name),
                    allowed={r: can(m, op.operation, name) for r, m in members.items()},
                )
            )
        result[role.pk] = rows
    return result
