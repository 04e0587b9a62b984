"""Input and output shapes of the messaging API's webhooks
(docs/api/messaging-webhooks.md). Inputs parse and never save (the integrations services
check every field); the outputs document the dicts of
:mod:`apps.messaging.webhooks.shapes` in the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from apps.core.fields import StringField
from apps.integrations.models import Integration
from apps.integrations.services.integrations import MAX_URL_LENGTH
from apps.messages.services.messages import MAX_TEXT_LENGTH
from apps.messaging.base import IdField
from apps.messaging.messages.serializers import OptionalIdField

#: Longest ``username`` (the display name a webhook posts under: Integration.alias).
MAX_USERNAME_LENGTH = Integration._meta.get_field("alias").max_length
#: Longest ``trigger`` (a command name, apps.messaging.commands.registry.NAME).
MAX_TRIGGER_LENGTH = 64

KINDS = Integration.Direction.values

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


class MessagingWebhookEnvelope(serializers.Serializer):
    response = MessagingWebhook()


class MessagingWebhookCreatedEnvelope(serializers.Serializer):
    response = MessagingWebhookCreated()


class MessagingWebhookListEnvelope(serializers.Serializer):
    response = MessagingWebhook(many=True)
