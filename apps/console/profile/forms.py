"""Forms of the profile page (an Account's own Personal Access Tokens)."""

from __future__ import annotations

from django import forms

from apps.accounts.models import Account
from apps.organizations.models import AccessToken


class PersonalTokenIssueForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=AccessToken._meta.get_field("name").max_length,
        help_text="What the token is for, e.g. “my laptop” or “calendar integration”.",
    )


class PreferencesForm(forms.Form):
    """The console preferences: the profile page sends both fields, the top bar's theme
    toggle only ``theme`` (a field left out keeps its value)."""

    theme = forms.ChoiceField(label="Colour scheme", choices=Account.Theme.choices, required=False)
    keyboard_shortcuts = forms.TypedChoiceField(
        label="Single-key shortcuts",
        choices=[("on", "On"), ("off", "Off: keys pressed alone do nothing")],
        coerce=lambda value: value == "on",
        empty_value=None,
        required=False,
        help_text="Off turns every single-key shortcut off, the help overlay (?) too; "
        "the “Keyboard shortcuts” button in the top bar still lists them.",
    )
