"""Quiet hours, /mute and digest schedules: may an alert go to a chat now, and if not, when.

Everything is computed on aware UTC datetimes and the chat's IANA zone, so the answers stay
right across daylight-saving changes. A local wall time that does not exist on a given day
(the spring-forward gap) is moved forward by the length of the gap, as clocks do: 01:30 in
London on the March change day becomes 02:30 BST. A wall time that happens twice (the autumn
fall-back) counts at its first occurrence only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Literal
from zoneinfo import ZoneInfo

from bot.domain.natural import WhenError, parse_clock
from bot.domain.text import ReaderError

MAX_MUTE = timedelta(days=366)
DEFAULT_DAILY_DIGEST_AT = time(8, 0)
_QUARTER_HOUR = timedelta(minutes=15)
_QUARTERS_SEARCHED = 12  # three hours: more than any daylight-saving jump
_OFF_WORDS = frozenset({"off", "none", "no"})

InputProblem = Literal[
    "not_a_time",
    "unreadable_clock",
    "not_a_range",
    "same_times",
    "not_a_duration",
    "out_of_range",
    "not_a_digest",
    "mute_form",
]
InputForm = Literal["quiet", "duration", "digest", "mute"]

_CLOCK = r"(\d{1,2})(?::(\d{2}))?"
_QUIET_RE = re.compile(rf"{_CLOCK}\s*(?:-|–|—|to)\s*{_CLOCK}")
_RANGE_RE = re.compile(r"(.+?)\s*(?:-|–|—|\bto\b)\s*(.+)")
_DURATION_PART_RE = re.compile(r"(\d+)\s*(weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m)")
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}


class PolicyInputError(ValueError):
    """Bad user input, as facts: what is wrong (`problem`) with which text (`value`), and the
    form that was expected; `bot.render.policy.input_error` words it for the chat. `detail`
    carries the clock reader's own explanation for "unreadable_clock"."""

    def __init__(
        self,
        problem: InputProblem,
        value: str,
        form: InputForm,
        detail: str | ReaderError = "",
    ) -> None:
        super().__init__(problem, value, form, detail)
        self.problem, self.value, self.form, self.detail = problem, value, form, detail


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily local window during which non-urgent alerts wait; may wrap past midnight."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class DigestKind(Enum):
    OFF = "off"
    HOURLY = "hourly"
    DAILY = "daily"


@dataclass(frozen=True, slots=True)
class Digest:
    """How a chat wants news bundled: not at all, every local hour, or daily at `at`."""

    kind: DigestKind
    at: time | None = None  # for DAILY

    def __str__(self) -> str:
        return f"daily {self.at:%H:%M}" if self.kind is DigestKind.DAILY else self.kind.value


def _clock_time(hour: str, minute: str | None, form: InputForm) -> time:
    h, m = int(hour), int(minute or 0)
    if h > 23 or m > 59:
        raise PolicyInputError("not_a_time", f"{hour}:{minute or '00'}", form)
    return time(h, m)


def _read_clock(text: str, form: InputForm) -> time:
    bare = re.fullmatch(_CLOCK, text.strip())
    if bare:
        return _clock_time(bare.group(1), bare.group(2), form)
    try:
        return parse_clock(text)
    except WhenError as exc:
        raise PolicyInputError("unreadable_clock", text, form, exc) from None


def parse_quiet(text: str) -> QuietHours | None:
    """Parse "22:00-07:00" (or "22-7", "off"); None means no quiet hours."""
    cleaned = text.strip().lower()
    if cleaned in _OFF_WORDS:
        return None
    match = _QUIET_RE.fullmatch(cleaned)
    if match is not None:
        start = _clock_time(match.group(1), match.group(2), "quiet")
        end = _clock_time(match.group(3), match.group(4), "quiet")
    else:  # the forms /add reads: 10pm-7am, 10:30 pm to 6 am, noon-2pm
        ends = _RANGE_RE.fullmatch(cleaned)
        if ends is None:
            raise PolicyInputError("not_a_range", text.strip(), "quiet")
        start, end = _read_clock(ends.group(1), "quiet"), _read_clock(ends.group(2), "quiet")
    if start == end:
        raise PolicyInputError("same_times", text.strip(), "quiet")
    return QuietHours(start, end)


def parse_duration(text: str) -> timedelta:
    """Parse a /mute duration: "30m", "3h", "2d", "1w", "1h30m", "2 hours"."""
    cleaned = text.strip().lower()
    parts = list(_DURATION_PART_RE.finditer(cleaned))
    covered = "".join(match.group(0) for match in parts)
    if not parts or covered.replace(" ", "") != cleaned.replace(" ", ""):
        raise PolicyInputError("not_a_duration", text.strip(), "duration")
    seconds = sum(int(m.group(1)) * _UNIT_SECONDS[m.group(2)[0]] for m in parts)
    if seconds == 0 or seconds > MAX_MUTE.total_seconds():
        raise PolicyInputError("out_of_range", text.strip(), "duration")
    return timedelta(seconds=seconds)


def parse_digest(text: str) -> Digest:
    """Parse "off", "hourly", "daily" (08:00) or "daily 08:00"."""
    words = text.strip().lower().split()
    if words in (["off"], ["none"]):
        return Digest(DigestKind.OFF)
    if words == ["hourly"]:
        return Digest(DigestKind.HOURLY)
    if words == ["daily"]:
        return Digest(DigestKind.DAILY, DEFAULT_DAILY_DIGEST_AT)
    if len(words) >= 2 and words[0] == "daily":
        return Digest(DigestKind.DAILY, _read_clock(" ".join(words[1:]), "digest"))
    raise PolicyInputError("not_a_digest", text.strip(), "digest")


def _zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("aware UTC datetimes only")


def _at_wall(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) at which `zone` shows `wall` on `day`: first occurrence, gaps forward."""
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def quiet_end(now_utc: datetime, zone: str | ZoneInfo, quiet: QuietHours) -> datetime | None:
    """When the quiet period containing `now_utc` ends (UTC), or None if it is not quiet now."""
    _require_aware(now_utc)
    tz = _zone(zone)
    today = now_utc.astimezone(tz).date()
    wraps = quiet.end < quiet.start
    for start_day in (today - timedelta(days=1), today):
        start = _at_wall(start_day, quiet.start, tz)
        end = _at_wall(start_day + timedelta(days=1) if wraps else start_day, quiet.end, tz)
        if start <= now_utc < end:
            return end
    return None


def hold_until(
    now_utc: datetime,
    chat_zone: str | ZoneInfo,
    quiet: QuietHours | None,
    muted_until: datetime | None,
    urgent: bool,
    *,
    deadline_reached: bool = False,
) -> datetime | None:
    """When an alert may go to the chat (UTC), or None if it may go now.

    /mute holds everything except "deadline reached" alerts. Quiet hours hold everything
    except urgent alerts (a deadline less than an hour away or reached, a deadline change).
    An alert held by a mute that ends inside quiet hours waits for the quiet hours too.
    """
    _require_aware(now_utc)
    moment = now_utc
    if muted_until is not None and muted_until > moment and not deadline_reached:
        moment = muted_until
    if quiet is not None and not (urgent or deadline_reached):
        moment = quiet_end(moment, chat_zone, quiet) or moment
    return moment if moment > now_utc else None


def _next_local_hour(now_utc: datetime, tz: ZoneInfo) -> datetime:
    """The next instant after `now_utc` at which the local clock shows hh:00."""
    # Every zone's offset is a whole number of quarter hours, so some quarter hour is it.
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    first = epoch + ((now_utc - epoch) // _QUARTER_HOUR + 1) * _QUARTER_HOUR
    for step in range(_QUARTERS_SEARCHED):
        candidate = first + step * _QUARTER_HOUR
        if candidate.astimezone(tz).minute == 0:
            return candidate
    # Only a zone with an offset off the quarter-hour grid gets here: use the UTC hour.
    return first + (-first.minute % 60) * timedelta(minutes=1)


def next_digest_at(
    now_utc: datetime,
    zone: str | ZoneInfo,
    digest: Digest,
    quiet: QuietHours | None = None,
) -> datetime | None:
    """The next digest time after `now_utc` (UTC), or None when digests are off.

    A digest that would fall in quiet hours moves to their end, so a night of hourly digests
    becomes one in the morning instead of a pile of them.
    """
    _require_aware(now_utc)
    tz = _zone(zone)
    if digest.kind is DigestKind.OFF:
        return None
    if digest.kind is DigestKind.HOURLY:
        moment = _next_local_hour(now_utc, tz)
    else:
        wall = digest.at or DEFAULT_DAILY_DIGEST_AT
        today = now_utc.astimezone(tz).date()
        moment = next(
            at
            for offset in range(3)
            if (at := _at_wall(today + timedelta(days=offset), wall, tz)) > now_utc
        )
    if quiet is not None:
        moment = quiet_end(moment, tz, quiet) or moment
    return moment
