"""``apps.console.links.Link``: a URL reversed once and formatted per row must be the URL
``reverse()`` (and so ``{% url %}``) gives for every value, or "" where it refuses."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from apps.console.links import Link

VALUES = [
    "alice",
    "user 1",
    "ünïcode-名前",
    "a%20b",
    "q?x=1&y=2#frag",
    "semi;colon,comma+plus",
    "~tilde:at@",
    "h6linkmarker",
    "0042",
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("name", ["console:user", "console:channel", "console:channel_unban"])
def test_a_link_formats_the_url_reverse_gives(name: str, value: str) -> None:
    assert Link(name, "acme")(value) == reverse(name, args=["acme", value])


def test_a_user_link_keeps_a_slash_as_the_path_converter_does() -> None:
    assert Link("console:user", "acme")("team/bob") == reverse(
        "console:user", args=["acme", "team/bob"]
    )


def test_values_the_pattern_refuses_give_an_empty_link_where_url_would_raise() -> None:
    with pytest.raises(NoReverseMatch):
        reverse("console:channel", args=["acme", "a/b"])
    assert Link("console:channel", "acme")("a/b") == ""
    assert Link("console:channel", "acme")("") == ""
    review = Link("console:review_item", "acme")
    assert review(17) == reverse("console:review_item", args=["acme", 17])
    assert review("x17") == ""


def test_a_name_without_one_varying_part_is_refused_at_once() -> None:
    with pytest.raises(NoReverseMatch):
        Link("console:home")
