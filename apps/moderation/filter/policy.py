"""Applying the organization's policy to the texts of one message: a URL the whitelist
does not allow is refused; blacklisted text is refused (``block``), accepted for a
system report (``flag``) or stored masked (``mask``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from apps.core.errors import DomainError, quoted
from apps.moderation.filter.cache import matcher_for
from apps.organizations.models import Organization

#: Mask passes before a text that still matches is blocked instead (a pattern that
#: matches the mask itself, such as ``\*+``, cannot be masked away).
MAX_MASK_PASSES = 3


@dataclass(frozen=True)
class FilterOutcome:
    """What the message services store and do after filtering (no exception = the
    message is accepted).

    ``texts``: field -> text to store (masked under the ``mask`` policy, else as given).
    ``hits``: field -> the first record the field's text matched (``flag`` and ``mask``).
    ``flag_reason``: the reason of the system report to open (``flag`` policy), or None.
    """

    policy: str
    texts: dict[str, str]
    hits: dict[str, str] = field(default_factory=dict)

    @property
    def flag_reason(self) -> str | None:
        if self.policy != Organization.FilterPolicy.FLAG or not self.hits:
            return None
        return "Blacklisted content: " + ", ".join(dict.fromkeys(self.hits.values()))


def _blacklisted(field: str, record: str) -> DomainError:
    return DomainError(
        "blacklisted_content",
        f"The message contains blacklisted content (record {quoted(record)}).",
        field=field,
    )


def filter_message_texts(
    *, organization: Organization, texts: dict[str, str], policy: str | None = None
) -> FilterOutcome:
    """Apply the organization's content filter to the texts of one message
    (field -> text: ``data.text``, ``caption``, ``text``).

    - A URL the whitelist does not allow: DomainError ``url_not_whitelisted`` under
      every policy.
    - A blacklisted text: ``block`` (default) raises DomainError ``blacklisted_content``
      naming the first matching record; ``flag`` accepts it unchanged (the caller opens
      a system report with :attr:`FilterOutcome.flag_reason`); ``mask`` returns it with
      the matched spans replaced by ``***``.

    ``policy`` overrides the organization's (``check_message_text`` passes ``block``).
    """
    policy = policy or organization.filter_policy or Organization.FilterPolicy.BLOCK
    present = {k: v for k, v in texts.items() if isinstance(v, str) and v}
    if not present:
        return FilterOutcome(policy=policy, texts=dict(texts))
    matcher = matcher_for(organization)
    result = dict(texts)
    hits: dict[str, str] = {}
    for name, text in present.items():
        hit = matcher.blacklist_hit(text)
        if hit is not None and policy == Organization.FilterPolicy.BLOCK:
            raise _blacklisted(name, hit)
        url = matcher.first_disallowed_url(text)
        if url is not None:
            raise DomainError(
                "url_not_whitelisted", f"The URL {quoted(url)} is not whitelisted.", field=name
            )
        if hit is None:
            continue
        hits[name] = hit
        if policy == Organization.FilterPolicy.MASK:
            masked = text
            for _ in range(MAX_MASK_PASSES):
                masked = matcher.mask(masked)
                if matcher.blacklist_hit(masked) is None:
                    break
            else:
                raise _blacklisted(name, hit)  # the mask itself matches: cannot mask
            result[name] = masked
    return FilterOutcome(policy=policy, texts=result, hits=hits)


def check_message_text(
    *, organization: Organization, texts: list[str], field: str = "data"
) -> None:
    """Raise if any of the texts is blacklisted (whatever the organization's policy) or
    has a URL the whitelist does not allow. For callers that only need ``block``."""
    texts = [t for t in texts if isinstance(t, str) and t]
    if not texts:
        return
    matcher = matcher_for(organization)
    for text in texts:
        hit = matcher.blacklist_hit(text)
        if hit is not None:
            raise _blacklisted(field, hit)
        url = matcher.first_disallowed_url(text)
        if url is not None:
            raise DomainError(
                "url_not_whitelisted", f"The URL {quoted(url)} is not whitelisted.", field=field
            )
