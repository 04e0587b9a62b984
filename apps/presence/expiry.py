"""When a status ends: the ``expires`` forms of ``POST /api/messaging/status/``.

Every form is read in the member's time zone (``Member.time_zone``, an IANA name; empty
or unknown means UTC) and gives an instant in UTC, or "until the member is next active":

==================  ============================================================
``""`` / absent     no expiry: the status stays until cleared or replaced
``when-active``     until the member next posts a message (``until_active``)
``afternoon``       until 18:00 today; from 18:00 on, until 18:00 tomorrow
``tomorrow``        until the start (00:00) of the next day
``1h``, ``30m``     a duration: ``\\d+`` then ``m``, ``h`` or ``d`` (a day is 24 hours
                    of elapsed time); combinable (``1h30m``); at least one minute
``1 PM``, ``13:00`` today at that time, or tomorrow if that time has passed
(also ``1:30pm``,
``12 AM``)
``2019-05-20``      through that day: until the start of the next day; a day that
                    has already ended is refused
ISO date-time       that instant (``2019-05-20T15:00:00Z``); without an offset it is
                    local time; a past instant is refused
==================  ============================================================

DST-safe: wall-clock forms are resolved with :mod:`zoneinfo`. A time that does not exist
on that day (the hour skipped in spring) is read as the same wall time before the change
(so it lands one hour later in real time); a time that occurs twice (the hour repeated in
autumn) is its first occurrence still to come. Durations are elapsed time and ignore the
clock. Nothing ends more than :data:`MAX_AHEAD` from now; anything else is 400
``invalid_parameter`` on the field ``expires``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.core.errors import DomainError

WHEN_ACTIVE = "when-active"
AFTERNOON_ENDS = time(18, 0)
#: No status is set to end further ahead than this.
MAX_AHEAD = timedelta(days=366)
MAX_LENGTH = 64

_DURATION = re.compile(r"^(?:\d{1,6}\s*[mhd]\s*)+$")
_DURATION_PART = re.compile(r"(\d{1,6})\s*([mhd])")
_UNITS = {"m": 60, "h": 3600, "d": 86400}
_CLOCK_12 = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s*m\.?$")
_CLOCK_24 = re.compile(r"^(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Expiry:
    """``expires_at`` (UTC, None: no time limit) and ``until_active``."""

    expires_at: datetime | None
    until_active: bool = False


def member_zone(name: str | None) -> tzinfo:
    """The IANA zone ``name``, or UTC when empty or unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _invalid(message: str) -> DomainError:
    return DomainError("invalid_parameter", message, field="expires")


def _instant(day: date, at: time, zone: tzinfo, fold: int = 0) -> datetime:
    """The UTC instant of the wall time ``day at`` in ``zone`` (a skipped wall time is
    normalized by the round trip through UTC)."""
    return datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC)


def _occurrences(day: date, at: time, zone: tzinfo) -> list[datetime]:
    """The instants of the wall time ``day at`` in ``zone``, in order: one, two for a
    repeated hour, and for a skipped one the same wall time before the change (one hour
    later in real time)."""
    wall = datetime.combine(day, at)
    real = sorted(
        {
            instant
            for fold in (0, 1)
            if (instant := _instant(day, at, zone, fold)).astimezone(zone).replace(tzinfo=None)
            == wall
        }
    )
    return real or [_instant(day, at, zone, 0)]


def _next_wall_time(at: time, now: datetime, zone: tzinfo) -> datetime:
    """The first instant after ``now`` whose wall time in ``zone`` is ``at``: today's, else
    tomorrow's (both occurrences of a repeated hour are candidates)."""
    today = now.astimezone(zone).date()
    for day in (today, today + timedelta(days=1), today + timedelta(days=2)):
        for candidate in _occurrences(day, at, zone):
            if candidate > now:
                return candidate
    raise _invalid("The time could not be resolved.")  # pragma: no cover


def _start_of_day_after(day: date, zone: tzinfo) -> datetime:
    return _instant(day + timedelta(days=1), time(0, 0), zone)


def _clock(text: str) -> time | None:
    match = _CLOCK_12.match(text)
    if match:
        hour, minute = int(match[1]), int(match[2] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise _invalid("A 12-hour time is 1-12, with minutes 00-59 (e.g. '1 PM').")
        hour = hour % 12 + (12 if match[3] == "p" else 0)
        return time(hour, minute)
    match = _CLOCK_24.match(text)
    if match:
        hour, minute = int(match[1]), int(match[2])
        if hour > 23 or minute > 59:
            raise _invalid("A 24-hour time is 00:00-23:59 (e.g. '13:00').")
        return time(hour, minute)
    return None


def _date_time(text: str, zone: tzinfo) -> datetime | None:
    if len(text) < 11 or not text[:4].isdigit() or "t" not in text[10:11]:
        return None
    try:
        value = datetime.fromisoformat(text.upper())
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _invalid("Not a valid ISO 8601 date and time.") from None


def parse_expires(value: str | None, *, now: datetime, time_zone: str | None = "") -> Expiry:
    """The end of a status set at ``now`` (aware) with ``expires`` = ``value``, read in
    ``time_zone`` (see the module docstring); 400 ``invalid_parameter`` if it is not one
    of the forms, already past, or too far ahead."""
    text = (value or "").strip().lower()
    if not text:
        return Expiry(None)
    if len(text) > MAX_LENGTH:
        raise _invalid(f"expires must be at most {MAX_LENGTH} characters.")
    zone = member_zone(time_zone)
    now = now.astimezone(UTC)
    local_today = now.astimezone(zone).date()
    if text == WHEN_ACTIVE:
        return Expiry(None, until_active=True)
    if text == "afternoon":
        ends = _next_wall_time(AFTERNOON_ENDS, now, zone)
    elif text == "tomorrow":
        ends = _start_of_day_after(local_today, zone)
    elif _DURATION.match(text):
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))
        if seconds < 60:
            raise _invalid("A duration is at least one minute (e.g. '30m', '1h', '2d').")
        if seconds > MAX_AHEAD.total_seconds():
            raise _invalid(f"A status ends at most {MAX_AHEAD.days} days ahead.")
        ends = now + timedelta(seconds=seconds)
    elif (at := _clock(text)) is not None:
        ends = _next_wall_time(at, now, zone)
    elif _DATE.match(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise _invalid("Not a valid date (YYYY-MM-DD).") from None
        if day < local_today:
            raise _invalid("That day has already ended.")
        if day - local_today > MAX_AHEAD:
            raise _invalid(f"A status ends at most {MAX_AHEAD.days} days ahead.")
        ends = _start_of_day_after(day, zone)
        if ends <= now:
            raise _invalid("That day has already ended.")
    elif (instant := _date_time(text, zone)) is not None:
        if instant <= now:
            raise _invalid("That time has already passed.")
        ends = instant
    else:
        raise _invalid(
            "expires must be one of: when-active, afternoon, tomorrow, a duration "
            "('30m', '1h', '2d'), a time ('1 PM', '13:00'), a date ('2019-05-20') or an "
            "ISO 8601 date-time."
        )
    if ends - now > MAX_AHEAD:
        raise _invalid(f"A status ends at most {MAX_AHEAD.days} days ahead.")
    return Expiry(ends)
