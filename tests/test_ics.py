"""iCalendar feeds: expansion of the real holiday calendars and of the RFC 5545 forms we rely on."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from jobs.deadlines.ics import MAX_CALENDAR_BYTES, CalendarError, CalendarEvent, parse_calendar
from tests.helpers import utc

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
UK_ICS = (SAMPLES / "uk-holidays-recurring-with-overrides.ics").read_bytes()
US_ICS = (SAMPLES / "us-holidays-recurring.ics").read_bytes()
LONDON = "Europe/London"
NEW_YORK = "America/New_York"


def in_year(body: bytes, zone: str, year: int) -> list[CalendarEvent]:
    return parse_calendar(body, default_zone=zone, start=utc(year, 1, 1), end=utc(year + 1, 1, 1))


def by_title(events: list[CalendarEvent]) -> dict[str, CalendarEvent]:
    return {event.title: event for event in events}


def test_uk_calendar_has_13_events_a_year_and_its_overrides_move_them_never_add_any() -> None:
    everything = parse_calendar(
        UK_ICS, default_zone=LONDON, start=utc(2000, 1, 1), end=utc(2040, 1, 1)
    )
    # 13 yearly events from 2021 to 2030; the 42 overrides move occurrences, never add any.
    assert len(everything) == 130
    assert len({event.key for event in everything}) == 130
    assert Counter(event.due_utc.year for event in everything)[2026] == 13
    assert len(in_year(UK_ICS, LONDON, 2026)) == 13
    assert sum("(substitute)" in event.title for event in everything) == 23
    # 41 of the 42 overrides move their occurrence (one restates 2 January 2024 as it was).
    moved = [
        event
        for event in everything
        if event.occurrence_key != event.due_utc.astimezone(ZoneInfo(LONDON)).strftime("%Y%m%d")
    ]
    assert len(moved) == 41


def test_uk_substitute_days_apply() -> None:
    events = by_title(in_year(UK_ICS, LONDON, 2026))
    boxing = events["Boxing Day (substitute)"]
    assert boxing.uid == "518c9bd2-93eb-443b-ad5d-966416f95caf"
    assert boxing.occurrence_key == "20261226"
    assert boxing.recurrence_id_or_occurrence_key == "20261226"
    assert boxing.key == "518c9bd2-93eb-443b-ad5d-966416f95caf#20261226"
    assert boxing.due_utc == utc(2026, 12, 28)
    assert boxing.all_day is True
    assert boxing.zone == LONDON
    boyne = events["Battle of the Boyne (Orangemen's Day) (substitute)"]
    assert boyne.due_utc == utc(2026, 7, 12, 23)  # 13 July, 00:00 BST
    assert boyne.occurrence_key == "20260712"
    # Good Friday is an override of a fixed-date rule, moved to the real date each year.
    assert events["Good Friday"].due_utc == utc(2026, 4, 2, 23)
    assert events["Easter Monday"].due_utc == utc(2026, 4, 5, 23)
    assert "Boxing Day" not in events


def test_uk_date_time_until_against_date_start_keeps_the_last_year() -> None:
    events = in_year(UK_ICS, LONDON, 2030)
    second = [event for event in events if event.title.startswith("2nd January")]
    assert [(event.title, event.due_utc) for event in second] == [("2nd January", utc(2030, 1, 2))]
    assert len(events) == 13


def test_us_calendar_expands_counted_rules_and_puts_2026_holidays_all_day_in_new_york() -> None:
    everything = parse_calendar(
        US_ICS, default_zone=NEW_YORK, start=utc(2000, 1, 1), end=utc(2040, 1, 1)
    )
    # 24 events repeat with COUNT=10 (2021–2030) and 6 happen once in 2021.
    assert len(everything) == 246
    assert len({event.key for event in everything}) == 246
    events = in_year(US_ICS, NEW_YORK, 2026)
    assert len(events) == 24
    named = by_title(events)
    thanksgiving = named["Thanksgiving Day"]
    assert thanksgiving.due_utc == utc(2026, 11, 26, 5)
    assert thanksgiving.occurrence_key == "20261126"
    assert named["ML King Day"].due_utc == utc(2026, 1, 19, 5)
    assert named["Memorial Day"].due_utc == utc(2026, 5, 25, 4)
    assert named["Daylight Saving Time ends today"].due_utc == utc(2026, 11, 1, 4)
    assert all(event.all_day and event.zone == NEW_YORK for event in events)


def test_us_mixed_date_and_date_time_stays_all_day() -> None:
    # DTSTART;VALUE=DATE:20210101 with DTEND:20210101T050001Z is still a whole day.
    new_year = by_title(in_year(US_ICS, NEW_YORK, 2026))["New Year's Day"]
    assert new_year.all_day is True
    assert new_year.due_utc == utc(2026, 1, 1, 5)
    assert new_year.uid == "243379537850136179"
    assert new_year.description == "New Years Day"


def test_us_one_off_events_have_an_empty_occurrence_key() -> None:
    easter = by_title(in_year(US_ICS, NEW_YORK, 2021))["Easter"]
    assert easter.occurrence_key == ""
    assert easter.key == easter.uid
    assert easter.due_utc == utc(2021, 4, 4, 4)


def test_all_day_events_use_the_default_zone() -> None:
    thanksgiving = by_title(in_year(US_ICS, LONDON, 2026))["Thanksgiving Day"]
    assert thanksgiving.due_utc == utc(2026, 11, 26)
    assert thanksgiving.zone == LONDON


def test_refetch_gives_the_same_keys() -> None:
    first = in_year(UK_ICS, LONDON, 2027)
    second = in_year(UK_ICS, LONDON, 2027)
    assert first == second
    assert [event.key for event in first] == [event.key for event in second]


def test_window_is_start_inclusive_end_exclusive() -> None:
    # Christmas Day 2026 in London is due at 2026-12-25 00:00 UTC.
    inside = parse_calendar(
        UK_ICS, default_zone=LONDON, start=utc(2026, 12, 25), end=utc(2026, 12, 26)
    )
    assert [event.title for event in inside] == ["Christmas Day"]
    before = parse_calendar(
        UK_ICS, default_zone=LONDON, start=utc(2026, 12, 20), end=utc(2026, 12, 25)
    )
    assert before == []


SYNTHETIC = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Herald tests//EN\r
X-WR-TIMEZONE:Europe/Brussels\r
BEGIN:VEVENT\r
UID:talks@example.org\r
SUMMARY:Trade talks round\r
URL:https://example.org/talks\r
DESCRIPTION:Weekly round\\, Tuesdays\r
DTSTART;TZID=America/New_York:20250304T083000\r
RRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20250401T123000Z\r
EXDATE;TZID=America/New_York:20250318T083000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:talks@example.org\r
RECURRENCE-ID;TZID=America/New_York:20250325T083000\r
SUMMARY:Trade talks round (moved)\r
DTSTART;TZID=America/New_York:20250326T100000\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:board@example.org\r
SUMMARY:Board meeting\r
DTSTART:20250310T170000\r
RRULE:FREQ=MONTHLY;BYDAY=-1MO,2MO;COUNT=3\r
URL:javascript:alert(1)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cancelled@example.org\r
SUMMARY:Called off\r
STATUS:CANCELLED\r
DTSTART:20250320T120000Z\r
END:VEVENT\r
BEGIN:VEVENT\r
SUMMARY:No uid\r
DTSTART;VALUE=DATE:20250321\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_synthetic_rrule_exdate_override_until_count_and_floating_times() -> None:
    events = parse_calendar(
        SYNTHETIC, default_zone=LONDON, start=utc(2025, 3, 1), end=utc(2025, 5, 1)
    )
    rows = [(event.key, event.title, event.due_utc, event.zone) for event in events]
    assert rows == [
        (
            "talks@example.org#20250304T133000Z",
            "Trade talks round",
            utc(2025, 3, 4, 13, 30),
            NEW_YORK,
        ),
        (
            "board@example.org#20250310T160000Z",
            "Board meeting",
            utc(2025, 3, 10, 16),
            "Europe/Brussels",
        ),
        (
            "talks@example.org#20250311T123000Z",
            "Trade talks round",
            utc(2025, 3, 11, 12, 30),
            NEW_YORK,
        ),
        (events[3].uid, "No uid", utc(2025, 3, 20, 23), "Europe/Brussels"),
        (
            "talks@example.org#20250325T123000Z",
            "Trade talks round (moved)",
            utc(2025, 3, 26, 14),
            NEW_YORK,
        ),
        (
            "board@example.org#20250331T150000Z",
            "Board meeting",
            utc(2025, 3, 31, 15),
            "Europe/Brussels",
        ),
        (
            "talks@example.org#20250401T123000Z",
            "Trade talks round",
            utc(2025, 4, 1, 12, 30),
            NEW_YORK,
        ),
        (
            "board@example.org#20250414T150000Z",
            "Board meeting",
            utc(2025, 4, 14, 15),
            "Europe/Brussels",
        ),
    ]
    assert events[3].uid.startswith("sha1:") and events[3].all_day
    assert events[0].url == "https://example.org/talks"
    assert events[0].description == "Weekly round, Tuesdays"
    assert events[1].url is None


def test_missing_uid_digest_is_stable() -> None:
    def no_uid_key() -> str:
        events = parse_calendar(
            SYNTHETIC, default_zone=LONDON, start=utc(2025, 3, 1), end=utc(2025, 5, 1)
        )
        return next(event.key for event in events if event.title == "No uid")

    assert no_uid_key() == no_uid_key()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not an iCalendar feed: no BEGIN:VCALENDAR at the start"),
        (b"<html>nope</html>", "not an iCalendar feed"),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n", "not a readable iCalendar feed"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:2025xx\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "cannot expand the calendar's events",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20250101T100000Z\r\n"
            b"RRULE:FREQ=NEVER\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "cannot expand the calendar's events",
        ),
        (b"BEGIN:VCALENDAR\r\n" + b"X" * MAX_CALENDAR_BYTES, "calendar is larger than"),
    ],
)
def test_malformed_calendars_raise_calendar_error(body: bytes, message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        parse_calendar(body, default_zone=LONDON, start=utc(2025, 1, 1), end=utc(2026, 1, 1))


def test_naive_window_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_calendar(UK_ICS, default_zone=LONDON, start=datetime(2025, 1, 1), end=utc(2026, 1, 1))
