"""Input and output shapes of Rocket.Chat's integrations API (docs/api/integrations-
rocketchat.md). Inputs parse the wire types (JSON or form bodies, query strings) and never
save; every value check is the domain's (apps.integrations.services.integrations). The
outputs document the dicts of :mod:`apps.rocketchat.shapes` in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.fields import IntegerField, StringField, json_type

#: Rocket.Chat's integration types and the direction each is.
TYPES = {"webhook-incoming": "incoming", "webhook-outgoing": "outgoing"}

# --- fields ----------------------------------------------------------------------------


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
)
class StringOrListField(serializers.Field):
    """A string (Rocket.Chat's comma-separated ``channel``) or an array of strings (its
    ``urls`` and ``triggerWords``): passed on as sent, the domain splits and checks it."""

    default_error_messages = {
        "invalid": "Must be a string or an array of strings, not {input_type}.",
    }

    def to_internal_value(self, data: Any) -> str | list[str]:
        if isinstance(data, str):
            return data
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            return data
        self.fail("invalid", input_type=json_type(data))
        raise AssertionError  # unreachable: fail() raises

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "string"})
class IntegrationIdField(serializers.Field):
    """An integration's ``_id``: a string (or a JSON number). One that names nothing is a
    404 (the selector's), whatever its form."""

    default_error_messages = {
        "invalid": "Must be an id (a string), not {input_type}.",
        "blank": "Must not be blank.",
    }

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid", input_type=json_type(data))
        if isinstance(data, str) and not data.strip():
            self.fail("blank")
        return str(data)

    def to_representation(self, value: Any) -> str:
        return str(value)


@extend_schema_field({"type": "string", "description": "webhook-incoming or webhook-outgoing"})
class IntegrationTypeField(StringField):
    """Rocket.Chat's integration ``type``: ``webhook-incoming`` or ``webhook-outgoing``."""

    default_error_messages = {"not_a_type": "Must be webhook-incoming or webhook-outgoing."}

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value not in TYPES:
            self.fail("not_a_type")
        return value


def _text(**kwargs: Any) -> StringField:
    return StringField(
        required=False, allow_blank=True, allow_null=True, trim_whitespace=False, **kwargs
    )


def _flag(**kwargs: Any) -> serializers.BooleanField:
    return serializers.BooleanField(required=False, allow_null=True, **kwargs)


# --- inputs ----------------------------------------------------------------------------


class RocketChatIntegrationFieldsInput(serializers.Serializer):
    """The fields of an integration as Rocket.Chat's clients send them (null = not sent)."""

    type = IntegrationTypeField()
    name = _text(help_text="Shown in the administration only.")
    enabled = _flag(help_text="Default true.")
    username = _text(help_text="The user it posts as (made a bot user if missing).")
    channel = StringOrListField(
        required=False,
        allow_null=True,
        help_text="`#channel` or `@userId`, comma-separated for several; outgoing ones may "
        "also name all_public_channels, all_private_groups, all_direct_messages.",
    )
    scriptEnabled = _flag(help_text="Run the script (a sandboxed template) on each call.")
    script = _text()
    alias = _text()
    avatar = _text(help_text="An http(s) URL (never fetched by the server).")
    emoji = _text()
    overrideDestinationChannelEnabled = _flag(help_text="Incoming: a call may name its channel.")
    event = _text(help_text="Outgoing: sendMessage, fileUploaded, roomArchived, ...")
    urls = StringOrListField(required=False, allow_null=True, help_text="Outgoing.")
    triggerWords = StringOrListField(required=False, allow_null=True, help_text="Outgoing.")
    triggerWordAnywhere = _flag()
    targetRoom = _text()
    runOnEdits = _flag()
    retryFailedCalls = _flag()
    retryCount = IntegerField(required=False, allow_null=True)
    retryDelay = _text(help_text="powers-of-ten, powers-of-two or increments-of-two.")
    impersonateUser = _flag()
    token = _text(help_text="Outgoing: the token sent to the receiver (write-only).")
    scriptEngine = _text(help_text="Accepted and ignored (scripts here are templates).")


class RocketChatIntegrationCreateInput(RocketChatIntegrationFieldsInput):
    pass


class RocketChatIntegrationUpdateInput(RocketChatIntegrationFieldsInput):
    integrationId = IntegrationIdField(required=False, allow_null=True)
    target_url = _text(help_text="Outgoing: find the integration by one of its urls instead.")


class RocketChatIntegrationRemoveInput(serializers.Serializer):
    type = IntegrationTypeField()
    integrationId = IntegrationIdField(required=False, allow_null=True)
    target_url = _text(help_text="Outgoing: find the integration by one of its urls instead.")


class RocketChatPageInput(serializers.Serializer):
    offset = IntegerField(required=False, min_value=0, help_text="Default 0.")
    count = IntegerField(
        required=False, min_value=0, help_text="Default 50, at most 100 (0: as many as allowed)."
    )


class RocketChatIntegrationListInput(RocketChatPageInput):
    name = StringField(required=False, allow_blank=True, max_length=200, help_text="Substring.")
    type = IntegrationTypeField(required=False)


class RocketChatIntegrationGetInput(serializers.Serializer):
    integrationId = IntegrationIdField()
    createdBy = StringField(required=False, help_text="Only if its creator has this _id.")


class RocketChatIntegrationHistoryInput(RocketChatPageInput):
    id = IntegrationIdField(help_text="The integration's _id.")


class RocketChatIntegrationIdInput(serializers.Serializer):
    integrationId = IntegrationIdField()


class RocketChatReplayOutgoingInput(serializers.Serializer):
    integrationId = IntegrationIdField(help_text="The outgoing integration's _id.")
    historyId = IntegrationIdField(
        help_text="The history entry's _id (a delivery), or its webhookId (msg_...)."
    )


class RocketChatLoginInput(serializers.Serializer):
    resume = StringField(
        required=False, allow_blank=True, help_text="An admin access token of the organization."
    )
    user = StringField(
        required=False, allow_blank=True, help_text="With password: the holder's _id or email."
    )
    username = StringField(required=False, allow_blank=True)
    email = StringField(required=False, allow_blank=True)
    password = StringField(
        required=False, allow_blank=True, help_text="The access token (there are no passwords)."
    )


class RocketChatHookPayloadInput(serializers.Serializer):
    """Rocket.Chat's incoming payload (documentation only: any other key is kept for the
    script, ``request.content``)."""

    text = serializers.CharField(required=False)
    alias = serializers.CharField(required=False)
    emoji = serializers.CharField(required=False)
    avatar = serializers.CharField(required=False)
    attachments = serializers.ListField(child=serializers.DictField(), required=False)
    channel = serializers.CharField(
        required=False, help_text="Only when the integration allows overriding it."
    )


# --- outputs ---------------------------------------------------------------------------


class RocketChatSuccessOutput(serializers.Serializer):
    success = serializers.BooleanField()


class RocketChatCreatedByOutput(serializers.Serializer):
    _id = serializers.CharField(allow_null=True)
    username = serializers.CharField()


class RocketChatIntegrationOutput(serializers.Serializer):
    """The stored document (outgoing fields only on outgoing ones, ``token`` only in the
    create answer of an incoming one)."""

    _id = serializers.CharField()
    type = serializers.CharField(help_text="webhook-incoming or webhook-outgoing")
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    username = serializers.CharField(allow_null=True)
    userId = serializers.CharField(allow_null=True)
    channel = serializers.ListField(child=serializers.CharField())
    scriptEnabled = serializers.BooleanField()
    script = serializers.CharField()
    scriptError = serializers.CharField(required=False)
    alias = serializers.CharField()
    avatar = serializers.CharField()
    emoji = serializers.CharField()
    overrideDestinationChannelEnabled = serializers.BooleanField(required=False)
    token = serializers.CharField(required=False, help_text="Create answer only, shown once.")
    signingSecret = serializers.CharField(
        required=False,
        help_text="Outgoing, create answer only, shown once: the Standard Webhooks signing "
        "secret (whsec_...) its requests are signed with (ours).",
    )
    event = serializers.CharField(required=False)
    urls = serializers.ListField(child=serializers.CharField(), required=False)
    triggerWords = serializers.ListField(child=serializers.CharField(), required=False)
    triggerWordAnywhere = serializers.BooleanField(required=False)
    targetRoom = serializers.CharField(required=False)
    runOnEdits = serializers.BooleanField(required=False)
    retryFailedCalls = serializers.BooleanField(required=False)
    retryCount = serializers.IntegerField(required=False)
    retryDelay = serializers.CharField(required=False)
    impersonateUser = serializers.BooleanField(required=False)
    _createdAt = serializers.DateTimeField()
    _createdBy = RocketChatCreatedByOutput()
    _updatedAt = serializers.DateTimeField()


class RocketChatIntegrationEnvelope(RocketChatSuccessOutput):
    integration = RocketChatIntegrationOutput()


class RocketChatSigningSecretEnvelope(RocketChatIntegrationEnvelope):
    signingSecret = serializers.CharField(
        help_text="The new signing secret (whsec_...), shown once; the previous one also "
        "signs for CHATADMIN_WEBHOOK_SECRET_GRACE_HOURS."
    )


class RocketChatIntegrationListEnvelope(RocketChatSuccessOutput):
    integrations = RocketChatIntegrationOutput(many=True)
    offset = serializers.IntegerField()
    items = serializers.IntegerField()
    count = serializers.IntegerField()
    total = serializers.IntegerField()


class RocketChatHistoryIntegrationOutput(serializers.Serializer):
    _id = serializers.CharField()


class RocketChatHistoryEntryOutput(serializers.Serializer):
    """An incoming call, or (an outgoing integration's) a delivery: then ``url``,
    ``httpResult``, ``httpError``, ``triggerWord`` and our ``status``, ``attempts``,
    ``nextAttemptAt``, ``responseStatus``, ``webhookId`` too."""

    _id = serializers.CharField()
    type = serializers.CharField(help_text="incoming-webhook or outgoing-webhook")
    step = serializers.CharField()
    integration = RocketChatHistoryIntegrationOutput()
    event = serializers.CharField()
    data = serializers.DictField()
    ranPrepareScript = serializers.BooleanField()
    finished = serializers.BooleanField()
    error = serializers.BooleanField()
    errorMessage = serializers.CharField(required=False)
    messageIds = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField(required=False, help_text="Outgoing: the URL called.")
    triggerWord = serializers.CharField(required=False, help_text="Outgoing: the word matched.")
    httpResult = serializers.CharField(
        required=False,
        allow_null=True,
        help_text="Outgoing: the start of the last response body, secrets redacted.",
    )
    httpError = serializers.CharField(
        required=False, allow_null=True, help_text="Outgoing: why the last attempt failed."
    )
    status = serializers.ChoiceField(
        choices=["pending", "succeeded", "failed", "cancelled"],
        required=False,
        help_text="Outgoing (ours): the delivery's state.",
    )
    attempts = serializers.IntegerField(required=False, help_text="Outgoing (ours).")
    nextAttemptAt = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Outgoing (ours): when pending."
    )
    responseStatus = serializers.IntegerField(
        required=False, allow_null=True, help_text="Outgoing (ours): the last HTTP status."
    )
    webhookId = serializers.CharField(
        required=False,
        help_text="Outgoing (ours): the webhook-id header, the same on every attempt.",
    )
    _createdAt = serializers.DateTimeField()
    _updatedAt = serializers.DateTimeField()


class RocketChatHistoryEnvelope(RocketChatSuccessOutput):
    history = RocketChatHistoryEntryOutput(many=True)
    offset = serializers.IntegerField()
    items = serializers.IntegerField()
    count = serializers.IntegerField()
    total = serializers.IntegerField()


class RocketChatEmailOutput(serializers.Serializer):
    address = serializers.CharField()
    verified = serializers.BooleanField()


class RocketChatMeOutput(serializers.Serializer):
    _id = serializers.CharField()
    username = serializers.CharField()
    name = serializers.CharField()
    emails = RocketChatEmailOutput(many=True)
    active = serializers.BooleanField()
    roles = serializers.ListField(child=serializers.CharField())
    type = serializers.CharField()
    utcOffset = serializers.IntegerField()


class RocketChatMeEnvelope(RocketChatMeOutput):
    success = serializers.BooleanField()


class RocketChatLoginData(serializers.Serializer):
    authToken = serializers.CharField()
    userId = serializers.CharField()
    me = RocketChatMeOutput()


class RocketChatLoginEnvelope(RocketChatSuccessOutput):
    status = serializers.CharField()
    data = RocketChatLoginData()


class RocketChatErrorOutput(serializers.Serializer):
    """``{"success": false, "error", "errorType"}`` (apps.rocketchat.dialect; OpenAPI)."""

    success = serializers.BooleanField()
    error = serializers.CharField()
    errorType = serializers.CharField(required=False)
