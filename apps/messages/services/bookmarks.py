"""Bookmarks: a member's private marks on messages (messaging API).

Private to the member, so neither audited nor announced; idempotent both ways. The
message is one the member may read, as the caller loaded it.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.core.errors import DomainError
from apps.members.models import Member
from apps.messages.models import Bookmark, Message


def _check(member: Member, message: Message) -> None:
    if member.organization_id != message.organization_id:
        raise DomainError("forbidden", "The member belongs to another organization.")


@transaction.atomic
def message_bookmark(*, member: Member, message: Message) -> bool:
    """Bookmark ``message`` for ``member``; True if it was not bookmarked yet."""
    _check(member, message)
    if Bookmark.objects.filter(member=member, message=message).exists():
        return False
    try:
        with transaction.atomic():
            Bookmark.objects.create(
                organization_id=message.organization_id, member=member, message=message
            )
    except IntegrityError:  # a concurrent identical request won the race
        return False
    return True


@transaction.atomic
def message_unbookmark(*, member: Member, message: Message) -> bool:
    """Remove ``member``'s bookmark on ``message``; True if there was one."""
    _check(member, message)
    deleted, _ = Bookmark.objects.filter(member=member, message=message).delete()
    return deleted > 0
