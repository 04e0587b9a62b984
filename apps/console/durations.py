"""The console's one list of durations, for every mute and ban it offers.

Discord's set: 60 s, 5 min, 10 min, 1 h, 1 d, 1 week, plus ``custom`` (minutes typed)
and ``forever`` (labelled "permanent": until unmuted or unbanned). The review item's
action panel, a user's page (mute, global ban), a channel's page (channel mute, member
bans) and the bulk actions all offer exactly these, as radio buttons in this order.

The form values are the keys below; ``24h`` and ``7d`` (the presets before this list)
are still accepted and mean ``1d`` and ``1w``, so old links and scripts keep working.
:class:`DurationMixin` turns the choice into the milliseconds the services take
(``mute_period`` / ``ban_period``; ``-1`` is "forever" for both).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from apps.channels.services.channels import MAX_MUTE_PERIOD_MS, MUTE_FOREVER
from apps.core.form_fields import IntegerField

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
#: The longest custom duration, in minutes (the services' ten-year bound).
MAX_MINUTES = MAX_MUTE_PERIOD_MS // MINUTE_MS
#: What the services take for "until unmuted / unbanned" (mutes and bans alike).
FOREVER_MS = MUTE_FOREVER

CUSTOM = "custom"
FOREVER = "forever"


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    ms: int


#: The presets, shortest first.
PRESETS: tuple[Preset, ...] = (
    Preset("60s", "60 s", 60 * SECOND_MS),
    Preset("5m", "5 min", 5 * MINUTE_MS),
    Preset("10m", "10 min", 10 * MINUTE_MS),
    Preset("1h", "1 h", HOUR_MS),
    Preset("1d", "1 d", DAY_MS),
    Preset("1w", "1 week", 7 * DAY_MS),
)
PRESET_MS: dict[str, int] = {p.key: p.ms for p in PRESETS}
#: Former keys still accepted (same length of time).
ALIASES = {"24h": "1d", "7d": "1w"}
FOREVER_LABEL = "permanent"
CUSTOM_LABEL = "custom"


def duration_choices(*, forever: bool = True) -> list[tuple[str, str]]:
    """The choices of a duration field, in the order shown: the presets, "permanent"
    (unless ``forever=False``), "custom"."""
    choices = [(p.key, p.label) for p in PRESETS]
    if forever:
        choices.append((FOREVER, FOREVER_LABEL))
    choices.append((CUSTOM, CUSTOM_LABEL))
    return choices


def canonical_key(key: str) -> str:
    """The current key for ``key`` (``24h`` → ``1d``); unknown keys are returned as is."""
    return ALIASES.get(key, key)


def duration_ms(key: str, minutes: int | None = None) -> int:
    """Milliseconds for a valid key (``forever``: -1; ``custom``: ``minutes``)."""
    key = canonical_key(key)
    if key == FOREVER:
        return FOREVER_MS
    if key == CUSTOM:
        if minutes is None:
            raise ValueError("a custom duration needs minutes")
        return int(minutes) * MINUTE_MS
    return PRESET_MS[key]


def duration_label(ms: int) -> str:
    """``1 h``, ``1 week``, ``90 min``, ``3 d``, ``permanent``: how long, for messages."""
    if ms < 0:
        return FOREVER_LABEL
    for preset in PRESETS:
        if preset.ms == ms:
            return preset.label
    if ms % DAY_MS == 0:
        return f"{ms // DAY_MS} d"
    if ms % HOUR_MS == 0:
        return f"{ms // HOUR_MS} h"
    if ms % MINUTE_MS == 0:
        return f"{ms // MINUTE_MS} min"
    return f"{ms // SECOND_MS} s"


class DurationChoiceField(forms.ChoiceField):
    """A duration key as radio buttons (``class="duration-presets"``); the former keys
    (:data:`ALIASES`) are valid and cleaned to the current ones."""

    def __init__(self, *, forever: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Duration")
        kwargs.setdefault("widget", forms.RadioSelect(attrs={"class": "duration-preset"}))
        super().__init__(choices=duration_choices(forever=forever), **kwargs)

    def to_python(self, value: Any) -> str:
        return canonical_key(super().to_python(value))


class DurationMixin(forms.Form):
    """``duration`` (a preset, ``forever`` or ``custom`` with ``minutes``) →
    :meth:`period_ms`. Subclasses set ``FOREVER_ALLOWED`` and ``DEFAULT``."""

    FOREVER_ALLOWED = True
    DEFAULT = "1h"

    duration = DurationChoiceField()
    minutes = IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_MINUTES,
        label="Custom minutes",
        help_text="Only for a custom duration.",
        error_messages={"invalid": "Enter a whole number of minutes."},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "duration-minutes"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["duration"] = DurationChoiceField(
            forever=self.FOREVER_ALLOWED, initial=self.DEFAULT
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if (
            data.get("duration") == CUSTOM
            and not data.get("minutes")
            and "minutes" not in self.errors
        ):
            self.add_error("minutes", "Enter the number of minutes for a custom duration.")
        return data

    def period_ms(self) -> int:
        """The chosen duration in milliseconds (-1: forever)."""
        return duration_ms(self.cleaned_data["duration"], self.cleaned_data.get("minutes"))
