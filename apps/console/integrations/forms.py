"""Forms of the console's integration pages.

They parse what the browser sent into the values ``integration_create`` and
``integration_update`` take (model field names of ``EDITABLE``, plus ``username``) and
pass them through: every check of a value (a ``#channel`` that exists, a URL, an event,
a script) is the service's, whose refusal comes back under the field it names
(``service_field``). Only what a browser form must say itself is here: which fields are
required, and the choices of a select.
"""

from __future__ import annotations

from typing import Any

from django import forms

from apps.core.form_fields import IntegerField
from apps.integrations.models import Delivery, Integration
from apps.integrations.services import stackfield
from apps.integrations.services.integrations import OUTGOING_EVENTS, RETRY_DELAYS

#: Stackfield's kinds, in the document's order (the service says which need a channel).
STACKFIELD_KINDS = [(kind, Integration.Kind(kind).label) for kind in stackfield.KINDS]

TEXTAREA = forms.Textarea(attrs={"rows": 3})


def _lines(value: str) -> list[str]:
    """One item per line or comma-separated (as Rocket.Chat's clients send a list)."""
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


class IntegrationForm(forms.Form):
    """Base: ``values()`` is what the service takes; ``service_fields`` maps the field a
    DomainError names (the service's, in API spelling) to this form's field."""

    #: The DomainError ``field`` -> this form's field.
    service_fields: dict[str, str] = {}

    name = forms.CharField(label="Name", required=False)

    def values(self, *, only: list[str] | None = None) -> dict[str, Any]:
        """The cleaned values under the service's names (only those of ``only``)."""
        names = self.fields if only is None else only
        return {name: self.cleaned_data[name] for name in names if name in self.fields}

    def add_service_error(self, field: str | None, message: str) -> None:
        """A service's refusal under the field it names, else above the form."""
        target = self.service_fields.get(field or "", field or "")
        self.add_error(target if target in self.fields else None, message)


def _alias_field() -> forms.CharField:
    return forms.CharField(label="Alias", required=False, help_text="The name shown.")


def _avatar_url_field() -> forms.CharField:
    return forms.CharField(
        label="Avatar URL",
        required=False,
        help_text="An http(s) URL. The server never fetches it; clients show it.",
    )


class LookFields(forms.Form):
    """How the integration's messages look (alias, emoji, avatar)."""

    alias = _alias_field()
    emoji = forms.CharField(label="Emoji", required=False, help_text="e.g. :ghost:")
    avatar_url = _avatar_url_field()


class ScriptFields(forms.Form):
    script_enabled = forms.BooleanField(label="Script enabled", required=False)
    script = forms.CharField(
        label="Script",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text=(
            "A template in a sandbox that maps the request (request.content, "
            "request.headers, request.query) to the message; checked when saved."
        ),
    )

    def clean_script(self) -> str:
        return self.cleaned_data["script"].replace("\r\n", "\n")


#: Where the service names Rocket.Chat's fields (API spelling) on these forms.
ROCKETCHAT_FIELDS = {
    "channel": "targets",
    "username": "username",
    "userID": "username",
    "avatar": "avatar_url",
    "scriptEnabled": "script_enabled",
    "event": "event",
    "urls": "urls",
    "triggerWords": "trigger_words",
    "targetRoom": "target_room",
    "retryCount": "retry_count",
    "retryDelay": "retry_delay",
    "token": "outgoing_token",
}


class RocketChatIncomingForm(IntegrationForm, LookFields, ScriptFields):
    """A Rocket.Chat incoming integration (``POST /hooks/{id}/{token}``)."""

    service_fields = ROCKETCHAT_FIELDS
    field_order = [
        "name",
        "targets",
        "username",
        "alias",
        "emoji",
        "avatar_url",
        "override_channel",
        "script_enabled",
        "script",
    ]

    targets = forms.CharField(
        label="Post to channels",
        widget=TEXTAREA,
        help_text="#channel or @userId; several comma-separated or one per line.",
    )
    username = forms.CharField(
        label="Post as (username)",
        help_text="The userId it posts as; a bot member is made if it does not exist.",
    )
    override_channel = forms.BooleanField(label="A call may name another channel", required=False)

    def clean_targets(self) -> list[str]:
        return _lines(self.cleaned_data["targets"])


class RocketChatOutgoingForm(IntegrationForm, LookFields, ScriptFields):
    """A Rocket.Chat outgoing integration (delivered by the outgoing-webhooks machinery)."""

    service_fields = ROCKETCHAT_FIELDS
    field_order = [
        "name",
        "event",
        "targets",
        "trigger_words",
        "trigger_word_anywhere",
        "urls",
        "username",
        "target_room",
        "outgoing_token",
        "alias",
        "emoji",
        "avatar_url",
        "run_on_edits",
        "impersonate_user",
        "retry_failed_calls",
        "retry_count",
        "retry_delay",
        "script_enabled",
        "script",
    ]

    event = forms.ChoiceField(label="Event", choices=[(e, e) for e in OUTGOING_EVENTS])
    targets = forms.CharField(
        label="Channels",
        required=False,
        widget=TEXTAREA,
        help_text=(
            "#channel, @userId, all_public_channels, all_private_groups or "
            "all_direct_messages; comma-separated or one per line."
        ),
    )
    trigger_words = forms.CharField(
        label="Trigger words",
        required=False,
        widget=TEXTAREA,
        help_text="Comma-separated or one per line; empty: every message.",
    )
    trigger_word_anywhere = forms.BooleanField(
        label="Trigger words anywhere in the message", required=False
    )
    urls = forms.CharField(
        label="URLs", widget=TEXTAREA, help_text="http(s) URLs called, one per line."
    )
    username = forms.CharField(
        label="Post answers as (username)",
        help_text="The userId answers are posted as; a bot member is made if missing.",
    )
    target_room = forms.CharField(
        label="Target room", required=False, help_text="#channel or @userId for the answers."
    )
    outgoing_token = forms.CharField(
        label="Token sent to the URLs",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The receiver checks it. On edit, leave empty to keep the current one.",
    )
    run_on_edits = forms.BooleanField(label="Run on edits", required=False)
    impersonate_user = forms.BooleanField(label="Impersonate the user", required=False)
    retry_failed_calls = forms.BooleanField(
        label="Retry failed calls", required=False, initial=True
    )
    retry_count = IntegerField(label="Retry count", initial=6)
    retry_delay = forms.ChoiceField(label="Retry delay", choices=[(d, d) for d in RETRY_DELAYS])

    def clean_targets(self) -> list[str]:
        return _lines(self.cleaned_data["targets"])

    def clean_trigger_words(self) -> list[str]:
        return _lines(self.cleaned_data["trigger_words"])

    def clean_urls(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["urls"].splitlines() if line.strip()]


#: Where the service names the fields of the channel-bound forms.
BOUND_FIELDS = {
    "channelID": "channel",
    "channel": "channel",
    "avatar": "avatar_url",
    "kind": "kind",
}


class ChannelField(forms.CharField):
    """A channelId, looked up by the view (``Channel`` of this organization)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Channel (channelId)")
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


class WebhookUrlForm(IntegrationForm):
    """A new Stackfield webhook URL (``POST /apiwh/<uuid>``): its kind and, for the kinds
    that act on one, its channel. It posts as the organization's ``stackfield`` bot."""

    service_fields = BOUND_FIELDS
    field_order = ["kind", "channel", "name"]

    kind = forms.ChoiceField(label="Kind", choices=STACKFIELD_KINDS)
    channel = ChannelField(
        help_text=(
            "The channel it posts into or acts on: needed by every kind but room settings "
            "(optional) and organization (none)."
        )
    )


class WebhookUrlEditForm(IntegrationForm):
    """A Stackfield URL keeps its kind and its channel (as in Stackfield, where a URL
    belongs to its room): only its name changes."""

    service_fields = BOUND_FIELDS


class MessagingWebhookForm(IntegrationForm):
    """A messaging API webhook (``/api/messaging/webhooks/``, which makes them and owns
    their channel, bot and trigger): its name and how its messages look (the API's
    ``username`` is the display name, ``alias`` here)."""

    service_fields = BOUND_FIELDS
    field_order = ["name", "alias", "avatar_url"]

    alias = _alias_field()
    avatar_url = _avatar_url_field()


class EnabledForm(forms.Form):
    enabled = forms.ChoiceField(choices=[("true", "Enable"), ("false", "Disable")])


class ConfirmForm(forms.Form):
    """An irreversible step: the box must be ticked (checked here, server-side)."""

    confirm = forms.BooleanField(
        label="I understand that this cannot be undone",
        error_messages={"required": "Tick the box to confirm; nothing was changed."},
    )


class IntegrationFilterForm(forms.Form):
    """The list's toolbar (GET)."""

    flavor = forms.ChoiceField(
        required=False, choices=[("", "Any"), *Integration.Flavor.choices], label="Flavor"
    )
    direction = forms.ChoiceField(
        required=False, choices=[("", "Any"), *Integration.Direction.choices], label="Direction"
    )
    enabled = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("yes", "Enabled"), ("no", "Disabled")],
        label="Enabled",
    )


class DeliveryFilterForm(forms.Form):
    """The deliveries log's toolbar (GET) on an outgoing integration's page."""

    status = forms.ChoiceField(
        required=False, choices=[("", "Any"), *Delivery.Status.choices], label="Status"
    )
