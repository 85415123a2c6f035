"""Reading "<when> <title>" from a chat, in London and New York, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.domain.natural import (
    ABBREVIATED_ZONES,
    CITY_ZONES,
    WhenError,
    WhenReading,
    example_date,
    parse_when,
)
from tests.helpers import utc

LONDON = "Europe/London"
NEW_YORK = "America/New_York"
# Tuesday 1 July 2025: 11:00 in London (BST), 06:00 in New York (EDT).
NOW = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)


def read(text: str, zone: str = LONDON, now: datetime = NOW) -> WhenReading:
    return parse_when(text, zone=zone, now=now)


@pytest.mark.parametrize(
    ("text", "london", "new_york", "all_day", "matched"),
    [
        ("2025-07-09", utc(2025, 7, 8, 23), utc(2025, 7, 9, 4), True, "2025-07-09"),
        ("2025-07-09 17:00", utc(2025, 7, 9, 16), utc(2025, 7, 9, 21), False, "2025-07-09 17:00"),
        ("2025-07-09T17:00", utc(2025, 7, 9, 16), utc(2025, 7, 9, 21), False, "2025-07-09T17:00"),
        ("9 July 17:00", utc(2025, 7, 9, 16), utc(2025, 7, 9, 21), False, "9 July 17:00"),
        ("9 Jul", utc(2025, 7, 8, 23), utc(2025, 7, 9, 4), True, "9 Jul"),
        ("9th of July", utc(2025, 7, 8, 23), utc(2025, 7, 9, 4), True, "9th of July"),
        ("July 9th, 2026", utc(2026, 7, 8, 23), utc(2026, 7, 9, 4), True, "July 9th, 2026"),
        ("July 9 5pm", utc(2025, 7, 9, 16), utc(2025, 7, 9, 21), False, "July 9 5pm"),
        (
            "July 9 5:30 pm",
            utc(2025, 7, 9, 16, 30),
            utc(2025, 7, 9, 21, 30),
            False,
            "July 9 5:30 pm",
        ),
        ("in 3 days", utc(2025, 7, 3, 23), utc(2025, 7, 4, 4), True, "in 3 days"),
        ("in a week", utc(2025, 7, 7, 23), utc(2025, 7, 8, 4), True, "in a week"),
        ("in 2 months", utc(2025, 8, 31, 23), utc(2025, 9, 1, 4), True, "in 2 months"),
        ("in 2 hours", utc(2025, 7, 1, 12), utc(2025, 7, 1, 12), False, "in 2 hours"),
        ("in 30m", utc(2025, 7, 1, 10, 30), utc(2025, 7, 1, 10, 30), False, "in 30m"),
        ("next Friday 09:00", utc(2025, 7, 4, 8), utc(2025, 7, 4, 13), False, "next Friday 09:00"),
        ("tomorrow noon", utc(2025, 7, 2, 11), utc(2025, 7, 2, 16), False, "tomorrow noon"),
        (
            "tomorrow at 9:30am",
            utc(2025, 7, 2, 8, 30),
            utc(2025, 7, 2, 13, 30),
            False,
            "tomorrow at 9:30am",
        ),
        ("today 18:00", utc(2025, 7, 1, 17), utc(2025, 7, 1, 22), False, "today 18:00"),
        ("today", utc(2025, 6, 30, 23), utc(2025, 7, 1, 4), True, "today"),
        ("Friday", utc(2025, 7, 3, 23), utc(2025, 7, 4, 4), True, "Friday"),
        ("on Friday", utc(2025, 7, 3, 23), utc(2025, 7, 4, 4), True, "on Friday"),
        ("Fri 4 Jul", utc(2025, 7, 3, 23), utc(2025, 7, 4, 4), True, "Fri 4 Jul"),
        ("25/7", utc(2025, 7, 24, 23), utc(2025, 7, 25, 4), True, "25/7"),
        ("7/25/2026", utc(2026, 7, 24, 23), utc(2026, 7, 25, 4), True, "7/25/2026"),
        ("5pm tomorrow", utc(2025, 7, 2, 16), utc(2025, 7, 2, 21), False, "5pm tomorrow"),
    ],
)
def test_each_form_in_london_and_new_york(
    text: str, london: datetime, new_york: datetime, all_day: bool, matched: str
) -> None:
    for zone, expected in ((LONDON, london), (NEW_YORK, new_york)):
        reading = read(f"{text} UK–US trade deal", zone)
        assert reading == WhenReading(expected, zone, all_day, "UK–US trade deal", matched)


def test_a_time_alone_means_its_next_occurrence() -> None:
    # 17:00 is still ahead today in both zones; 09:00 has passed in London (11:00) only.
    assert read("17:00 Call", LONDON).due_utc == utc(2025, 7, 1, 16)
    assert read("9am Call", LONDON).due_utc == utc(2025, 7, 2, 8)
    assert read("9am Call", NEW_YORK).due_utc == utc(2025, 7, 1, 13)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Tuesday 1 July: bare and "this" include today, "next" means 1 to 7 days ahead.
        ("Tuesday", utc(2025, 6, 30, 23)),
        ("this Tuesday", utc(2025, 6, 30, 23)),
        ("next Tuesday", utc(2025, 7, 7, 23)),
        ("Monday", utc(2025, 7, 6, 23)),
        ("next Monday", utc(2025, 7, 6, 23)),
        ("Wednesday", utc(2025, 7, 1, 23)),
        ("next wed", utc(2025, 7, 1, 23)),
        # A bare weekday at a time that has passed today rolls to next week.
        ("Tuesday 09:00", utc(2025, 7, 8, 8)),
        ("Tuesday 15:00", utc(2025, 7, 1, 14)),
    ],
)
def test_a_bare_weekday_includes_today_until_its_time_passes_and_next_means_1_to_7_days_on(
    text: str, expected: datetime
) -> None:
    assert read(f"{text} Talks").due_utc == expected


def test_year_less_dates_resolve_to_the_next_future_occurrence() -> None:
    assert read("30 June Deal").due_utc == utc(2026, 6, 29, 23)
    assert read("1 July Deal").due_utc == utc(2025, 6, 30, 23)  # today, all day
    assert read("1 July 09:00 Deal").due_utc == utc(2026, 7, 1, 8)  # passed at 11:00
    assert read("1 July 15:00 Deal").due_utc == utc(2025, 7, 1, 14)
    assert read("29 Feb Deal").due_utc == utc(2028, 2, 29)


def test_a_place_word_after_the_time_overrides_the_chat_zone() -> None:
    reading = read("July 9 5pm London Trade deal", NEW_YORK)
    assert reading == WhenReading(
        utc(2025, 7, 9, 16), LONDON, False, "Trade deal", "July 9 5pm London"
    )
    assert read("9 July 17:00 New York Deal").due_utc == utc(2025, 7, 9, 21)
    assert read("9 July 17:00 New York Deal").zone == NEW_YORK
    assert read("9 July 5 pm ET Deal").zone == NEW_YORK
    assert read("9 July 17:00 Asia/Tokyo Deal").due_utc == utc(2025, 7, 9, 8)
    assert read("9 July 17:00 UTC Deal").due_utc == utc(2025, 7, 9, 17)
    # Without a time a place word stays in the title; an IANA name still sets the zone.
    assert read("9 July London Tech Week") == WhenReading(
        utc(2025, 7, 8, 23), LONDON, True, "London Tech Week", "9 July"
    )
    assert read("9 July America/New_York Deal").due_utc == utc(2025, 7, 9, 4)


def test_titles_keep_their_words_and_lose_a_leading_separator() -> None:
    assert read("tomorrow - Tariff truce expires").title == "Tariff truce expires"
    assert read("9 July: Deal  deadline").title == "Deal deadline"
    assert read("Friday May Day rally").title == "May Day rally"
    assert read("9 July 5 ministers meet").title == "5 ministers meet"
    assert read("tomorrow at the summit").title == "at the summit"


def test_ambiguous_numeric_date_gets_a_specific_hint() -> None:
    with pytest.raises(WhenError) as caught:
        read("9/7 Trade deal")
    assert str(caught.value) == ("'9/7' could be 9 July or 7 September; write 2025-07-09 or 9 Jul")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "write when and what, e.g. '9 Jul 17:00 Trade deal deadline'"),
        (
            "Trade talks resume",
            "I can't read a date at the start of 'Trade talks resume'; write e.g. "
            f"{example_date()}, 9 Jul 17:00, tomorrow noon, next Friday 09:00 or in 3 days",
        ),
        (
            "9 July 17:00",
            "what is due 9 July 17:00? Add a title after it, "
            "e.g. '9 Jul 17:00 Trade deal deadline'",
        ),
        ("2025-06-30 Deal", "that is in the past: Mon 30 Jun 2025"),
        ("today 09:00 Deal", "that is in the past: Tue 1 Jul 2025 09:00 BST"),
        ("this Tuesday 09:00 Deal", "that is in the past: Tue 1 Jul 2025 09:00 BST"),
        ("2024-07-09 17:00 Deal", "that is in the past: Tue 9 Jul 2024 17:00 BST"),
        ("Friday 9 July Deal", "9 July 2025 is a Wednesday, not a Friday"),
        ("31 June Deal", "'31 june' is not a date"),
        ("2025-02-30 Deal", "'2025-02-30' is not a date"),
        ("25:00 Deal", "'25:00' is not a time of day"),
        ("13pm Deal", "'13pm' is not a time of day"),
        ("tomorrow midnight Deal", "'midnight' could mean the start or the end of the day"),
        ("in 99999 weeks Deal", "that is more than 10 years ahead"),
        ("2040-01-01 Deal", "that is more than 10 years ahead"),
        ("tomorrow " + "x" * 201, "a title can be at most 200 characters"),
        ("tomorrow " + "x " * 300, "that is longer than 500 characters"),
    ],
)
def test_unreadable_input_gets_a_specific_message(text: str, message: str) -> None:
    with pytest.raises(WhenError) as caught:
        read(text)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("today", ["2025-07-01", "2027-03-15", "2031-12-31"])
def test_the_example_date_in_hints_is_never_past(today: str) -> None:
    with time_machine.travel(datetime.fromisoformat(today + "T12:00+00:00"), tick=False):
        hinted = example_date()
        assert hinted > today
        assert read(f"{hinted} Deal", now=datetime.now(UTC)).due_utc > datetime.now(UTC)


def test_unknown_chat_zone_is_a_when_error() -> None:
    with pytest.raises(WhenError, match="'Mars/Olympus' is not a time zone"):
        parse_when("tomorrow Deal", zone="Mars/Olympus", now=NOW)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_when("tomorrow Deal", zone=LONDON, now=datetime(2025, 7, 1))


# DST: fixed clocks either side of the March and October changes.


def test_london_spring_forward_shifts_a_missing_time_on_and_hours_stay_elapsed_time() -> None:
    with time_machine.travel(utc(2025, 3, 29, 12), tick=False):
        now = datetime.now(UTC)
        # Monday 09:00 is BST; "in 48 hours" is elapsed time and ignores the wall clock.
        assert read("Monday 09:00 Talks", LONDON, now).due_utc == utc(2025, 3, 31, 8)
        assert read("in 48 hours Talks", LONDON, now).due_utc == utc(2025, 3, 31, 12)
        assert read("in 2 days Talks", LONDON, now).due_utc == utc(2025, 3, 30, 23)
        # 01:30 on 30 March does not exist: shifted forward to 02:30 BST.
        assert read("tomorrow 01:30 Talks", LONDON, now).due_utc == utc(2025, 3, 30, 1, 30)
        assert read("tomorrow 02:30 Talks", LONDON, now).due_utc == utc(2025, 3, 30, 1, 30)


def test_london_fall_back_takes_the_first_of_a_repeated_time() -> None:
    with time_machine.travel(utc(2025, 10, 25, 12), tick=False):
        now = datetime.now(UTC)
        assert read("tomorrow 01:30 Talks", LONDON, now).due_utc == utc(2025, 10, 26, 0, 30)
        assert read("tomorrow 09:00 Talks", LONDON, now).due_utc == utc(2025, 10, 26, 9)
        assert read("tomorrow Talks", LONDON, now).due_utc == utc(2025, 10, 25, 23)


def test_new_york_spring_forward_shifts_a_missing_time_on_and_later_times_are_edt() -> None:
    with time_machine.travel(utc(2025, 3, 8, 15), tick=False):
        now = datetime.now(UTC)
        # 02:30 on 9 March does not exist: shifted forward to 03:30 EDT.
        assert read("tomorrow 02:30 Talks", NEW_YORK, now).due_utc == utc(2025, 3, 9, 7, 30)
        assert read("tomorrow 09:00 Talks", NEW_YORK, now).due_utc == utc(2025, 3, 9, 13)


def test_new_york_fall_back_takes_the_first_of_a_repeated_time_and_later_times_are_est() -> None:
    with time_machine.travel(utc(2025, 11, 1, 15), tick=False):
        now = datetime.now(UTC)
        assert read("tomorrow 01:30 Talks", NEW_YORK, now).due_utc == utc(2025, 11, 2, 5, 30)
        assert read("tomorrow 09:00 Talks", NEW_YORK, now).due_utc == utc(2025, 11, 2, 14)


def test_chat_zone_differs_from_event_zone_between_the_two_changes() -> None:
    # 10 March 2025: New York is on EDT, London still on GMT; the offset is 4 hours not 5.
    now = utc(2025, 3, 10, 12)
    reading = read("tomorrow 09:00 New York Talks", LONDON, now)
    assert reading.due_utc == utc(2025, 3, 11, 13)
    assert reading.zone == NEW_YORK
    assert read("tomorrow 09:00 London Talks", NEW_YORK, now).due_utc == utc(2025, 3, 11, 9)


def test_day_words_follow_the_chat_calendar_and_the_time_the_event_zone() -> None:
    # 02:00 UTC on 11 March: already the 11th in London, still the 10th in New York.
    now = utc(2025, 3, 11, 2)
    assert read("tomorrow 09:00 New York Talks", LONDON, now).due_utc == utc(2025, 3, 12, 13)
    assert read("tomorrow 09:00 Talks", NEW_YORK, now).due_utc == utc(2025, 3, 11, 13)


def test_every_place_and_abbreviation_names_a_real_zone() -> None:
    for zone in [*CITY_ZONES.values(), *ABBREVIATED_ZONES.values()]:
        assert ZoneInfo(zone).key == zone
