"""``manage.py create_webhook --org SLUG --kind KIND [--channel CHANNELID] [--name NAME]
[--base-url URL]``.

Makes a Stackfield webhook URL (``POST /apiwh/<uuid>``, docs/api/integrations-stackfield.md)
of the organization, as the console's Integrations tab does: KIND is one of
``chat-message``, ``discussion``, ``task``, ``page``, ``file``, ``event`` (these post into
``--channel``, required), ``room-settings`` (on ``--channel``, or on the ``RoomId`` of
each call without one) or ``organization`` (no channel). Every URL posts and acts as the
organization's ``stackfield`` bot, provisioned on first use. Everything by the system
(the ``integration.create`` audit entry says so).

The URL is printed once, alone on the last line (``| tail -n 1``): its uuid is the whole
secret and only its SHA-256 hash is stored. ``--base-url`` is where clients reach this
server (default ``http://127.0.0.1:8000``, where ``make run`` serves).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from apps.channels.models import Channel
from apps.channels.selectors.channels import channel_live_q
from apps.cli.arguments import SYSTEM, domain_errors, organization_by_slug
from apps.integrations.services.stackfield import CHANNEL_KINDS, KINDS, stackfield_url_create
from apps.organizations.models import Organization

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _base_url(value: str) -> str:
    value = (value or "").strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise CommandError(f"--base-url must be an http(s) URL such as {DEFAULT_BASE_URL}.")
    return value


def _channel(organization: Organization, channel_id: str | None) -> Channel | None:
    if channel_id is None:
        return None
    found = Channel.objects.filter(
        channel_live_q(),
        organization=organization,
        channel_id=channel_id.strip(),
        closed_at__isnull=True,
    ).first()
    if found is None:
        raise CommandError(f"No open channel with channelId {channel_id!r} in {organization.slug}.")
    return found


class Command(BaseCommand):
    help = "Make a Stackfield webhook URL of an organization; prints the URL last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="the organization's slug")
        parser.add_argument("--kind", required=True, choices=KINDS, help="what the URL does")
        parser.add_argument(
            "--channel",
            default=None,
            metavar="CHANNELID",
            help=f"the channel (required for {', '.join(CHANNEL_KINDS)}; optional for "
            "room-settings)",
        )
        parser.add_argument("--name", default="", help="a label (default 'Stackfield KIND')")
        parser.add_argument(
            "--base-url",
            default=DEFAULT_BASE_URL,
            help=f"where clients reach this server (default {DEFAULT_BASE_URL})",
        )

    def handle(
        self,
        *args: Any,
        org: str,
        kind: str,
        channel: str | None,
        name: str,
        base_url: str,
        **options: Any,
    ) -> None:
        base = _base_url(base_url)
        organization = organization_by_slug(org)
        bound = _channel(organization, channel)
        with domain_errors():
            issued = stackfield_url_create(
                organization=organization, actor=SYSTEM, kind=kind, channel=bound, name=name
            )
        assert issued.token is not None  # an incoming URL always has its secret
        where = f" on #{bound.channel_id}" if bound is not None else ""
        self.stdout.write(
            f"Stackfield {kind} URL {issued.integration.pk} of {organization.slug}{where}, "
            f"acting as {issued.integration.bot.user_id!r}. Its uuid is its secret, shown "
            "only once; store it now:"
        )
        self.stdout.write(base + reverse("stackfield-webhook", args=[issued.token]))
