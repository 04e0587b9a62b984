"""Links of console pages built once per page, not one ``{% url %}`` per table row.

A ``{% url %}`` tag resolves its arguments and walks the URL resolver on every row: on a
page of 50 rows with three links each it was most of the rendering time (issue 15). A
``Link`` reverses its URL name once, with a marker in place of the one part that varies
(a channel id, a userId, a report id), and then fills rows in by string formatting,
quoting the part exactly as ``reverse()`` does. See docs/performance.md, "Console at
scale".
"""

from __future__ import annotations

from urllib.parse import quote

from django.urls import NoReverseMatch, reverse
from django.utils.regex_helper import _lazy_re_compile

#: What ``reverse()`` leaves unquoted in a path (django.urls.resolvers).
SAFE = "!$&'()*+,;=" + "/~:@"
#: Stand-ins that every console converter accepts (``str``, ``path``, ``int``).
_MARKERS = ("h6linkmarker", "987654321987")
_DIGITS = _lazy_re_compile(r"^\d+$")


class Link:
    """``Link("console:user", org_slug)("alice")`` == ``reverse("console:user",
    args=[org_slug, "alice"])``, with the resolver walked once per ``Link``.

    The varying part is the last positional argument. Values the URL pattern would
    refuse (an ``int`` part that is not a number, a ``str`` part with a slash) give the
    empty string, where ``{% url %}`` would have raised ``NoReverseMatch``.
    """

    __slots__ = ("_head", "_numeric", "_single", "_tail")

    def __init__(self, name: str, *args: str) -> None:
        for marker in _MARKERS:
            try:
                url = reverse(name, args=[*args, marker])
            except NoReverseMatch:
                continue
            self._head, _, self._tail = url.rpartition(marker)
            self._numeric = marker.isdigit()
            # A "str" part takes no slash; a "path" part does (reversing tells which).
            try:
                reverse(name, args=[*args, f"{marker}/{marker}"])
                self._single = False
            except NoReverseMatch:
                self._single = True
            return
        raise NoReverseMatch(f"{name} takes no single varying part")

    def __call__(self, value: object) -> str:
        text = str(value)
        if not text or (self._numeric and not _DIGITS.match(text)):
            return ""
        if self._single and "/" in text:
            return ""
        return f"{self._head}{quote(text, safe=SAFE)}{self._tail}"
