"""Reading integrations: always scoped to an organization, or found by their secret."""

from __future__ import annotations

import hmac

from django.db.models import Q, QuerySet

from apps.core.errors import DomainError
from apps.integrations.models import Delivery, Integration, IntegrationHistory
from apps.members.models import Member
from apps.organizations.models import Organization, hash_token
from apps.permissions.registry import MESSAGING
from apps.permissions.services import can

#: Ids are signed 64-bit in the database: a longer number names nothing.
_MAX_ID = 2**63 - 1


def manage_scope(member: Member, direction: str) -> str | None:
    """What ``member`` may manage of one direction: ``all``, ``own`` or None."""
    operation = f"integrations.{direction}.manage"
    if can(member, operation, MESSAGING):
        return "all"
    if can(member, f"{operation}.own", MESSAGING):
        return "own"
    return None


def _incoming_for_call(**lookup: object) -> Integration | None:
    """The incoming integration matching ``lookup`` with what a call needs (organization,
    bot, bound channel): one unordered statement, as it is on every webhook call's path."""
    rows = (
        Integration.objects.select_related("bot", "channel", "organization")
        .filter(direction=Integration.Direction.INCOMING, **lookup)
        .order_by()[:1]
    )
    return next(iter(rows), None)


def _integrations() -> QuerySet[Integration]:
    return Integration.objects.select_related("bot", "channel", "created_by", "organization")


def parse_integration_id(value: object) -> int | None:
    """The integration id ``value`` names (a number or its decimal string), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= _MAX_ID else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
        return number if 1 <= number <= _MAX_ID else None
    return None


def integrations_visible(
    *, organization: Organization, member: Member | None, flavor: str | None = None
) -> QuerySet[Integration]:
    """The organization's integrations (of one flavor) that the caller may see: all of
    them for the console and the CLI (``member`` None); for a member, those of the
    directions it may manage, only its own where it holds only the "own" permission."""
    rows = _integrations().filter(organization=organization)
    if flavor is not None:
        rows = rows.filter(flavor=flavor)
    if member is None:
        return rows
    allowed = Q(pk__in=[])
    for direction in Integration.Direction.values:
        scope = manage_scope(member, direction)
        if scope == "all":
            allowed |= Q(direction=direction)
        elif scope == "own":
            allowed |= Q(direction=direction, created_by=member)
    return rows.filter(allowed)


def integration_get(
    *,
    organization: Organization,
    integration_id: object,
    member: Member | None = None,
    flavor: str | None = None,
    field: str = "integrationId",
) -> Integration:
    """One integration the caller may see, else 404 ``integration_not_found`` (another
    organization's, or one the caller may not manage, is answered like a missing one)."""
    pk = parse_integration_id(integration_id)
    found = (
        integrations_visible(organization=organization, member=member, flavor=flavor)
        .filter(pk=pk)
        .first()
        if pk is not None
        else None
    )
    if found is None:
        raise DomainError("integration_not_found", field=field)
    return found


def integration_by_token(*, integration_id: object, token: str, flavor: str) -> Integration:
    """The incoming integration of a public URL ``/.../{id}/{token}``: 404
    ``integration_not_found`` unless the id exists with this flavor and the token's hash
    matches (compared in constant time). A disabled one is found (the caller says 503)."""
    pk = parse_integration_id(integration_id)
    found = (
        _incoming_for_call(pk=pk, flavor=flavor)
        if pk is not None and isinstance(token, str) and 0 < len(token) <= 200
        else None
    )
    if found is None or not hmac.compare_digest(found.token_hash or "", hash_token(token)):
        raise DomainError("integration_not_found")
    return found


def integration_by_secret(*, secret: str, flavor: str) -> Integration:
    """The incoming integration whose whole secret is the URL's last part (Stackfield's
    ``/apiwh/<uuid>``): looked up by its hash (an index probe), else 404."""
    found = (
        _incoming_for_call(token_hash=hash_token(secret), flavor=flavor)
        if isinstance(secret, str) and 0 < len(secret) <= 200
        else None
    )
    if found is None:
        raise DomainError("integration_not_found")
    return found


def integration_history(*, integration: Integration) -> QuerySet[IntegrationHistory]:
    return IntegrationHistory.objects.filter(integration=integration).order_by("-created_at", "-pk")


def integration_deliveries(*, integration: Integration) -> QuerySet[Delivery]:
    """An outgoing integration's deliveries, newest first (its history)."""
    return Delivery.objects.filter(integration=integration).order_by("-created_at", "-pk")


def delivery_get(
    *, integration: Integration, delivery_id: object, field: str = "historyId"
) -> Delivery:
    """One delivery of ``integration`` by its id (a number or its string) or its
    ``webhook-id``; 404 ``delivery_not_found`` otherwise (another integration's too)."""
    query = Delivery.objects.select_related("integration__organization").filter(
        integration=integration
    )
    pk = parse_integration_id(delivery_id)
    if pk is not None:
        found = query.filter(pk=pk).first()
    elif isinstance(delivery_id, str) and delivery_id.startswith("msg_") and len(delivery_id) <= 64:
        found = query.filter(webhook_id=delivery_id).first()
    else:
        found = None
    if found is None:
        raise DomainError("delivery_not_found", field=field)
    return found
