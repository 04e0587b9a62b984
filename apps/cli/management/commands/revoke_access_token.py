"""``manage.py revoke_access_token PREFIX_OR_TOKEN``: revoke at once.

Takes the whole token, or the whole prefix that the admin site and the audit log show
(its first 12 characters, e.g. ``ca_adm_AbCdE``); a shorter prefix is refused. A prefix
that matches several active tokens is refused: pass the whole token then. Revoked by the
system through ``access_token_revoke``: an organization's token is audited as
``token.revoke`` in its organization (a personal token belongs to none).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.cli.arguments import SYSTEM, domain_errors
from apps.organizations.models import AccessToken, hash_token
from apps.organizations.services import access_token_revoke

PREFIX_LENGTH = 12  # what the token services store in AccessToken.prefix


class Command(BaseCommand):
    help = "Revoke an access token, given the whole token or its 12-character prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", help="the whole token, or its whole 12-character prefix")

    def handle(self, *args: Any, token: str, **options: Any) -> None:
        value = token.strip().rstrip("…")
        if not value:
            raise CommandError("Give a token or a token prefix.")
        match = AccessToken.objects.filter(token_hash=hash_token(value)).first()
        if match is None:
            if len(value) > PREFIX_LENGTH:
                raise CommandError(f"No access token matches {value[:PREFIX_LENGTH]}….")
            if len(value) < PREFIX_LENGTH:
                # A shorter prefix would match by a guess of a few characters (and, with
                # several tokens, pick one the operator did not mean).
                raise CommandError(
                    f"{value!r} is too short: give the whole {PREFIX_LENGTH}-character prefix "
                    "as the admin site and the audit log show it (e.g. ca_adm_Q2x9v), "
                    "or the whole token."
                )
            candidates = list(AccessToken.objects.filter(prefix=value)[:50])
            active = [t for t in candidates if t.revoked_at is None]
            if not candidates:
                raise CommandError(f"No access token matches {value!r}.")
            if len(active) > 1:
                raise CommandError(
                    f"{len(active)} active tokens match {value!r}; pass the whole token."
                )
            match = active[0] if active else candidates[0]
        if match.revoked_at is not None:
            self.stdout.write(
                f"Token {match.prefix}… was already revoked at "
                f"{match.revoked_at:%Y-%m-%d %H:%M:%S} UTC."
            )
            return
        with domain_errors():
            access_token_revoke(actor=SYSTEM, token=match)
        org = match.organization.slug if match.organization else "-"
        self.stdout.write(
            f"Revoked {match.get_kind_display()} {match.prefix}… "
            f"(organization {org}, account {match.account.email})."
        )
