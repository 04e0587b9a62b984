"""The one permission check of the product, and the writes on roles' rules.

:func:`can` decides whether a member may do an operation on a resource:

1. the rules of the member's roles (its v2 ``roles``) that match the operation and the
   resource (the exact ``messaging:channel:42``, the wildcard ``messaging:channel:*``,
   or the type itself): any ``deny`` wins; else any ``allow`` allows. A v2 role's
   ``permissions`` list counts as allow rules on every resource for each operation it
   names, so a role made through v2 means the same here;
2. else the defaults of the registry (:mod:`apps.permissions.registry`): the member's
   organization role, and for a channel's owner the operations marked ``owner``.

The rules of a member's roles are loaded once per member object (one query, none for a
member without roles).
"""

from __future__ import annotations

from typing import Any

from apps.channels.models import Channel, Membership
from apps.core.errors import DomainError
from apps.members.models import Member, Role
from apps.permissions.models import Rule
from apps.permissions.registry import CHANNEL, MESSAGING, operation_get

_CACHE_ATTR = "_permission_rules"


def channel_resource(channel: Channel | int | str) -> str:
    pk = channel.pk if isinstance(channel, Channel) else channel
    return f"{CHANNEL}:{pk}"


def _rules_of(member: Member) -> list[tuple[str, str, str]]:
    """(resource, operation, access) of the member's roles, cached on the member."""
    cached = getattr(member, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    rules: list[tuple[str, str, str]] = []
    role_ids = [r for r in (member.roles or []) if isinstance(r, str)]
    if role_ids:
        roles = Role.objects.filter(organization_id=member.organization_id, role_id__in=role_ids)
        for role in roles.prefetch_related("rules"):
            for permission in role.permissions or []:
                if isinstance(permission, str):
                    rules.append(("*", permission, Rule.Access.ALLOW))
            rules.extend((r.resource, r.operation, r.access) for r in role.rules.all())
    setattr(member, _CACHE_ATTR, rules)
    return rules


def forget_rules(member: Member) -> None:
    """Drop the member's cached rules (after they changed in this request)."""
    if hasattr(member, _CACHE_ATTR):
        delattr(member, _CACHE_ATTR)


def resource_matches(pattern: str, resource: str) -> bool:
    """Whether a rule's resource ``pattern`` covers ``resource``: equal, ``*`` (any), the
    type (``messaging:channel``) or a wildcard (``messaging:channel:*``) of it."""
    if pattern in ("*", resource):
        return True
    if pattern.endswith(":*"):
        return resource.startswith(pattern[:-1])
    return resource.startswith(pattern + ":")


def rule_access(member: Member, operation: str, resource: str) -> str | None:
    """``allow``/``deny`` as the member's roles' rules decide, or None (inherit)."""
    decided: str | None = None
    for pattern, op, access in _rules_of(member):
        if op != operation or not resource_matches(pattern, resource):
            continue
        if access == Rule.Access.DENY:
            return Rule.Access.DENY
        decided = Rule.Access.ALLOW
    return decided


def _is_owner(member: Member, channel: Channel | None, resource: str) -> bool:
    """Whether ``member`` owns the channel. A list that renders many channels sets
    ``viewer_is_owner`` on each (loaded with the page), so no query is made per row."""
    known = getattr(channel, "viewer_is_owner", None)
    if known is not None:
        return bool(known)
    if channel is None:
        pk = resource.rsplit(":", 1)[-1]
        if not pk.isdigit():
            return False
        channel_pk: Any = int(pk)
    else:
        channel_pk = channel.pk
    return Membership.objects.filter(
        channel_id=channel_pk, member=member, is_owner=True, joined_at__isnull=False
    ).exists()


def can(member: Member, operation: str, resource: str | Channel = MESSAGING) -> bool:
    """Whether ``member`` may do ``operation`` on ``resource`` (``messaging``, a channel,
    or a resource name such as ``messaging:channel:42``). See the module docstring."""
    channel = resource if isinstance(resource, Channel) else None
    name = channel_resource(channel) if channel is not None else resource
    registered = operation_get(operation, name)
    access = rule_access(member, operation, name)
    if access is not None:
        return access == Rule.Access.ALLOW
    if member.org_role in registered.roles:
        return True
    return registered.owner and _is_owner(member, channel, name)


def check(member: Member, operation: str, resource: str | Channel = MESSAGING) -> None:
    """403 ``forbidden`` unless :func:`can`."""
    if not can(member, operation, resource):
        raise DomainError("forbidden", f"You are not allowed to {operation} here.")
