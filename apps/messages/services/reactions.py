"""Writes on reactions: an admin's (Admin API v2, docs/api/reactions.md) and a member's
own (messaging API). The same Reaction rows either way, counted the same everywhere."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.audit.actor import Actor
from apps.audit.services import audit_record
from apps.channels.rules import check_can_post, check_not_archived
from apps.core.errors import DomainError
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account
from apps.messages.models import Message, Reaction
from apps.messages.selectors.reactions import admin_reaction_get
from apps.organizations.models import Organization


def _require_account(actor: Actor) -> None:
    if actor.account is None:
        raise DomainError("forbidden", "Reactions need an account to act as.")


def _check_member(organization: Organization, member: Member) -> None:
    if member.organization_id != organization.pk:
        raise DomainError("forbidden", "The member belongs to another organization.")


@transaction.atomic
def reaction_create(
    *,
    organization: Organization,
    actor: Actor,
    message: Message,
    reaction_name: str,
    member: Member | None = None,
) -> tuple[Reaction, bool]:
    """React to ``message`` as ``member`` (messaging API: under the posting rule, as a
    reaction is seen by everyone: muted, banned, closed or archived refuse), or else as
    the acting account's Member of the organization (Admin API v2).

    Idempotent: reacting twice with the same name returns the existing reaction and
    ``False`` (nothing is written, nothing audited); a new one returns ``True``.
    """
    if member is not None:
        _check_member(organization, member)
        check_can_post(channel=message.channel, member=member)
    else:
        _require_account(actor)
        member, _ = member_get_or_create_for_account(
            organization=organization,
            account=actor.account,
            actor=actor,
            role=Member.OrgRole.ADMIN,
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
    *,
    organization: Organization,
    actor: Actor,
    message: Message,
    reaction_name: str,
    member: Member | None = None,
) -> None:
    """Remove ``member``'s own reaction (messaging API: allowed while muted, not in an
    archived channel), or else the acting account's member's (Admin API v2);
    DomainError(reaction_not_found) if there is none."""
    if member is not None:
        _check_member(organization, member)
        check_not_archived(channel=message.channel)
        reaction = (
            Reaction.objects.select_related("member")
            .filter(organization=organization, message=message, member=member, name=reaction_name)
            .first()
        )
        if reaction is None:
            raise DomainError(
                "reaction_not_found", f"No reaction {reaction_name!r} by you on this message."
            )
    else:
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
