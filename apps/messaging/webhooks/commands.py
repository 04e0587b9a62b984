"""Outgoing webhooks as commands of the messaging API: an enabled outgoing webhook with a
``trigger`` is the command ``/<trigger>`` in its channel
(``POST /channels/{channelID}/messages/command/{trigger}/exec``), as in Corteza, where the
command service looked the webhook up by channel and trigger and called its URL.

Running it writes a delivery (event ``command``) for the outgoing-webhooks machinery
(apps.integrations.services.delivery) and answers ``{"success": {"message": "OK"}}``: the
body is Corteza's ``{"text": input}``, sent signed and retried from a worker, never from
the request; the endpoint's answer is posted back as the bot (the delivery's context
names the channel and the member who ran it). The provider is asked on every command
lookup, so it reads with one query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from apps.channels.models import Channel
from apps.core.errors import DomainError
from apps.integrations.models import Integration
from apps.integrations.selectors import integration_get, integrations_visible
from apps.integrations.services.delivery import NewDelivery, deliveries_create
from apps.integrations.services.incoming import check_enabled
from apps.members.models import Member
from apps.messaging.commands.registry import NAME, provider_register
from apps.messaging.commands.types import STRING, Command, Invocation, Outcome, Param, may
from apps.organizations.models import Organization

#: The delivery event of a command run.
EVENT = "command"


@dataclass(frozen=True)
class WebhookCommand:
    """``/<trigger>``: in each channel with an outgoing webhook of that trigger, calls it
    (the newest one when a channel has several)."""

    name: str
    #: channel pk -> the webhook's (Integration) pk
    webhooks: Mapping[int, int] = field(default_factory=dict)
    params: tuple[Param, ...] = (Param("text", STRING),)

    @property
    def description(self) -> str:
        return (
            f"Calls this channel's outgoing webhook /{self.name} with the text "
            "(delivered by the outgoing-webhooks machinery)"
        )

    def allowed(self, member: Member, channel: Channel | None) -> bool:
        """In a channel with such a webhook (or, for the list, anywhere), for a member who
        may post there."""
        if channel is not None and channel.pk not in self.webhooks:
            return False
        return may(member, "message.send", channel)

    def run(self, invocation: Invocation) -> Outcome:
        integration = integration_get(
            organization=invocation.organization,
            integration_id=self.webhooks.get(invocation.channel.pk),
            flavor=Integration.Flavor.MESSAGING,
            field="command",
        )
        if integration.direction != Integration.Direction.OUTGOING:
            raise DomainError("integration_not_found", field="command")
        check_enabled(integration)
        deliveries_create(
            [
                NewDelivery(
                    integration,
                    event=EVENT,
                    payload={"text": invocation.input},
                    context={"channel": invocation.channel.pk, "author": invocation.member.pk},
                )
            ]
        )
        return Outcome()


def webhook_commands(organization: Organization) -> dict[str, Command]:
    """The organization's outgoing messaging webhooks with a trigger, as commands by
    name (one query)."""
    rows = (
        integrations_visible(
            organization=organization, member=None, flavor=Integration.Flavor.MESSAGING
        )
        .filter(direction=Integration.Direction.OUTGOING, enabled=True, channel__isnull=False)
        .order_by("-created_at", "-pk")
        .values_list("pk", "channel_id", "trigger_words")
    )
    found: dict[str, dict[int, int]] = {}
    for pk, channel_pk, triggers in rows:
        for trigger in triggers if isinstance(triggers, list) else []:
            if isinstance(trigger, str) and NAME.match(trigger):
                found.setdefault(trigger, {}).setdefault(channel_pk, pk)
    return {name: WebhookCommand(name, webhooks) for name, webhooks in found.items()}


provider_register(webhook_commands)
