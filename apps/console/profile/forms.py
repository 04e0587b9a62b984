"""Forms of the profile page (an Account's own Personal Access Tokens)."""

from __future__ import annotations

from django import forms

from apps.organizations.models import AccessToken


class PersonalTokenIssueForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=AccessToken._meta.get_field("name").max_length,
        help_text="What the token is for, e.g. “my laptop” or “calendar integration”.",
    )
