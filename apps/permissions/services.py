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
member without roles): :func:`forget_rules` drops them after a change.

:func:`role_rules_set` and :func:`role_rules_reset` change a role's rules (the messaging
API's ``PATCH``/``DELETE /permissions/{roleID}/rules``); docs/api/messaging-permissions.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from django.db import transaction

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.models import Channel, Membership
from apps.core.errors import DomainError
from apps.members.models import Member, Role
from apps.permissions.models import Rule
from apps.permissions.registry import (
    BY_NAME,
    CHANNEL,
    MESSAGING,
    ORG_ROLES,
    operation_get,
    resource_parse,
)

_CACHE_ATTR = "_permission_rules"


class ChannelLike(Protocol):
    """A channel as :func:`can` reads it: a :class:`Channel`, or a light row a list read
    as values (apps.channels.selectors.conversations), with ``viewer_is_owner`` set."""

    @property
    def pk(self) -> int: ...


def channel_resource(channel: ChannelLike | int | str) -> str:
    pk = channel if isinstance(channel, int | str) else channel.pk
    return f"{CHANNEL}:{pk}"


def _rules_of(member: Member) -> list[tuple[str, str, str]]:
    """(resource, operation, access) of the member's roles, cached on the member object
    for its current ``roles`` (a changed or reloaded list is read again)."""
    cached = getattr(member, _CACHE_ATTR, None)
    if cached is not None and cached[0] == member.roles:
        return cached[1]
    role_ids = [r for r in (member.roles or []) if isinstance(r, str)]
    rules: list[tuple[str, str, str]] = []
    if role_ids:
        # One query: each role joined to its rules (a role without rules gives one row
        # of nulls); the v2 permissions come with every row of their role.
        rows = Role.objects.filter(
            organization_id=member.organization_id, role_id__in=role_ids
        ).values_list("pk", "permissions", "rules__resource", "rules__operation", "rules__access")
        rules = _rules_from_rows(rows)
    setattr(member, _CACHE_ATTR, (list(member.roles or []), rules))
    return rules


def _rules_from_rows(rows: Iterable[tuple[Any, ...]]) -> list[tuple[str, str, str]]:
    """(resource, operation, access) from rows of (role pk, v2 permissions, rule resource,
    rule operation, rule access): a v2 permission is an allow rule on every resource."""
    rules: list[tuple[str, str, str]] = []
    seen: set[int] = set()
    for pk, permissions, resource, operation, access in rows:
        if pk not in seen:
            seen.add(pk)
            rules.extend(
                ("*", p, Rule.Access.ALLOW) for p in permissions or [] if isinstance(p, str)
            )
        if resource is not None:
            rules.append((resource, operation, access))
    return rules


def role_probes(roles: Sequence[Role]) -> dict[int, dict[str, Member]]:
    """For each role (by pk) and each organization role, an unsaved member of the role's
    organization that holds that role alone: what :func:`can` and :func:`rule_access`
    answer for it is what the role means for a member with that organization role (the
    console's roles page shows it). The rules of every role are read in one query and
    shared by its probes, as :func:`can` would read them for such a member."""
    by_role: dict[int, list[tuple[Any, ...]]] = {role.pk: [] for role in roles}
    if by_role:
        rows = Role.objects.filter(pk__in=list(by_role)).values_list(
            "pk", "permissions", "rules__resource", "rules__operation", "rules__access"
        )
        for row in rows:
            by_role[row[0]].append(row)
    probes: dict[int, dict[str, Member]] = {}
    for role in roles:
        rules = _rules_from_rows(by_role[role.pk])
        probes[role.pk] = {}
        for org_role in ORG_ROLES:
            probe = Member(
                organization_id=role.organization_id, roles=[role.role_id], org_role=org_role
            )
            setattr(probe, _CACHE_ATTR, (list(probe.roles), rules))
            probes[role.pk][org_role] = probe
    return probes


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


def _is_owner(member: Member, channel: ChannelLike | None, resource: str) -> bool:
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


def can(member: Member, operation: str, resource: str | ChannelLike = MESSAGING) -> bool:
    """Whether ``member`` may do ``operation`` on ``resource`` (``messaging``, a channel,
    or a resource name such as ``messaging:channel:42``). See the module docstring.

    Called for every channel of a list several times, so the common case is cheap: a
    member whose roles have no rules decides from the registry without building the
    resource's name."""
    if not isinstance(resource, str):
        channel: ChannelLike | None = resource
        registered = BY_NAME[(CHANNEL, operation)]
    else:
        channel = None
        registered = operation_get(operation, resource)
    if _rules_of(member):
        name = channel_resource(channel) if channel is not None else resource
        access = rule_access(member, operation, name)
        if access is not None:
            return access == Rule.Access.ALLOW
    else:
        name = resource if channel is None else ""
    if member.org_role in registered.roles:
        return True
    if not registered.owner:
        return False
    return _is_owner(member, channel, name)  # the resource's name matters only without a channel


class _Answers(dict[str, bool]):
    """:func:`can` of one member on one channel, by operation, each asked once."""

    def __init__(self, member: Member, channel: ChannelLike) -> None:
        super().__init__()
        self.member, self.channel = member, channel

    def __missing__(self, operation: str) -> bool:
        answer = self[operation] = can(self.member, operation, self.channel)
        return answer


def channel_decider(member: Member) -> Callable[[ChannelLike], Mapping[str, bool]]:
    """:func:`can` for one member on many channels (a list renders 7 abilities a channel):
    ``decide(channel)[operation]`` is ``can(member, operation, channel)``. When only the
    operation and ownership can make a difference, that is when the member's roles have
    no rules, each operation is asked once for owned channels and once for the others; a
    member with rules is asked channel by channel (a rule may name one channel)."""
    if _rules_of(member):
        return lambda channel: _Answers(member, channel)
    shared: dict[bool, _Answers] = {}

    def decide(channel: ChannelLike) -> Mapping[str, bool]:
        owner = getattr(channel, "viewer_is_owner", None)
        if owner is None:  # ownership not loaded: can() reads it
            return _Answers(member, channel)
        answers = shared.get(owner)
        if answers is None:
            answers = shared[owner] = _Answers(member, channel)
        return answers

    return decide


def check(member: Member, operation: str, resource: str | ChannelLike = MESSAGING) -> None:
    """403 ``forbidden`` unless :func:`can`."""
    if not can(member, operation, resource):
        raise DomainError("forbidden", f"You are not allowed to {operation} here.")


# --- roles' rules --------------------------------------------------------------------

#: The most rules one ``PATCH`` may carry (a bigger list is 400).
MAX_RULES_PER_REQUEST = 500
#: The most rules one role may hold (a change past it is 409 ``too_many_records``).
MAX_RULES_PER_ROLE = 2000
#: ``access`` of a rule to set: ``inherit`` removes the rule (the decision falls through).
INHERIT = "inherit"
ACCESS_VALUES = (Rule.Access.ALLOW.value, Rule.Access.DENY.value, INHERIT)


def rule_dict(resource: str, operation: str, access: str) -> dict[str, str]:
    return {"resource": resource, "operation": operation, "access": access}


def _check_grant(actor: Actor, role: Role) -> None:
    """A member acting for itself needs ``grant`` on ``messaging`` of the role's
    organization; the console and the system are checked by their own doors."""
    member = actor.member
    if member is None:
        return
    if member.organization_id != role.organization_id:
        raise DomainError("role_not_found", field="roleID")
    check(member, "grant", MESSAGING)


def _parsed_rules(role: Role, rules: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """``{(resource, operation): access}`` in the order given (a later entry for the same
    resource and operation wins), or the first bad entry's 400 (404 for a channel that is
    not the organization's, like a missing one)."""
    if len(rules) > MAX_RULES_PER_REQUEST:
        raise DomainError(
            "invalid_parameter", f"rules: at most {MAX_RULES_PER_REQUEST} rules.", field="rules"
        )
    wanted: dict[tuple[str, str], str] = {}
    channels: dict[int, str] = {}  # channel pk -> the field that names it first
    for index, item in enumerate(rules):
        field = f"rules[{index}]"
        if not isinstance(item, Mapping):
            raise DomainError("invalid_parameter", f"{field}: must be an object.", field=field)
        resource, operation, access = (item.get(k) for k in ("resource", "operation", "access"))
        for key, value in (("resource", resource), ("operation", operation), ("access", access)):
            if not isinstance(value, str) or not value:
                raise DomainError(
                    "missing_parameter" if value in (None, "") else "invalid_parameter",
                    f"{field}.{key}: required, a string.",
                    field=f"{field}.{key}",
                )
        parsed = resource_parse(resource)
        if parsed is None:
            raise DomainError(
                "invalid_parameter",
                f"{field}.resource: not a resource: use messaging, messaging:channel, "
                "messaging:channel:* or messaging:channel:<channelID>.",
                field=f"{field}.resource",
            )
        if (parsed.type, operation) not in BY_NAME:
            raise DomainError(
                "invalid_parameter",
                f"{field}.operation: {operation[:64]!r} is not an operation on {parsed.type} "
                "(GET /api/messaging/permissions/ lists them).",
                field=f"{field}.operation",
            )
        if access not in ACCESS_VALUES:
            raise DomainError(
                "invalid_parameter",
                f"{field}.access: one of allow, deny, inherit.",
                field=f"{field}.access",
            )
        if parsed.channel_pk is not None and access != INHERIT:
            channels.setdefault(parsed.channel_pk, f"{field}.resource")
        key = (parsed.name, operation)
        wanted.pop(key, None)  # keep the order of the last mention
        wanted[key] = access
    if channels:
        found = set(
            Channel.objects.filter(
                organization_id=role.organization_id, pk__in=list(channels)
            ).values_list("pk", flat=True)
        )
        for pk, field in channels.items():
            if pk not in found:
                raise DomainError("channel_not_found", f"No channel {pk}.", field=field)
    return wanted


@transaction.atomic
def role_rules_set(*, actor: Actor, role: Role, rules: Sequence[Mapping[str, Any]]) -> list[Rule]:
    """Upsert the role's rules (PATCH): each ``{resource, operation, access}`` sets that
    rule to ``allow`` or ``deny``, or removes it with ``inherit``; rules not named stay.
    All or nothing; audited ``role.rules.set`` with the named rules before and after.
    Returns every rule of the role."""
    _check_grant(actor, role)
    wanted = _parsed_rules(role, rules)
    Role.objects.select_for_update().filter(pk=role.pk).first()  # one writer per role
    existing = {(r.resource, r.operation): r for r in Rule.objects.filter(role=role)}
    before = [rule_dict(*k, existing[k].access) for k in wanted if k in existing]
    to_delete = [existing[k].pk for k, a in wanted.items() if a == INHERIT and k in existing]
    to_create = [
        Rule(
            organization_id=role.organization_id, role=role, resource=k[0], operation=k[1], access=a
        )
        for k, a in wanted.items()
        if a != INHERIT and k not in existing
    ]
    to_update = []
    for key, access in wanted.items():
        row = existing.get(key)
        if row is not None and access != INHERIT and row.access != access:
            row.access = access
            to_update.append(row)
    total = len(existing) - len(to_delete) + len(to_create)
    if total > MAX_RULES_PER_ROLE:
        raise DomainError(
            "too_many_records",
            f"A role holds at most {MAX_RULES_PER_ROLE} rules; this change would make {total}.",
            field="rules",
        )
    if to_delete:
        Rule.objects.filter(pk__in=to_delete).delete()
    if to_update:
        Rule.objects.bulk_update(to_update, ["access"])
    if to_create:
        Rule.objects.bulk_create(to_create)
    audit_record(
        organization=role.organization,
        actor=actor,
        action="role.rules.set",
        target_type="role",
        target_id=role.role_id,
        before={"rules": before},
        after={"rules": [rule_dict(*k, a) for k, a in wanted.items() if a != INHERIT]},
    )
    if actor.member is not None:
        forget_rules(actor.member)
    return list(Rule.objects.filter(role=role).order_by("resource", "operation", "pk"))


@transaction.atomic
def role_rules_reset(*, actor: Actor, role: Role) -> int:
    """Remove every rule of the role (its v2 ``permissions`` stay); audited
    ``role.rules.reset`` with the rules removed. Returns how many."""
    _check_grant(actor, role)
    Role.objects.select_for_update().filter(pk=role.pk).first()
    rows = list(Rule.objects.filter(role=role).order_by("resource", "operation", "pk"))
    if rows:
        Rule.objects.filter(pk__in=[r.pk for r in rows]).delete()
    audit_record(
        organization=role.organization,
        actor=actor,
        action="role.rules.reset",
        target_type="role",
        target_id=role.role_id,
        before={"rules": [rule_dict(r.resource, r.operation, r.access) for r in rows]},
        after={"rules": []},
    )
    if actor.member is not None:
        forget_rules(actor.member)
    return len(rows)
