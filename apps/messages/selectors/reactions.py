"""Reads on reactions, always scoped to an organization (docs/api/reactions.md)."""

from __future__ import annotations

import uuid

from django.db.models import Count, Q, QuerySet

from apps.accounts.models import Account
from apps.core.errors import DomainError
from apps.messages.models import Message, Reaction
from apps.messages.selectors.messages import ReactionCounts, TagNames
from apps.organizations.models import Organization
from apps.reports.selectors import open_report_count


def reactable_message_get(
    *, organization: Organization, message_id: str, field: str = "referenceId"
) -> Message:
    """A visible message of the organization (not deleted, channel not closed), or
    DomainError(message_not_found): unknown, malformed, deleted and another
    organization's messageIds all look the same."""
    try:
        public_id = uuid.UUID(str(message_id))
    except (ValueError, TypeError, AttributeError):
        public_id = None
    message = None
    if public_id is not None:
        message = (
            Message.objects.select_related("channel")
            .filter(
                organization=organization,
                public_id=public_id,
                deleted_at__isnull=True,
                channel__closed_at__isnull=True,
            )
            .first()
        )
    if message is None:
        raise DomainError("message_not_found", f"No message {message_id!r}.", field=field)
    return message


def reactor_list(*, message: Message, reaction_name: str | None = None) -> QuerySet[Reaction]:
    """Reactions on ``message`` (optionally of one name), with the reacting member."""
    queryset = Reaction.objects.filter(
        organization_id=message.organization_id, message=message
    ).select_related("member")
    if reaction_name:
        queryset = queryset.filter(name=reaction_name)
    return queryset


def admin_reaction_get(
    *, organization: Organization, account: Account, message: Message, reaction_name: str
) -> Reaction:
    """The reaction the account's member made, or DomainError(reaction_not_found)."""
    reaction = (
        Reaction.objects.select_related("member")
        .filter(
            organization=organization,
            message=message,
            member__organization=organization,
            member__account=account,
            name=reaction_name,
        )
        .first()
    )
    if reaction is None:
        raise DomainError(
            "reaction_not_found", f"No reaction {reaction_name!r} by you on this message."
        )
    return reaction


def messages_most_reacted(
    *, organization: Organization, reaction_name: str, limit: int
) -> list[Message]:
    """Visible messages with the most reactions named ``reaction_name`` (at least one),
    most first (ties: newest first). Each has ``reaction_total`` (of that name),
    ``flag_count``, ``reaction_counts`` ({name: count}) and ``tag_names``.

    One statement whatever ``limit`` is: the ranked messages with their reaction counts
    and tags (by name) as subqueries (``selectors.messages``).
    """
    messages = list(
        Message.objects.filter(
            organization=organization,
            deleted_at__isnull=True,
            channel__closed_at__isnull=True,
            reactions__name=reaction_name,
        )
        .select_related("channel", "author", "parent")
        .annotate(
            reaction_total=Count("reactions", filter=Q(reactions__name=reaction_name)),
            flag_count=open_report_count("target_message"),
            all_reactions=ReactionCounts(),
            tag_names=TagNames(order_by="name"),
        )
        .order_by("-reaction_total", "-pk")[:limit]
    )
    for message in messages:  # names in code-point order, as this list always had them
        message.reaction_counts = dict(sorted(message.all_reactions.items()))
    return messages
