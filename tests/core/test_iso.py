"""``iso()``: the one way the product writes a time (UTC, ``Z``)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from apps.core.sweeps import iso


def _reference(value: datetime) -> str:
    """The plain definition: converted to UTC, ISO 8601, ``+00:00`` written ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_iso_of_none_is_none() -> None:
    assert iso(None) is None


def test_iso_writes_utc_with_z_and_microseconds_only_when_there_are_some() -> None:
    assert iso(datetime(2026, 12, 6, 8, 1, 2, tzinfo=UTC)) == "2026-12-06T08:01:02Z"
    assert iso(datetime(2026, 12, 6, 8, 1, 2, 5, tzinfo=UTC)) == "2026-12-06T08:01:02.000005Z"


def test_iso_converts_other_time_zones_to_utc() -> None:
    paris = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert iso(paris) == "2026-07-01T08:00:00Z"
    assert iso(datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=-5)))) == (
        "2026-01-01T05:30:00Z"
    )


def test_iso_equals_its_plain_definition_over_many_times_and_zones() -> None:
    """Zones incl. UTC itself, another UTC object, daylight saving and fixed offsets; a
    naive time (None: read as local time by both)."""
    rng = random.Random(12)
    zones: list[Any] = [
        UTC,
        ZoneInfo("UTC"),
        ZoneInfo("Asia/Kolkata"),
        ZoneInfo("America/New_York"),
        None,
    ]
    zones += [timezone(timedelta(minutes=m)) for m in (-720, -90, 0, 345, 840)]
    start = datetime(1970, 1, 2, tzinfo=UTC)
    for _ in range(5000):
        moment = start + timedelta(seconds=rng.randrange(0, 5_000_000_000))
        moment = moment.replace(microsecond=rng.choice([0, rng.randrange(1, 1_000_000)]))
        zone = rng.choice(zones)
        value = moment.replace(tzinfo=None) if zone is None else moment.astimezone(zone)
        assert iso(value) == _reference(value), value
