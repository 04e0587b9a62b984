"""``apps.console.static_forms``: an unbound action form's HTML, rendered once per
process, is the HTML the form renders itself, per ``auto_id`` and per language."""

from __future__ import annotations

from django.utils import translation

from apps.console.channels.forms import ChannelMuteForm, MembersBanForm
from apps.console.static_forms import static_form_html


def test_the_kept_html_is_what_the_form_renders() -> None:
    for form_class in (ChannelMuteForm, MembersBanForm):
        first = static_form_html(form_class, auto_id="x_%s")
        assert first == form_class(auto_id="x_%s").as_div()
        assert static_form_html(form_class, auto_id="x_%s") is first


def test_each_auto_id_and_language_has_its_own_html() -> None:
    mute = static_form_html(ChannelMuteForm, auto_id="mute_%s")
    other = static_form_html(ChannelMuteForm, auto_id="other_%s")
    assert 'id="mute_reason"' in mute and 'id="other_reason"' in other
    with translation.override("de"):
        assert static_form_html(ChannelMuteForm, auto_id="mute_%s") is not mute
