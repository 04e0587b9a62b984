"""Writes on reactions made by an admin (docs/api/reactions.md)."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.messages.models import Message, Reaction
from apps.messages.selectors.reactions import admin_reaction_get
from apps.organizations.models import Organization


def _require_account(actor: Actor) -> None:
    if actor.account is None:
        raise DomainError("forbidden", "Reactions need an account to act as.")


@transaction.atomic
def reaction_create(
    *, organization: Organization, actor: Actor, message: Message, reaction_name: str
) -> tuple[Reaction, bool]:
    """React to ``message`` as the actor's Member of the organization.

    Idempotent: reacting twice with the same name returns the existing reaction and
    ``False`` (nothing is written, nothing audited); a new one returns ``True``.
    """
    _require_account(actor)
    member, _ = member_get_or_create_for_account(
        organization=organization, account=actor.account, actor=actor, role=Member.OrgRole.ADMIN
    )
    existing = Reaction.objects.filter(message=message, member=member, name=reaction_name).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            reaction = Reaction.objects.create(
                organization=organization, message=message, member=member, name=reaction_name
            )
    except IntegrityError:  # a concurrent identical request won the race
        return Reaction.objects.get(message=message, member=member, name=reaction_name), False
    audit_record(
        organization=organization,
        actor=actor,
        action="reaction.create",
        target_type="message",
        target_id=message.message_id,
        after={"reactionName": reaction_name, "userId": member.user_id},
    )
    return reaction, True


@transaction.atomic
def reaction_delete(
    *, organization: Organization, actor: Actor, message: Message, reaction_name: str
) -> None:
    """Remove the actor's own reaction; DomainError(reaction_not_found) if there is none."""
    _require_account(actor)
    reaction = admin_reaction_get(
        organization=organization,
        account=actor.account,
        message=message,
        reaction_name=reaction_name,
    )
    user_id = reaction.member.user_id
    reaction.delete()
    audit_record(
        organization=organization,
        actor=actor,
        action="reaction.delete",
        target_type="message",
        target_id=message.message_id,
        before={"reactionName": reaction_name, "userId": user_id},
    )
