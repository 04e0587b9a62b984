"""Input and output shapes of the messaging API's webhooks
(docs/api/messaging-webhooks.md). Inputs parse and never save (the integrations services
check every field); the outputs document the dicts of
:mod:`apps.messaging.webhooks.shapes` in the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from apps.core.fields import IntegerField, StringField
from apps.integrations.models import Delivery, Integration
from apps.integrations.services.integrations import MAX_URL_LENGTH
from apps.messages.services.messages import MAX_TEXT_LENGTH
from apps.messaging.base import IdField
from apps.messaging.messages.serializers import OptionalIdField

#: Longest ``username`` (the display name a webhook posts under: Integration.alias).
MAX_USERNAME_LENGTH = Integration._meta.get_field("alias").max_length
#: Longest ``trigger`` (a command name, apps.messaging.commands.registry.NAME).
MAX_TRIGGER_LENGTH = 64

KINDS = Integration.Direction.values
#: A page of deliveries: 50 by default, at most 200 (as the search routes).
DEFAULT_DELIVERIES = 50
MAX_DELIVERIES = 200

# --- inputs ----------------------------------------------------------------------------------


def _text(max_length: int, help_text: str) -> StringField:
    return StringField(
        max_length=max_length,
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text=help_text,
    )


class MessagingWebhookListInput(serializers.Serializer):
    channelID = OptionalIdField(help_text="Only the webhooks of this channel.")
    userID = OptionalIdField(help_text="Only the webhooks that post as this (bot) member.")
    ownerUserID = OptionalIdField(help_text="Only the webhooks this member created.")


class _WebhookFields(serializers.Serializer):
    trigger = _text(
        MAX_TRIGGER_LENGTH,
        "Outgoing only: the command that calls the webhook (letters, digits, `_`, `.`, `-`; "
        "not a built-in command's name).",
    )
    url = _text(MAX_URL_LENGTH, "Outgoing only, and required there: the http(s) URL it calls.")
    username = _text(MAX_USERNAME_LENGTH, "The display name its messages show.")
    avatar = serializers.FileField(
        required=False,
        allow_empty_file=True,
        use_url=False,
        help_text="An image (multipart upload), stored re-encoded; never fetched from a URL.",
    )
    avatarURL = _text(
        MAX_URL_LENGTH,
        "An http(s) URL its messages show as their avatar: stored as given, never fetched.",
    )


class MessagingWebhookCreateInput(_WebhookFields):
    channelID = IdField(help_text="The channel it posts into (one the caller sees).")
    kind = serializers.ChoiceField(choices=KINDS)
    userID = IdField(help_text="The member it posts as (its bot), of the organization.")


class MessagingWebhookUpdateInput(_WebhookFields):
    channelID = IdField(required=False, help_text="Moves it to this channel.")
    kind = serializers.ChoiceField(
        choices=KINDS, required=False, help_text="Never changes: if given, its current kind."
    )
    userID = IdField(required=False, help_text="Posts as this member from now on.")


class MessagingWebhookPostInput(serializers.Serializer):
    content = StringField(
        max_length=MAX_TEXT_LENGTH,
        trim_whitespace=False,
        help_text=f"Message contents (markdown), at most {MAX_TEXT_LENGTH} characters.",
    )
    username = _text(MAX_USERNAME_LENGTH, "The display name of this message.")
    avatarURL = _text(
        MAX_URL_LENGTH, "An http(s) URL shown as this message's avatar: never fetched."
    )


class MessagingWebhookDeliveriesInput(serializers.Serializer):
    limit = IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_DELIVERIES,
        help_text=f"How many, 1 to {MAX_DELIVERIES} (default {DEFAULT_DELIVERIES}; 0 is the "
        "default).",
    )
    beforeDeliveryID = IdField(
        required=False,
        help_text="Only deliveries older than this one (exclusive): the next page starts "
        "before the last deliveryID of the previous one.",
    )

    def validate_limit(self, value: int) -> int:
        return value or DEFAULT_DELIVERIES


# --- outputs (the OpenAPI schema; shapes.py renders) -----------------------------------------


class MessagingWebhook(serializers.Serializer):
    webhookID = serializers.CharField()
    channelID = serializers.CharField(allow_null=True)
    kind = serializers.ChoiceField(choices=KINDS)
    userID = serializers.CharField(allow_null=True, help_text="The member it posts as (bot).")
    ownerUserID = serializers.CharField(allow_null=True, help_text="The member who created it.")
    trigger = serializers.CharField(help_text="Outgoing: the command that calls it.")
    url = serializers.CharField(help_text="Outgoing: the URL it calls.")
    username = serializers.CharField()
    avatarURL = serializers.CharField()
    hasAvatar = serializers.BooleanField(help_text="Whether an avatar image was uploaded.")
    enabled = serializers.BooleanField(help_text="A disabled webhook's URL answers 503.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField(allow_null=True)
    deletedAt = serializers.DateTimeField(allow_null=True, help_text="Always null.")


class MessagingWebhookCreated(MessagingWebhook):
    authToken = serializers.CharField(
        allow_null=True,
        help_text="Incoming: the secret of POST /webhooks/{webhookID}/{authToken}, shown "
        "only here, once (null for outgoing ones).",
    )
    signingSecret = serializers.CharField(
        allow_null=True,
        help_text="Outgoing: the Standard Webhooks signing secret (whsec_...) its requests "
        "are signed with, shown only here, once (null for incoming ones).",
    )


class MessagingWebhookDelivery(serializers.Serializer):
    """One call of an outgoing webhook's URL (ours)."""

    deliveryID = serializers.CharField()
    webhookID = serializers.CharField()
    webhookMessageID = serializers.CharField(
        help_text="The webhook-id header (msg_...): the same on every attempt and replay."
    )
    event = serializers.CharField(help_text="command, or test")
    url = serializers.CharField()
    payload = serializers.DictField(help_text="The JSON body sent.")
    status = serializers.ChoiceField(choices=Delivery.Status.values)
    attempts = serializers.IntegerField()
    nextAttemptAt = serializers.DateTimeField(allow_null=True, help_text="While pending.")
    lastAttemptAt = serializers.DateTimeField(allow_null=True)
    responseStatus = serializers.IntegerField(allow_null=True, help_text="The last HTTP status.")
    responseExcerpt = serializers.CharField(
        help_text="The start of the last response body, secrets redacted."
    )
    error = serializers.CharField(help_text="Why the last attempt failed, or empty.")
    replied = serializers.BooleanField(help_text="Whether its answer was posted back.")
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    finishedAt = serializers.DateTimeField(allow_null=True)


class MessagingWebhookDetail(MessagingWebhook):
    lastDelivery = MessagingWebhookDelivery(
        allow_null=True, help_text="Outgoing: its newest delivery (null: none, or incoming)."
    )


class MessagingWebhookSecret(MessagingWebhook):
    signingSecret = serializers.CharField(
        help_text="The new signing secret (whsec_...), shown once; the previous one also "
        "signs for CHATADMIN_WEBHOOK_SECRET_GRACE_HOURS."
    )


class MessagingWebhookEnvelope(serializers.Serializer):
    response = MessagingWebhook()


class MessagingWebhookCreatedEnvelope(serializers.Serializer):
    response = MessagingWebhookCreated()


class MessagingWebhookDetailEnvelope(serializers.Serializer):
    response = MessagingWebhookDetail()


class MessagingWebhookSecretEnvelope(serializers.Serializer):
    response = MessagingWebhookSecret()


class MessagingWebhookDeliveriesEnvelope(serializers.Serializer):
    response = MessagingWebhookDelivery(many=True)


class MessagingWebhookListEnvelope(serializers.Serializer):
    response = MessagingWebhook(many=True)
