"""The HTML of the console's unbound action forms, rendered once per process.

Django renders a form through templates: a template for the form, one per field and one
per widget. A channel's page offers six action forms (mute, add, remove, ban, ...) and
rendered them on every view: a fifth of the page's time (issue 15). Their HTML depends
only on the form's class, its ``auto_id`` and the active language (the fields and their
choices are fixed in code, and a form's HTML holds no CSRF token), so
``static_form_html`` renders each once and keeps the result. Forms whose fields or
choices are computed per request (a member's channels, the organization's roles) or
that carry initial values are rendered as before. See docs/performance.md, "Console at
scale".
"""

from __future__ import annotations

from django import forms
from django.utils.safestring import SafeString
from django.utils.translation import get_language

_RENDERED: dict[tuple[type[forms.Form], str, str | None], SafeString] = {}


def static_form_html(form_class: type[forms.Form], *, auto_id: str) -> SafeString:
    """``form_class(auto_id=auto_id).as_div()``, rendered once per process and language."""
    key = (form_class, auto_id, get_language())
    html = _RENDERED.get(key)
    if html is None:
        html = _RENDERED[key] = SafeString(form_class(auto_id=auto_id).as_div())
    return html
