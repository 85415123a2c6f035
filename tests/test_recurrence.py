"""Recurring deadlines: RRULE and cron occurrences at a fixed local time across DST."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine

from bot.domain.recurrence import (
    RecurrenceError,
    next_after,
    next_occurrence,
    occurrences,
    validate_rule,
)
from tests.helpers import utc

NEW_YORK = "America/New_York"
LONDON = "Europe/London"
# The US employment report: first Friday of each month, 08:30 New York time.
JOBS_REPORT_RRULE = "FREQ=MONTHLY;BYDAY=1FR"
JOBS_REPORT_CRON = "30 8 * * 5#1"
START_2025 = datetime(2025, 1, 1, 8, 30)


# First Fridays of 2025 in UTC: 13:30 under EST, 12:30 under EDT (9 Mar – 2 Nov).
FIRST_FRIDAYS_2025 = [
    utc(2025, 1, 3, 13, 30),
    utc(2025, 2, 7, 13, 30),
    utc(2025, 3, 7, 13, 30),
    utc(2025, 4, 4, 12, 30),
    utc(2025, 5, 2, 12, 30),
    utc(2025, 6, 6, 12, 30),
    utc(2025, 7, 4, 12, 30),
    utc(2025, 8, 1, 12, 30),
    utc(2025, 9, 5, 12, 30),
    utc(2025, 10, 3, 12, 30),
    utc(2025, 11, 7, 13, 30),
    utc(2025, 12, 5, 13, 30),
]


@pytest.mark.parametrize(
    "rule", [JOBS_REPORT_RRULE, "RRULE:" + JOBS_REPORT_RRULE, JOBS_REPORT_CRON]
)
def test_first_friday_keeps_0830_new_york_across_dst(rule: str) -> None:
    found = occurrences(
        rule,
        dtstart_local=START_2025,
        zone=NEW_YORK,
        after=utc(2025, 1, 1),
        before=utc(2026, 1, 1),
    )
    assert found == FIRST_FRIDAYS_2025


def test_window_is_open_at_after_and_closed_at_before() -> None:
    found = occurrences(
        JOBS_REPORT_RRULE,
        dtstart_local=START_2025,
        zone=NEW_YORK,
        after=utc(2025, 3, 7, 13, 30),
        before=utc(2025, 5, 2, 12, 30),
    )
    assert found == [utc(2025, 4, 4, 12, 30), utc(2025, 5, 2, 12, 30)]


def test_occurrences_start_at_dtstart() -> None:
    found = occurrences(
        JOBS_REPORT_RRULE,
        dtstart_local=datetime(2025, 6, 1, 8, 30),
        zone=NEW_YORK,
        after=utc(2025, 1, 1),
        before=utc(2025, 8, 1),
    )
    assert found == [utc(2025, 6, 6, 12, 30), utc(2025, 7, 4, 12, 30)]


def test_limit_returns_the_earliest() -> None:
    found = occurrences(
        "FREQ=DAILY",
        dtstart_local=datetime(2025, 1, 1, 9, 0),
        zone=LONDON,
        after=utc(2025, 1, 1),
        before=utc(2026, 1, 1),
        limit=3,
    )
    assert found == [utc(2025, 1, 1, 9), utc(2025, 1, 2, 9), utc(2025, 1, 3, 9)]


def test_daily_rule_across_both_london_changes() -> None:
    found = occurrences(
        "FREQ=DAILY",
        dtstart_local=datetime(2025, 1, 1, 9, 0),
        zone=LONDON,
        after=utc(2025, 3, 29),
        before=utc(2025, 3, 31, 23),
    )
    assert found == [utc(2025, 3, 29, 9), utc(2025, 3, 30, 8), utc(2025, 3, 31, 8)]
    found = occurrences(
        "0 9 * * *",
        dtstart_local=datetime(2025, 1, 1),
        zone=LONDON,
        after=utc(2025, 10, 25),
        before=utc(2025, 10, 27, 23),
    )
    assert found == [utc(2025, 10, 25, 8), utc(2025, 10, 26, 9), utc(2025, 10, 27, 9)]


def test_rule_time_in_the_spring_gap_shifts_forward_and_fold_takes_first() -> None:
    gap = occurrences(
        "30 1 * * *",
        dtstart_local=datetime(2025, 1, 1),
        zone=LONDON,
        after=utc(2025, 3, 29),
        before=utc(2025, 3, 31, 12),
    )
    # 01:30 on 30 March does not exist: it fires at 02:30 BST (01:30 UTC).
    assert gap == [utc(2025, 3, 29, 1, 30), utc(2025, 3, 30, 1, 30), utc(2025, 3, 31, 0, 30)]
    fold = occurrences(
        "30 1 * * *",
        dtstart_local=datetime(2025, 1, 1),
        zone=LONDON,
        after=utc(2025, 10, 25, 12),
        before=utc(2025, 10, 27, 12),
    )
    # 01:30 on 26 October happens twice: the first (BST) one is used, once.
    assert fold == [utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]


def test_utc_until_is_honoured_against_a_local_start() -> None:
    found = occurrences(
        "FREQ=MONTHLY;BYDAY=1FR;UNTIL=20250502T123000Z",
        dtstart_local=START_2025,
        zone=NEW_YORK,
        after=utc(2025, 1, 1),
        before=utc(2026, 1, 1),
    )
    assert found == FIRST_FRIDAYS_2025[:5]


def test_count_limits_a_rule() -> None:
    found = occurrences(
        "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=3",
        dtstart_local=datetime(2025, 9, 1, 10, 0),
        zone=LONDON,
        after=utc(2025, 1, 1),
        before=utc(2026, 1, 1),
    )
    assert found == [utc(2025, 9, 1, 9), utc(2025, 9, 4, 9), utc(2025, 9, 8, 9)]


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        # last Friday of the month (5L), 17:00 London
        ("0 17 * * 5L", [utc(2025, 1, 31, 17), utc(2025, 2, 28, 17), utc(2025, 3, 28, 17)]),
        # last day of the month
        ("0 12 L * *", [utc(2025, 1, 31, 12), utc(2025, 2, 28, 12), utc(2025, 3, 31, 11)]),
        # named month and weekday, list
        ("0 9 * jan,mar mon", [utc(2025, 1, 6, 9), utc(2025, 1, 13, 9), utc(2025, 1, 20, 9)]),
        # both day fields restricted: either matches (the 1st, or any Sunday)
        ("0 9 1 * 0", [utc(2025, 1, 1, 9), utc(2025, 1, 5, 9), utc(2025, 1, 12, 9)]),
        # steps and ranges
        ("0 9-17/4 10 * *", [utc(2025, 1, 10, 9), utc(2025, 1, 10, 13), utc(2025, 1, 10, 17)]),
        # 7 is Sunday too
        ("15 6 * * 7", [utc(2025, 1, 5, 6, 15), utc(2025, 1, 12, 6, 15), utc(2025, 1, 19, 6, 15)]),
    ],
)
def test_each_cron_form_gives_its_first_three_london_occurrences(
    cron: str, expected: list[datetime]
) -> None:
    found = occurrences(
        cron,
        dtstart_local=datetime(2025, 1, 1),
        zone=LONDON,
        after=utc(2025, 1, 1),
        before=utc(2026, 1, 1),
        limit=3,
    )
    assert found == expected


def test_next_occurrence_is_strictly_after_the_moment_and_none_once_the_rule_ends() -> None:
    def after(rule: str, moment: datetime) -> datetime | None:
        return next_occurrence(rule, dtstart_local=START_2025, zone=NEW_YORK, after=moment)

    assert after(JOBS_REPORT_CRON, utc(2025, 3, 7, 13, 30)) == utc(2025, 4, 4, 12, 30)
    assert after(JOBS_REPORT_RRULE, utc(2025, 3, 7, 13, 29)) == utc(2025, 3, 7, 13, 30)
    assert after("FREQ=MONTHLY;BYDAY=1FR;COUNT=2", utc(2025, 3, 1)) is None


def test_next_occurrence_from_the_wall_clock_during_dst_change() -> None:
    # Just after New York's March change, as a scheduler would ask it.
    with time_machine.travel(utc(2025, 3, 9, 7, 5), tick=False):
        now = datetime.now(UTC)
        found = next_occurrence("0 9 * * *", dtstart_local=START_2025, zone=NEW_YORK, after=now)
    assert found == utc(2025, 3, 9, 13, 0)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("", "a rule must be 1 to 300 characters"),
        ("garbage", "'garbage' has no FREQ"),
        ("FREQ=MINUTELY", "FREQ=MINUTELY is too frequent or unknown for a deadline"),
        ("FREQ=FORTNIGHTLY", "FREQ=FORTNIGHTLY is too frequent or unknown"),
        ("FREQ=WEEKLY;BYDAY=XX", "is not a rule I can read"),
        ("FREQ=HOURLY;BYMINUTE=0,30", "occurs more than once an hour"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
        ("DTSTART:20250101T000000\nRRULE:FREQ=DAILY", "give only the RRULE part"),
        ("* * * * *", "occurs more than once an hour"),
        ("61 8 * * *", "in cron rule '61 8 * * *': '61' is not between 0 and 59"),
        ("30 8 * * 8", "'8' is not between 0 and 7"),
        ("30 8 * * 5#6", "'5#6' asks for week 6; a month has weeks 1 to 5"),
        ("30 8 31 2 *", "never occurs"),
        ("30 8 5-1 * *", "'5-1' is an empty range"),
        ("30 8 */0 * *", "'*/0' has no valid step"),
    ],
)
def test_validate_rule_rejects_with_a_specific_message(rule: str, message: str) -> None:
    with pytest.raises(RecurrenceError, match=message.replace("*", r"\*")):
        validate_rule(rule)


@pytest.mark.parametrize(
    "rule",
    [JOBS_REPORT_RRULE, JOBS_REPORT_CRON, "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "0 * * * *"],
)
def test_validate_rule_accepts_usable_rules(rule: str) -> None:
    validate_rule(rule, zone=NEW_YORK)


def test_occurrences_reject_a_zoned_start() -> None:
    with pytest.raises(ValueError, match="naive"):
        occurrences(
            JOBS_REPORT_RRULE,
            dtstart_local=utc(2025, 1, 1),
            zone=NEW_YORK,
            after=utc(2025, 1, 1),
            before=utc(2026, 1, 1),
        )


def test_rare_rules_stay_fast() -> None:
    # CPU time of this process: other work on a loaded machine does not count against it.
    started = time.process_time()
    found = occurrences(
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=SA",
        dtstart_local=START_2025,
        zone=LONDON,
        after=utc(2025, 1, 1),
        before=utc(2026, 1, 1),
    )
    assert found == []
    assert time.process_time() - started < 0.5


# Where APScheduler's CronTrigger.from_crontab reads a crontab differently (why recurrence.py
# keeps its own reader, docs/dependencies.md): 0 is Sunday, and a day of the month OR a day of
# the week matches when both are given.
@pytest.mark.parametrize(
    ("rule", "first"),
    [
        ("0 9 * * 0", utc(2026, 1, 4, 9)),  # Sunday 4 January; CronTrigger: Monday 5th
        ("0 9 * * 7", utc(2026, 1, 4, 9)),
        ("0 9 13 * 5", utc(2026, 1, 2, 9)),  # Friday 2nd, not Friday the 13th of a later month
    ],
)
def test_cron_reads_weekdays_and_days_of_month_as_crontab_does(rule: str, first: datetime) -> None:
    start = utc(2026, 1, 1)  # a Thursday
    assert next_after(rule, start_utc=start, zone="UTC", after=start) == first
