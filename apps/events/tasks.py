"""Placeholder-free minimal dispatcher hook; the dispatcher itself lives here too."""

from __future__ import annotations


def request_dispatch() -> None:
    """Ask a worker to dispatch pending events (coalesced; see dispatch_pending)."""
    return None
