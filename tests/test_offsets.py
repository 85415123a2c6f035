"""Reminder offsets, date-only deadlines and local-to-UTC rules, across DST changes."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.domain.offsets import (
    Offset,
    OffsetError,
    ZoneError,
    due_from_date,
    fire_time,
    format_offset,
    local_to_utc,
    parse_offset,
    parse_offsets,
    zone_info,
)
from tests.helpers import utc

LONDON = "Europe/London"
NEW_YORK = "America/New_York"


@pytest.mark.parametrize(
    ("text", "days", "minutes", "canonical"),
    [
        ("7d", 7, 0, "7d"),
        ("1d", 1, 0, "1d"),
        ("2h", 0, 120, "2h"),
        ("30m", 0, 30, "30m"),
        ("1w", 7, 0, "7d"),
        ("0", 0, 0, "0"),
        ("0d", 0, 0, "0"),
        ("1d12h", 1, 720, "1d12h"),
        ("1D 12H", 1, 720, "1d12h"),
        ("90m", 0, 90, "1h30m"),
        ("25h", 0, 1500, "25h"),
        ("2w3d", 17, 0, "17d"),
    ],
)
def test_parse_offset_reads_each_form(text: str, days: int, minutes: int, canonical: str) -> None:
    offset = parse_offset(text)
    assert offset == Offset(days=days, minutes=minutes)
    assert offset.text == canonical
    assert str(offset) == canonical


def test_parse_offset_accepts_the_integer_zero_yaml_gives() -> None:
    assert parse_offset(0) == Offset()


@pytest.mark.parametrize("text", ["7x", "", "d", "7", "-1d", "1h1d", "1d1d", "1.5h", "7 days"])
def test_parse_offset_rejects_garbage_with_a_hint(text: str) -> None:
    with pytest.raises(OffsetError) as caught:
        parse_offset(text)
    assert "write e.g. 7d, 1d, 2h, 30m or 0" in str(caught.value)


def test_parse_offset_message_names_the_input() -> None:
    with pytest.raises(
        OffsetError, match=r"^'7x' is not an offset; write e.g. 7d, 1d, 2h, 30m or 0$"
    ):
        parse_offset("7x")


def test_parse_offset_rejects_offsets_over_a_year() -> None:
    with pytest.raises(OffsetError, match="at most 366 days"):
        parse_offset("367d")
    assert parse_offset("366d") == Offset(days=366)


def test_offsets_order_by_nominal_length() -> None:
    ordered = sorted(parse_offset(text) for text in ["1d", "0", "25h", "23h", "7d", "30m", "1w"])
    assert [offset.text for offset in ordered] == ["0", "30m", "23h", "1d", "25h", "7d", "7d"]
    assert parse_offset("24h") != parse_offset("1d")
    assert parse_offset("24h") < parse_offset("1d")
    assert not parse_offset("1d") < parse_offset("24h")
    assert not parse_offset("1d") < parse_offset("1d")  # strict: an offset is not before itself


def test_parse_offsets_dedupes_and_sorts_largest_first() -> None:
    offsets = parse_offsets(["1h", "7d", 0, "1d", "1w"])
    assert [offset.text for offset in offsets] == ["7d", "1d", "1h", "0"]


@pytest.mark.parametrize(
    ("text", "human"),
    [
        ("7d", "7 days"),
        ("1d", "1 day"),
        ("1h", "1 hour"),
        ("2h", "2 hours"),
        ("30m", "30 minutes"),
        ("1m", "1 minute"),
        ("1d12h", "1 day 12 hours"),
        ("0", "at the due time"),
    ],
)
def test_an_offset_is_written_back_in_plain_words(text: str, human: str) -> None:
    assert format_offset(parse_offset(text)) == human


def test_fire_time_counts_days_on_the_local_calendar() -> None:
    due = local_to_utc(datetime(2025, 7, 9, 17, 0), LONDON)
    assert due == utc(2025, 7, 9, 16, 0)
    assert fire_time(due, parse_offset("1d"), LONDON) == utc(2025, 7, 8, 16, 0)
    assert fire_time(due, parse_offset("7d"), LONDON) == utc(2025, 7, 2, 16, 0)
    assert fire_time(due, parse_offset("1h"), LONDON) == utc(2025, 7, 9, 15, 0)
    assert fire_time(due, parse_offset("0"), LONDON) == due


def test_fire_time_keeps_the_wall_time_across_spring_forward() -> None:
    # London moved to BST at 01:00 UTC on Sunday 30 March 2025: 17:00 local is 16:00 UTC on
    # 30 and 31 March but 17:00 UTC on the 29th, so 2d before is 47 elapsed hours.
    due = local_to_utc(datetime(2025, 3, 31, 17, 0), LONDON)
    assert fire_time(due, parse_offset("1d"), LONDON) == utc(2025, 3, 30, 16, 0)
    assert fire_time(due, parse_offset("2d"), LONDON) == utc(2025, 3, 29, 17, 0)
    # Hours are elapsed time: 24h before is an hour earlier on the wall clock.
    assert fire_time(due, parse_offset("24h"), LONDON) == utc(2025, 3, 30, 16, 0)
    assert fire_time(due, parse_offset("48h"), LONDON) == utc(2025, 3, 29, 16, 0)


def test_fire_time_keeps_the_wall_time_across_fall_back_in_new_york() -> None:
    # New York left EDT on Sunday 2 November 2025.
    due = local_to_utc(datetime(2025, 11, 3, 8, 30), NEW_YORK)
    assert due == utc(2025, 11, 3, 13, 30)
    assert fire_time(due, parse_offset("1d"), NEW_YORK) == utc(2025, 11, 2, 13, 30)
    assert fire_time(due, parse_offset("2d"), NEW_YORK) == utc(2025, 11, 1, 12, 30)
    assert fire_time(due, parse_offset("1w"), NEW_YORK) == utc(2025, 10, 27, 12, 30)
    assert fire_time(due, parse_offset("1d12h"), NEW_YORK) == utc(2025, 11, 2, 1, 30)


def test_fire_time_uses_the_event_zone_not_the_chat_zone() -> None:
    # A New York deadline seen from a London chat: the weeks between the US (9 Mar) and the
    # UK (30 Mar) changes. Days count on New York's calendar.
    due = local_to_utc(datetime(2025, 3, 10, 9, 0), NEW_YORK)
    assert due == utc(2025, 3, 10, 13, 0)
    assert fire_time(due, parse_offset("1d"), NEW_YORK) == utc(2025, 3, 9, 13, 0)
    assert fire_time(due, parse_offset("2d"), NEW_YORK) == utc(2025, 3, 8, 14, 0)
    assert fire_time(due, parse_offset("2d"), LONDON) == utc(2025, 3, 8, 13, 0)


def test_fire_time_landing_in_a_gap_shifts_forward() -> None:
    # 01:30 on 30 March 2025 does not exist in London (01:00 jumps to 02:00).
    due = local_to_utc(datetime(2025, 3, 31, 1, 30), LONDON)
    fired = fire_time(due, parse_offset("1d"), LONDON)
    assert fired == utc(2025, 3, 30, 1, 30)
    assert fired.astimezone(ZoneInfo(LONDON)).strftime("%H:%M %Z") == "02:30 BST"


def test_fire_time_landing_in_a_fold_takes_the_first_occurrence() -> None:
    # 01:30 on 26 October 2025 happens twice in London: 00:30 UTC (BST) and 01:30 UTC (GMT).
    due = local_to_utc(datetime(2025, 10, 27, 1, 30), LONDON)
    assert fire_time(due, parse_offset("1d"), LONDON) == utc(2025, 10, 26, 0, 30)


def test_local_to_utc_gap_and_fold_rules() -> None:
    assert local_to_utc(datetime(2025, 3, 30, 1, 30), LONDON) == utc(2025, 3, 30, 1, 30)
    assert local_to_utc(datetime(2025, 3, 9, 2, 30), NEW_YORK) == utc(2025, 3, 9, 7, 30)
    assert local_to_utc(datetime(2025, 10, 26, 1, 30), LONDON) == utc(2025, 10, 26, 0, 30)
    assert local_to_utc(datetime(2025, 11, 2, 1, 30), NEW_YORK) == utc(2025, 11, 2, 5, 30)


def test_local_to_utc_rejects_aware_input_and_unknown_zones() -> None:
    with pytest.raises(ValueError, match="naive"):
        local_to_utc(utc(2025, 1, 1), LONDON)
    with pytest.raises(ZoneError, match="'Mars/Olympus' is not a time zone"):
        local_to_utc(datetime(2025, 1, 1), "Mars/Olympus")


def test_due_from_date_is_local_midnight_at_the_start_of_the_day() -> None:
    assert due_from_date(date(2025, 7, 9), LONDON) == utc(2025, 7, 8, 23, 0)
    assert due_from_date(date(2025, 1, 9), LONDON) == utc(2025, 1, 9, 0, 0)
    assert due_from_date(date(2025, 7, 9), NEW_YORK) == utc(2025, 7, 9, 4, 0)
    assert due_from_date(date(2025, 7, 9), "UTC") == utc(2025, 7, 9, 0, 0)


def test_due_from_date_where_midnight_is_skipped() -> None:
    # Santiago skipped 00:00–01:00 on 7 September 2025; the day starts at 01:00 (-03).
    assert due_from_date(date(2025, 9, 7), "America/Santiago") == utc(2025, 9, 7, 4, 0)


def test_date_only_reminders_count_from_local_midnight() -> None:
    due = due_from_date(date(2025, 7, 9), LONDON)
    assert fire_time(due, parse_offset("1d"), LONDON) == utc(2025, 7, 7, 23, 0)
    # Across the October change the day before still starts at local midnight.
    due = due_from_date(date(2025, 10, 27), LONDON)
    assert fire_time(due, parse_offset("1d"), LONDON) == utc(2025, 10, 25, 23, 0)


def test_fire_time_does_not_read_the_wall_clock() -> None:
    due = local_to_utc(datetime(2025, 3, 31, 17, 0), LONDON)
    with time_machine.travel(utc(2025, 3, 30, 0, 59), tick=False):
        before = fire_time(due, parse_offset("1d"), LONDON)
    with time_machine.travel(utc(2025, 3, 30, 1, 1), tick=False):
        after = fire_time(due, parse_offset("1d"), LONDON)
    assert before == after == utc(2025, 3, 30, 16, 0)


def test_fire_time_rejects_naive_due() -> None:
    with pytest.raises(ValueError, match="aware"):
        fire_time(datetime(2025, 7, 9), parse_offset("1d"), LONDON)


@pytest.mark.parametrize("fields", [{"days": -1}, {"minutes": -5}, {"days": -1, "minutes": -5}])
def test_a_negative_offset_is_refused_with_the_reason(fields: dict[str, int]) -> None:
    with pytest.raises(OffsetError, match=r"^an offset cannot be negative; "):
        Offset(**fields)


def test_the_longest_offset_is_a_year_and_a_day_to_the_minute() -> None:
    assert Offset(days=366).nominal_minutes == 366 * 24 * 60
    with pytest.raises(OffsetError, match="at most 366 days"):
        Offset(days=366, minutes=1)


def test_offset_text_of_the_longest_allowed_length() -> None:
    at_limit = "1d" + " " * 29 + "2h"  # 33 characters: one too many to read
    assert parse_offset(at_limit[:-3] + "2h") == Offset(days=1, minutes=120)  # 32 characters
    with pytest.raises(OffsetError):
        parse_offset(at_limit)


def test_results_are_utc_whatever_the_machine_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        moved = local_to_utc(datetime(2025, 7, 9, 17, 0), LONDON)
        fired = fire_time(utc(2025, 7, 9, 16), Offset(minutes=30), LONDON)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert moved.utcoffset() == fired.utcoffset() == timedelta(0)
    assert (moved, fired) == (utc(2025, 7, 9, 16), utc(2025, 7, 9, 15, 30))


def test_an_ambiguous_wall_time_is_its_first_occurrence_whatever_fold_it_carries() -> None:
    # 01:30 happens twice in London on 26 Oct 2025: first in BST (00:30 UTC), then GMT.
    assert local_to_utc(datetime(2025, 10, 26, 1, 30, fold=1), LONDON) == utc(2025, 10, 26, 0, 30)


def test_naive_and_aware_inputs_are_refused_where_the_other_is_expected() -> None:
    with pytest.raises(ValueError, match=r"^local_to_utc expects a naive wall-clock datetime$"):
        local_to_utc(utc(2025, 7, 9), LONDON)
    with pytest.raises(ValueError, match=r"^fire_time expects an aware datetime$"):
        fire_time(datetime(2025, 7, 9), Offset(), LONDON)


def test_units_out_of_order_or_repeated_are_refused_with_the_rule_and_the_input() -> None:
    for text in ("2h1d", "1d1d"):
        with pytest.raises(OffsetError) as caught:
            parse_offset(text)
        assert str(caught.value) == (
            f"'{text}' is not an offset; write e.g. 7d, 1d, 2h, 30m or 0"
            " (each unit once, largest first)"
        )


def test_the_longest_offset_refusal_says_the_limit_exactly() -> None:
    with pytest.raises(OffsetError) as caught:
        Offset(days=367)
    assert str(caught.value) == "an offset can be at most 366 days"


@pytest.mark.parametrize(
    ("zone", "shown"),
    [
        ("Mars/Olympus", "Mars/Olympus"),
        ("X" * 64, "X" * 64),
        ("X" * 65, "X" * 63 + "…"),
    ],
    ids=["short", "64-characters-shown-whole", "65-characters-cut-to-63-and-an-ellipsis"],
)
def test_an_unknown_zone_is_refused_naming_it_cut_to_64_characters(zone: str, shown: str) -> None:
    with pytest.raises(ZoneError) as caught:
        zone_info(zone)
    assert str(caught.value) == f"'{shown}' is not a time zone; write e.g. Europe/London"
