"""Quiet hours, /mute and digest times, with fixed instants across London's DST changes."""

from __future__ import annotations

import time as time_module
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest

from bot.delivery_policy.quiet import (
    Digest,
    DigestKind,
    InputForm,
    InputProblem,
    PolicyInputError,
    QuietHours,
    hold_until,
    next_digest_at,
    parse_digest,
    parse_duration,
    parse_quiet,
    quiet_end,
)
from bot.domain.natural import WhenError
from bot.render.policy import input_error
from tests.helpers import utc

LONDON = "Europe/London"
NIGHT = QuietHours(time(22, 0), time(7, 0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22:00-07:00", NIGHT),
        ("22-7", NIGHT),
        (" 22:00 – 07:00 ", NIGHT),
        ("22:00 to 7:00", NIGHT),
        ("09:30-17:45", QuietHours(time(9, 30), time(17, 45))),
        ("off", None),
        ("10pm-7am", NIGHT),  # the forms /add reads
        ("10 pm to 7 am", NIGHT),
        ("noon-1:30pm", QuietHours(time(12, 0), time(13, 30))),
    ],
)
def test_quiet_hours_are_read_from_24_hour_or_12_hour_ranges_with_dash_or_to_or_off(
    text: str, expected: QuietHours | None
) -> None:
    assert parse_quiet(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10pm-banana", "'banana' is not a time of day; write e.g. 17:00 or 5pm. Quiet hours"),
        ("tonight", '"tonight" is not a time range. Quiet hours look like 22:00-07:00'),
        ("25:00-07:00", "25:00 is not a time of day. Quiet hours look like 22:00-07:00"),
        ("22:00-22:00", "must start and end at different times"),
        ("", '"" is not a time range'),
    ],
)
def test_parse_quiet_errors_show_the_form(text: str, message: str) -> None:
    with pytest.raises(PolicyInputError) as caught:
        parse_quiet(text)
    assert message in input_error(caught.value)
    assert input_error(caught.value).endswith('10pm-7am (start-end, your time), or "off".')


def test_quiet_hours_render_back() -> None:
    assert str(NIGHT) == "22:00-07:00"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("3h", timedelta(hours=3)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(minutes=90)),
        ("2 hours", timedelta(hours=2)),
        ("1 hour 15 min", timedelta(minutes=75)),
    ],
)
def test_a_duration_is_read_from_units_alone_combined_or_spelled_out(
    text: str, expected: timedelta
) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3", "h", "0h", "3x", "1h30", "400d", "-3h", "3h!"])
def test_a_malformed_zero_or_too_long_duration_is_refused_showing_the_form(text: str) -> None:
    with pytest.raises(PolicyInputError) as caught:
        parse_duration(text)
    assert "Give a duration like 30m, 3h, 2 hours, 2d, 1w or 1h30m" in input_error(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", Digest(DigestKind.OFF)),
        ("hourly", Digest(DigestKind.HOURLY)),
        ("daily", Digest(DigestKind.DAILY, time(8, 0))),
        ("Daily 18:30", Digest(DigestKind.DAILY, time(18, 30))),
        ("daily 7", Digest(DigestKind.DAILY, time(7, 0))),
        ("daily 8am", Digest(DigestKind.DAILY, time(8, 0))),  # the forms /add reads
        ("daily 6:30 pm", Digest(DigestKind.DAILY, time(18, 30))),
        ("daily noon", Digest(DigestKind.DAILY, time(12, 0))),
    ],
)
def test_each_digest_setting_is_read_and_its_own_text_reads_back_the_same(
    text: str, expected: Digest
) -> None:
    assert parse_digest(text) == expected
    assert parse_digest(str(expected)) == expected


@pytest.mark.parametrize("text", ["weekly", "daily 8xm", "daily 24:00", "hourly 5", "daily 8 x"])
def test_an_unknown_digest_or_bad_daily_time_is_refused_showing_the_form(text: str) -> None:
    with pytest.raises(PolicyInputError) as caught:
        parse_digest(text)
    assert 'Digest is "off", "hourly" or "daily" with a time' in input_error(caught.value)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (utc(2025, 7, 1, 20, 59), None),  # 21:59 BST
        (utc(2025, 7, 1, 21, 0), utc(2025, 7, 2, 6, 0)),  # 22:00 BST, start is inclusive
        (utc(2025, 7, 2, 5, 59), utc(2025, 7, 2, 6, 0)),
        (utc(2025, 7, 2, 6, 0), None),  # 07:00 BST, end is exclusive
        (utc(2025, 1, 15, 22, 0), utc(2025, 1, 16, 7, 0)),  # winter: GMT = UTC
        # The March night is an hour short: 22:00 GMT to 07:00 BST is 8 hours.
        (utc(2025, 3, 29, 22, 0), utc(2025, 3, 30, 6, 0)),
        # The October night is an hour long: 22:00 BST to 07:00 GMT is 10 hours.
        (utc(2025, 10, 25, 21, 0), utc(2025, 10, 26, 7, 0)),
        (utc(2025, 10, 26, 1, 30), utc(2025, 10, 26, 7, 0)),  # 01:30 GMT, the second 01:30
    ],
)
def test_quiet_end_across_dst(now: datetime, expected: datetime | None) -> None:
    assert quiet_end(now, LONDON, NIGHT) == expected


def test_daytime_quiet_hours_hold_from_their_start_and_end_exactly_at_their_end() -> None:
    work = QuietHours(time(9, 0), time(17, 0))
    assert quiet_end(utc(2025, 7, 1, 8, 0), ZoneInfo(LONDON), work) == utc(2025, 7, 1, 16, 0)
    assert quiet_end(utc(2025, 7, 1, 16, 0), LONDON, work) is None


def test_quiet_end_in_the_spring_gap_moves_forward() -> None:
    # 01:30 does not exist in London on 30 March 2025: quiet ends at 02:30 BST (01:30 UTC).
    early = QuietHours(time(0, 0), time(1, 30))
    assert quiet_end(utc(2025, 3, 30, 0, 45), LONDON, early) == utc(2025, 3, 30, 1, 30)


NOW = utc(2025, 7, 1, 22, 0)  # 23:00 BST, inside NIGHT
MORNING = utc(2025, 7, 2, 6, 0)  # 07:00 BST


def test_hold_until_outside_quiet_and_unmuted_is_now() -> None:
    assert hold_until(utc(2025, 7, 1, 12, 0), LONDON, NIGHT, None, urgent=False) is None
    assert hold_until(NOW, LONDON, None, None, urgent=False) is None


def test_quiet_hours_hold_news_but_not_urgent_alerts() -> None:
    assert hold_until(NOW, LONDON, NIGHT, None, urgent=False) == MORNING
    assert hold_until(NOW, LONDON, NIGHT, None, urgent=True) is None


def test_mute_holds_urgent_alerts_but_not_deadline_reached() -> None:
    muted = utc(2025, 7, 1, 12, 0) + timedelta(hours=3)
    at = utc(2025, 7, 1, 12, 0)
    assert hold_until(at, LONDON, None, muted, urgent=True) == muted
    assert hold_until(at, LONDON, NIGHT, muted, urgent=True, deadline_reached=True) is None
    assert hold_until(at, LONDON, None, muted - timedelta(hours=4), urgent=False) is None


def test_mute_ending_in_quiet_hours_waits_for_morning() -> None:
    muted = utc(2025, 7, 1, 23, 0)
    assert hold_until(utc(2025, 7, 1, 18, 0), LONDON, NIGHT, muted, urgent=False) == MORNING
    assert hold_until(utc(2025, 7, 1, 18, 0), LONDON, NIGHT, muted, urgent=True) == muted


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        hold_until(datetime(2025, 7, 1, 12), LONDON, NIGHT, None, urgent=False)


DAILY_8 = Digest(DigestKind.DAILY, time(8, 0))
HOURLY = Digest(DigestKind.HOURLY)


def _digest_series(
    start: datetime, digest: Digest, count: int, zone: str = LONDON
) -> list[datetime]:
    series, moment = [], start
    for _ in range(count):
        found = next_digest_at(moment, zone, digest)
        assert found is not None
        series.append(found)
        moment = found
    return series


def test_daily_digest_keeps_local_time_across_march_change() -> None:
    assert _digest_series(utc(2025, 3, 28, 9, 0), DAILY_8, 3) == [
        utc(2025, 3, 29, 8, 0),  # 08:00 GMT
        utc(2025, 3, 30, 7, 0),  # 08:00 BST
        utc(2025, 3, 31, 7, 0),
    ]


def test_daily_digest_keeps_local_time_across_october_change() -> None:
    assert _digest_series(utc(2025, 10, 25, 0, 0), DAILY_8, 3) == [
        utc(2025, 10, 25, 7, 0),  # 08:00 BST
        utc(2025, 10, 26, 8, 0),  # 08:00 GMT
        utc(2025, 10, 27, 8, 0),
    ]


def test_daily_digest_in_the_repeated_hour_comes_once() -> None:
    at_0130 = Digest(DigestKind.DAILY, time(1, 30))
    assert _digest_series(utc(2025, 10, 25, 23, 0), at_0130, 2) == [
        utc(2025, 10, 26, 0, 30),  # the first 01:30 (BST); the second (GMT) is skipped
        utc(2025, 10, 27, 1, 30),
    ]


def test_daily_digest_in_the_spring_gap_moves_forward() -> None:
    at_0130 = Digest(DigestKind.DAILY, time(1, 30))
    assert _digest_series(utc(2025, 3, 29, 12, 0), at_0130, 2) == [
        utc(2025, 3, 30, 1, 30),  # 02:30 BST: 01:30 never shows on the clock that night
        utc(2025, 3, 31, 0, 30),  # 01:30 BST
    ]


def test_hourly_digest_through_both_changes() -> None:
    assert _digest_series(utc(2025, 3, 30, 0, 10), HOURLY, 3) == [
        utc(2025, 3, 30, 1, 0),  # 02:00 BST: the clock jumped from 01:00 GMT
        utc(2025, 3, 30, 2, 0),
        utc(2025, 3, 30, 3, 0),
    ]
    # In October the hour 01:00-02:00 happens twice; each real hour gets its digest.
    assert _digest_series(utc(2025, 10, 25, 23, 30), HOURLY, 3) == [
        utc(2025, 10, 26, 0, 0),  # 01:00 BST
        utc(2025, 10, 26, 1, 0),  # 01:00 GMT
        utc(2025, 10, 26, 2, 0),
    ]


def test_hourly_digest_follows_local_hours_in_quarter_hour_zones() -> None:
    # Kathmandu is UTC+05:45: local hh:00 is hh:15 UTC.
    assert next_digest_at(utc(2025, 1, 1, 0, 0), "Asia/Kathmandu", HOURLY) == utc(2025, 1, 1, 0, 15)
    assert next_digest_at(utc(2025, 1, 1, 0, 15), "Asia/Kathmandu", HOURLY) == utc(
        2025, 1, 1, 1, 15
    )


def test_digests_skip_quiet_hours() -> None:
    evening = utc(2025, 7, 1, 20, 30)  # 21:30 BST
    assert next_digest_at(evening, LONDON, HOURLY, NIGHT) == MORNING
    late_daily = Digest(DigestKind.DAILY, time(23, 0))
    assert next_digest_at(evening, LONDON, late_daily, NIGHT) == MORNING


def test_digest_off_has_no_next_time() -> None:
    assert next_digest_at(NOW, LONDON, Digest(DigestKind.OFF)) is None


# Boundaries and messages pinned by mutation testing (docs/quality.md).


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23:59-00:00", QuietHours(time(23, 59), time(0, 0))),
        ("23-7", QuietHours(time(23, 0), time(7, 0))),
        ("22to7", NIGHT),  # the numeric form needs no spaces around "to"
    ],
)
def test_parse_quiet_accepts_the_last_hour_and_minute_of_the_day(
    text: str, expected: QuietHours
) -> None:
    assert parse_quiet(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("25-7", "25:00 is not a time of day. Quiet hours look like"),
        ("22:60-07:00", "22:60 is not a time of day. Quiet hours look like"),
        ("22:00-24:00", "24:00 is not a time of day. Quiet hours look like"),
        ("22:00-25:00", "25:00 is not a time of day. Quiet hours look like"),
        ("banana-7am", "'banana' is not a time of day; write e.g. 17:00 or 5pm. Quiet hours"),
    ],
)
def test_a_bad_start_or_end_names_itself_and_shows_the_form(text: str, message: str) -> None:
    with pytest.raises(PolicyInputError) as caught:
        parse_quiet(text)
    assert input_error(caught.value).startswith(message)
    assert input_error(caught.value).endswith('10pm-7am (start-end, your time), or "off".')


def test_a_mute_of_exactly_the_maximum_is_accepted() -> None:
    assert parse_duration("366d") == timedelta(days=366)


def test_digest_none_turns_digests_off() -> None:
    assert parse_digest("none") == Digest(DigestKind.OFF)


class _NoOffset(tzinfo):
    """A tzinfo that does not know its offset: the datetime is naive in effect."""

    def utcoffset(self, dt: datetime | None) -> None:
        return None

    def dst(self, dt: datetime | None) -> None:
        return None

    def tzname(self, dt: datetime | None) -> None:
        return None


def test_a_datetime_whose_zone_has_no_offset_is_refused_as_naive() -> None:
    with pytest.raises(ValueError, match=r"^aware UTC datetimes only$"):
        quiet_end(datetime(2025, 7, 1, 12, tzinfo=_NoOffset()), LONDON, NIGHT)


@pytest.fixture
def host_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The host's own zone, which must play no part in any answer."""
    monkeypatch.setenv("TZ", "America/New_York")
    time_module.tzset()
    yield
    monkeypatch.undo()
    time_module.tzset()


@pytest.mark.usefixtures("host_in_new_york")
def test_answers_are_utc_whatever_the_host_zone() -> None:
    end = quiet_end(utc(2025, 7, 1, 23, 0), LONDON, NIGHT)
    assert end == MORNING
    assert end is not None and end.utcoffset() == timedelta(0)
    digest = next_digest_at(utc(2025, 7, 1, 12, 0), LONDON, DAILY_8)
    assert digest is not None and digest.utcoffset() == timedelta(0)


def test_quiet_hours_are_found_on_the_chat_date_not_the_utc_date() -> None:
    # 01:00 NZST on 3 July is still 2 July in UTC: the window started on the chat's 3 July.
    early = QuietHours(time(0, 0), time(6, 0))
    assert quiet_end(utc(2025, 7, 2, 13, 0), "Pacific/Auckland", early) == utc(2025, 7, 2, 18)


def test_daily_digest_counts_days_in_the_chat_zone_not_utc() -> None:
    # 22:00 HST on 1 July is 2 July in UTC: 23:00 the same local evening comes first.
    late = Digest(DigestKind.DAILY, time(23, 0))
    assert next_digest_at(utc(2025, 7, 2, 8, 0), "Pacific/Honolulu", late) == utc(2025, 7, 2, 9)


def test_quiet_hours_starting_and_ending_at_once_hold_nothing() -> None:
    empty = QuietHours(time(9, 0), time(9, 0))
    assert quiet_end(utc(2025, 7, 1, 8, 0), LONDON, empty) is None
    assert quiet_end(utc(2025, 7, 1, 20, 0), LONDON, empty) is None


def test_hourly_digest_from_between_quarter_hours_is_on_the_next_local_hour() -> None:
    assert next_digest_at(utc(2025, 7, 1, 10, 7, 30), LONDON, HOURLY) == utc(2025, 7, 1, 11)


def test_hourly_digest_in_a_zone_off_the_quarter_hour_grid_uses_the_utc_hour() -> None:
    # New York kept local mean time (-4:56:02) until 1883: no quarter hour is a local hh:00.
    assert next_digest_at(utc(1850, 6, 1, 10, 5), "America/New_York", HOURLY) == utc(1850, 6, 1, 11)


# The facts of each refusal: what is wrong, with which text, and which form was expected.

_REFUSALS: list[tuple[Callable[[str], object], str, InputProblem, str, InputForm]] = [
    (parse_quiet, "25:00-07:00", "not_a_time", "25:00", "quiet"),
    (parse_quiet, "22:00-25:00", "not_a_time", "25:00", "quiet"),
    (parse_quiet, " Tonight ", "not_a_range", "Tonight", "quiet"),
    (parse_quiet, " 22:00-22:00 ", "same_times", "22:00-22:00", "quiet"),
    (parse_quiet, "25-7am", "not_a_time", "25:00", "quiet"),
    (parse_quiet, "10pm-25", "not_a_time", "25:00", "quiet"),
    (parse_duration, " 3X ", "not_a_duration", "3X", "duration"),
    (parse_duration, " 400D ", "out_of_range", "400D", "duration"),
    (parse_digest, " Weekly ", "not_a_digest", "Weekly", "digest"),
]


@pytest.mark.parametrize(("parse", "text", "problem", "value", "form"), _REFUSALS)
def test_each_refusal_names_its_problem_value_and_form(
    parse: Callable[[str], object], text: str, problem: str, value: str, form: str
) -> None:
    with pytest.raises(PolicyInputError) as caught:
        parse(text)
    error = caught.value
    assert (error.problem, error.value, error.form, error.detail) == (problem, value, form, "")
    # The same facts are the exception's args, which its str() and repr() show in a log.
    assert error.args == (problem, value, form, "")


@pytest.mark.parametrize(
    ("parse", "text", "value", "form"),
    [
        (parse_quiet, "banana-7am", "banana", "quiet"),
        (parse_quiet, "10pm-banana", "banana", "quiet"),
        (parse_digest, "daily 8xm", "8xm", "digest"),
    ],
)
def test_an_unreadable_clock_names_the_text_the_form_and_the_readers_reason(
    parse: Callable[[str], object], text: str, value: str, form: str
) -> None:
    with pytest.raises(PolicyInputError) as caught:
        parse(text)
    error = caught.value
    assert (error.problem, error.value, error.form) == ("unreadable_clock", value, form)
    assert isinstance(error.detail, WhenError)
    assert str(error.detail) == f"'{value}' is not a time of day; write e.g. 17:00 or 5pm"
    assert error.args == ("unreadable_clock", value, form, error.detail)


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (parse_duration, "3x", '"3x" is not a duration. Give a duration like 30m, 3h'),
        (parse_duration, "400d", '"400d" is out of range. Give a duration like 30m, 3h'),
        (parse_duration, "0h", '"0h" is out of range. Give a duration like 30m, 3h'),
        (parse_digest, "weekly", '"weekly" is not a digest setting. Digest is "off"'),
        (parse_digest, "hourly 5", '"hourly 5" is not a digest setting. Digest is "off"'),
    ],
)
def test_a_refused_duration_or_digest_quotes_the_text_given(
    parse: Callable[[str], object], text: str, message: str
) -> None:
    with pytest.raises(PolicyInputError) as caught:
        parse(text)
    assert input_error(caught.value).startswith(message)
