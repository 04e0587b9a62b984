"""The ``expires`` forms of a status (apps.presence.expiry): every form the document lists,
in the member's time zone (UTC when none), DST-safe; bad or past values are 400."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.core.errors import DomainError
from apps.presence.expiry import Expiry, member_zone, parse_expires

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone).replace(fold=fold).astimezone(UTC)


# --- no expiry, when-active ---------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_expires_means_until_cleared(value) -> None:
    assert parse_expires(value, now=utc(2024, 5, 20, 10)) == Expiry(None, until_active=False)


@pytest.mark.parametrize("value", ["when-active", "WHEN-ACTIVE", " when-active "])
def test_when_active_is_data_not_a_time(value) -> None:
    assert parse_expires(value, now=utc(2024, 5, 20, 10)) == Expiry(None, until_active=True)


# --- afternoon, tomorrow ------------------------------------------------------------------


def test_afternoon_ends_at_six_pm_today_in_utc() -> None:
    assert parse_expires("afternoon", now=utc(2024, 5, 20, 13)).expires_at == utc(2024, 5, 20, 18)


def test_afternoon_after_six_pm_ends_at_six_pm_tomorrow() -> None:
    now = utc(2024, 5, 20, 18, 30)
    assert parse_expires("afternoon", now=now).expires_at == utc(2024, 5, 21, 18)


def test_afternoon_is_read_in_the_member_s_time_zone() -> None:
    now = utc(2024, 5, 20, 10)  # 12:00 in Berlin (CEST, UTC+2)
    ends = parse_expires("afternoon", now=now, time_zone="Europe/Berlin").expires_at
    assert ends == local(BERLIN, 2024, 5, 20, 18) == utc(2024, 5, 20, 16)


def test_tomorrow_is_the_start_of_the_next_local_day() -> None:
    now = utc(2024, 5, 20, 23, 30)  # already the 21st, 01:30, in Berlin
    assert parse_expires("tomorrow", now=now).expires_at == utc(2024, 5, 21)
    berlin = parse_expires("tomorrow", now=now, time_zone="Europe/Berlin").expires_at
    assert berlin == local(BERLIN, 2024, 5, 22) == utc(2024, 5, 21, 22)


def test_tomorrow_across_a_dst_change_is_local_midnight() -> None:
    now = local(NEW_YORK, 2024, 3, 9, 12)  # the clocks spring forward on the 10th
    ends = parse_expires("tomorrow", now=now, time_zone="America/New_York").expires_at
    assert ends == utc(2024, 3, 10, 5)  # midnight EST
    now = local(NEW_YORK, 2024, 3, 10, 12)
    ends = parse_expires("tomorrow", now=now, time_zone="America/New_York").expires_at
    assert ends == utc(2024, 3, 11, 4)  # midnight EDT: 23 hours later


# --- durations ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "delta"),
    [
        ("1h", timedelta(hours=1)),
        ("30m", timedelta(minutes=30)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("90 m", timedelta(minutes=90)),
        ("1M", timedelta(minutes=1)),
    ],
)
def test_a_duration_counts_from_now(value, delta) -> None:
    now = utc(2024, 5, 20, 10, 15, 30)
    assert parse_expires(value, now=now).expires_at == now + delta


def test_a_duration_is_elapsed_time_across_a_dst_change() -> None:
    now = local(BERLIN, 2024, 3, 31, 1, 30)  # clocks jump 02:00 -> 03:00
    ends = parse_expires("1h", now=now, time_zone="Europe/Berlin").expires_at
    assert ends - now == timedelta(hours=1)
    assert ends.astimezone(BERLIN).hour == 3  # the wall clock says 03:30


@pytest.mark.parametrize("value", ["0m", "0h", "1", "h", "1w", "-1h", "1.5h", "1h-", "9999999d"])
def test_a_bad_duration_is_refused(value) -> None:
    with pytest.raises(DomainError) as caught:
        parse_expires(value, now=utc(2024, 5, 20, 10))
    assert caught.value.code == "invalid_parameter"
    assert caught.value.field == "expires"


def test_a_duration_beyond_a_year_is_refused() -> None:
    with pytest.raises(DomainError):
        parse_expires("400d", now=utc(2024, 5, 20, 10))
    assert parse_expires("366d", now=utc(2024, 5, 20, 10)).expires_at is not None


# --- clock times --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1 PM", utc(2024, 5, 20, 13)),
        ("1pm", utc(2024, 5, 20, 13)),
        ("1 p.m.", utc(2024, 5, 20, 13)),
        ("1:30 PM", utc(2024, 5, 20, 13, 30)),
        ("13:00", utc(2024, 5, 20, 13)),
        ("11 AM", utc(2024, 5, 21, 11)),  # passed today: tomorrow
        ("12 PM", utc(2024, 5, 20, 12)),
        ("12 AM", utc(2024, 5, 21, 0)),
        ("11:59", utc(2024, 5, 20, 11, 59)),
        ("09:00", utc(2024, 5, 21, 9)),
        ("11:30", utc(2024, 5, 21, 11, 30)),  # now exactly: not in the future
    ],
)
def test_a_time_is_today_or_tomorrow_if_it_has_passed(value, expected) -> None:
    now = utc(2024, 5, 20, 11, 30)
    assert parse_expires(value, now=now).expires_at == expected


def test_a_time_is_the_member_s_local_time() -> None:
    now = utc(2024, 1, 15, 12)  # 07:00 in New York (EST, UTC-5)
    ends = parse_expires("1 PM", now=now, time_zone="America/New_York").expires_at
    assert ends == utc(2024, 1, 15, 18)


def test_a_time_skipped_by_dst_lands_after_the_change() -> None:
    now = local(NEW_YORK, 2024, 3, 10, 0, 30)  # 02:00-03:00 does not exist that night
    ends = parse_expires("2:30 AM", now=now, time_zone="America/New_York").expires_at
    assert ends == utc(2024, 3, 10, 7, 30)  # 03:30 EDT: the same wall time, one hour on
    assert ends > now


def test_a_time_repeated_by_dst_is_its_next_occurrence() -> None:
    zone = "America/New_York"  # 01:00-02:00 happens twice on 2024-11-03
    first = local(NEW_YORK, 2024, 11, 3, 1, 30, fold=0)
    assert parse_expires(
        "1:30 AM", now=first - timedelta(minutes=10), time_zone=zone
    ).expires_at == (first)
    second = local(NEW_YORK, 2024, 11, 3, 1, 30, fold=1)
    assert second - first == timedelta(hours=1)
    ends = parse_expires("1:30 AM", now=first + timedelta(minutes=5), time_zone=zone).expires_at
    assert ends == second  # the repeated 01:30, still to come today


@pytest.mark.parametrize("value", ["13 PM", "0 AM", "24:00", "12:60", "7:5", "1 XM", "25"])
def test_an_impossible_time_is_refused(value) -> None:
    with pytest.raises(DomainError) as caught:
        parse_expires(value, now=utc(2024, 5, 20, 10))
    assert caught.value.code == "invalid_parameter"


# --- dates and date-times -----------------------------------------------------------------


def test_a_date_lasts_through_that_day() -> None:
    now = utc(2019, 5, 19, 10)
    assert parse_expires("2019-05-20", now=now).expires_at == utc(2019, 5, 21)
    berlin = parse_expires("2019-05-20", now=now, time_zone="Europe/Berlin").expires_at
    assert berlin == local(BERLIN, 2019, 5, 21) == utc(2019, 5, 20, 22)


def test_today_s_date_lasts_until_midnight() -> None:
    now = utc(2019, 5, 20, 23)
    assert parse_expires("2019-05-20", now=now).expires_at == utc(2019, 5, 21)


@pytest.mark.parametrize("value", ["2019-05-19", "2000-01-01", "0001-01-01"])
def test_a_past_date_is_refused(value) -> None:
    with pytest.raises(DomainError) as caught:
        parse_expires(value, now=utc(2019, 5, 20, 10))
    assert caught.value.code == "invalid_parameter"
    assert "ended" in caught.value.message


def test_a_date_that_ended_in_the_member_s_zone_is_past() -> None:
    now = utc(2019, 5, 20, 23)  # already the 21st in Berlin
    with pytest.raises(DomainError):
        parse_expires("2019-05-20", now=now, time_zone="Europe/Berlin")


@pytest.mark.parametrize("value", ["2019-02-30", "2019-13-01", "9999-12-31", "2021-01-01x"])
def test_an_impossible_or_far_date_is_refused(value) -> None:
    with pytest.raises(DomainError):
        parse_expires(value, now=utc(2019, 5, 20, 10))


def test_an_iso_date_time_is_that_instant() -> None:
    now = utc(2019, 5, 20, 10)
    assert parse_expires("2019-05-20T15:00:00Z", now=now).expires_at == utc(2019, 5, 20, 15)
    offset = parse_expires("2019-05-20T15:00:00+02:00", now=now).expires_at
    assert offset == utc(2019, 5, 20, 13)
    naive = parse_expires("2019-05-20T15:00", now=now, time_zone="Europe/Berlin").expires_at
    assert naive == utc(2019, 5, 20, 13)


@pytest.mark.parametrize(
    "value", ["2019-05-20T09:00:00Z", "2019-05-20T25:00", "0001-01-01T00:00:00+05:00"]
)
def test_a_past_or_bad_date_time_is_refused(value) -> None:
    with pytest.raises(DomainError):
        parse_expires(value, now=utc(2019, 5, 20, 10))


# --- anything else ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["soon", "tomorrow 1h", "next week", "x" * 65, "1h; DROP"])
def test_anything_else_is_refused_naming_the_field(value) -> None:
    with pytest.raises(DomainError) as caught:
        parse_expires(value, now=utc(2024, 5, 20, 10))
    assert caught.value.code == "invalid_parameter"
    assert caught.value.field == "expires"


@pytest.mark.parametrize("name", ["", "Not/AZone", "../etc/passwd", "UTC"])
def test_an_empty_or_unknown_time_zone_is_utc(name) -> None:
    assert member_zone(name).utcoffset(datetime(2024, 1, 1)) == timedelta(0)
    now = utc(2024, 5, 20, 10)
    assert parse_expires("1 PM", now=now, time_zone=name).expires_at == utc(2024, 5, 20, 13)
