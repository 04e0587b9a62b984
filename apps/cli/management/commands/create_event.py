"""``manage.py create_event --org SLUG --title T --start ISO --end ISO [--participant EMAIL ...]``.

Creates an event of the organization and its chatroom (type event; the participants
assigned; deleted at the end + the organization's retention). Times are ISO 8601 with
a timezone (``2026-05-01T09:00:00Z`` or ``+02:00``). Each participant is an Account by
email (created if needed, without a password) whose Member in the organization is used
(``member_get_or_create_for_account``: the one linked to it, else the user whose userId
is the email, linked now, else a new one with org role member). Everything by the
system (the ``calendar_event.create`` audit entry says so). Prints the event's id alone
on the last line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.dateparse import parse_datetime

from apps.accounts.services import account_get_or_create
from apps.calendar_events.services import MAX_PARTICIPANTS, calendar_event_create
from apps.cli.arguments import SYSTEM, checked_email, domain_errors, organization_by_slug
from apps.members.models import Member
from apps.members.services import member_get_or_create_for_account


def _when(value: str, option: str) -> datetime:
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise CommandError(f"{option}: {value!r} is not an ISO 8601 date and time.")
    if parsed.tzinfo is None:
        raise CommandError(f"{option}: {value!r} needs a timezone (e.g. Z or +02:00).")
    return parsed


class Command(BaseCommand):
    help = "Create an event (and its chatroom) of an organization; prints the event id last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--title", required=True)
        parser.add_argument("--start", required=True, help="ISO 8601 with a timezone")
        parser.add_argument("--end", required=True, help="ISO 8601 with a timezone")
        parser.add_argument(
            "--participant",
            action="append",
            default=[],
            metavar="EMAIL",
            help="a participant's email (repeatable)",
        )

    def handle(
        self,
        *args: Any,
        org: str,
        title: str,
        start: str,
        end: str,
        participant: list[str],
        **options: Any,
    ) -> None:
        starts_at, ends_at = _when(start, "--start"), _when(end, "--end")
        if ends_at < starts_at:
            raise CommandError("--end must not be before --start.")
        emails = list(dict.fromkeys(checked_email(e, "--participant").lower() for e in participant))
        if len(emails) > MAX_PARTICIPANTS:
            raise CommandError(f"At most {MAX_PARTICIPANTS} participants.")
        organization = organization_by_slug(org)
        with domain_errors(), transaction.atomic():
            members = [
                member_get_or_create_for_account(
                    organization=organization,
                    account=account_get_or_create(email=email)[0],
                    actor=SYSTEM,
                    role=Member.OrgRole.MEMBER,
                    claim_user_id=True,
                ).member
                for email in emails
            ]
            event = calendar_event_create(
                organization=organization,
                actor=SYSTEM,
                title=title,
                starts_at=starts_at,
                ends_at=ends_at,
                participants=members,
            )
        chatroom = event.chatroom
        self.stdout.write(
            f"Event {event.title!r} of {organization.slug} with {len(members)} participants; "
            f"chatroom {chatroom.pk}, deleted at {chatroom.scheduled_deletion_at.isoformat()}."
        )
        self.stdout.write(str(event.pk))
