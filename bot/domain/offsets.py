"""Time rules shared by every deadline: reminder offsets, date-only deadlines, local-to-UTC."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.text import N_, ReaderError

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR
DAYS_PER_WEEK = 7
# A reminder more than a year ahead of its deadline is almost certainly a typo ("70d" for "7d"
# is fine, "7000d" is not), and the bound keeps date arithmetic far from datetime's limits.
MAX_OFFSET_DAYS = 366
MAX_OFFSET_TEXT_CHARS = 32

_PART_RE = re.compile(r"(\d{1,6})([wdhm])")
_UNIT_ORDER = "wdhm"


class OffsetError(ReaderError):
    """An offset that cannot be read; the message is fit to show to a user."""


class ZoneError(ReaderError):
    """A time zone name that is not a known IANA zone."""


def zone_info(zone: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or ZoneError with a readable message."""
    shown = zone if len(zone) <= 64 else zone[:63] + "…"
    try:
        # OSError: a name too long for the file system ("File name too long") or otherwise
        # unreadable as a path is no zone either.
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise ZoneError(
            N_("'{shown}' is not a time zone; write e.g. Europe/London"), shown=shown
        ) from exc


def local_to_utc(local: datetime, zone: str) -> datetime:
    """Turn a naive wall-clock time in `zone` into an aware UTC datetime.

    A wall time skipped by a spring-forward change is shifted forward by the length of the gap
    (01:30 on the day London skips 01:00–02:00 becomes 02:30 BST); a wall time that happens
    twice at a fall-back change means its first occurrence (the one still on summer time).
    Both follow from reading the wall time with fold=0 (PEP 495).
    """
    if local.tzinfo is not None:
        raise ValueError("local_to_utc expects a naive wall-clock datetime")
    return local.replace(tzinfo=zone_info(zone), fold=0).astimezone(UTC)


def due_from_date(day: date, zone: str) -> datetime:
    """The instant a date-only deadline falls due: 00:00 local at the start of that day, in UTC.

    Reminders count back from this instant, so "1d before 9 July" fires at 00:00 on 8 July.
    Where a zone skips midnight itself, the gap rule of `local_to_utc` applies.
    """
    return local_to_utc(datetime.combine(day, time(0, 0)), zone)


@functools.total_ordering
@dataclass(frozen=True)
class Offset:
    """How long before a deadline a reminder fires.

    `days` are calendar days in the event's zone (a week is 7 of them), `minutes` are elapsed
    time. Offsets order by their nominal length, so 1d > 23h and 1d < 25h.
    """

    days: int = 0
    minutes: int = 0

    def __post_init__(self) -> None:
        if self.days < 0 or self.minutes < 0:
            raise OffsetError(N_("an offset cannot be negative; write e.g. 7d, 1d, 2h, 30m or 0"))
        if self.days * MINUTES_PER_DAY + self.minutes > MAX_OFFSET_DAYS * MINUTES_PER_DAY:
            raise OffsetError(N_("an offset can be at most {days} days"), days=MAX_OFFSET_DAYS)

    @property
    def nominal_minutes(self) -> int:
        """Length in minutes taking every day as 24 hours; used for ordering only."""
        return self.days * MINUTES_PER_DAY + self.minutes

    @property
    def text(self) -> str:
        """Canonical text: "0", "7d", "2h", "1d12h", "1h30m" (weeks are written as days)."""
        if self.nominal_minutes == 0:
            return "0"
        hours, minutes = divmod(self.minutes, MINUTES_PER_HOUR)
        parts = [(self.days, "d"), (hours, "h"), (minutes, "m")]
        return "".join(f"{value}{unit}" for value, unit in parts if value)

    def __str__(self) -> str:
        return self.text

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Offset):
            return NotImplemented
        return (self.nominal_minutes, self.days) < (other.nominal_minutes, other.days)


def parse_offset(text: str | int) -> Offset:
    """Read an offset such as "7d", "1w", "2h", "30m", "1d12h" or "0" (an int 0 is accepted too).

    Units may appear once each, largest first; case and spaces between parts do not matter.
    """
    raw = str(text).strip()
    shown = raw[:MAX_OFFSET_TEXT_CHARS]
    compact = re.sub(r"\s+", "", raw.lower())
    if compact == "0":
        return Offset()
    if not compact or len(raw) > MAX_OFFSET_TEXT_CHARS or _PART_RE.sub("", compact):
        raise OffsetError(
            N_("'{shown}' is not an offset; write e.g. 7d, 1d, 2h, 30m or 0"), shown=shown
        )
    found = _PART_RE.findall(compact)
    units = [unit for _, unit in found]
    if units != sorted(units, key=_UNIT_ORDER.index) or len(set(units)) != len(units):
        raise OffsetError(
            N_(
                "'{shown}' is not an offset; write e.g. 7d, 1d, 2h, 30m or 0"
                " (each unit once, largest first)"
            ),
            shown=shown,
        )
    values = {unit: int(number) for number, unit in found}
    days = values.get("w", 0) * DAYS_PER_WEEK + values.get("d", 0)
    minutes = values.get("h", 0) * MINUTES_PER_HOUR + values.get("m", 0)
    if days == 0 and minutes == 0:
        return Offset()
    return Offset(days=days, minutes=minutes)


def parse_offsets(items: Iterable[str | int]) -> tuple[Offset, ...]:
    """Read a list of offsets (e.g. a config `remind:` list): unique, largest first."""
    return tuple(sorted({parse_offset(item) for item in items}, reverse=True))


def fire_time(due_utc: datetime, offset: Offset, zone: str) -> datetime:
    """When a reminder `offset` before `due_utc` fires, as an aware UTC datetime.

    Days are counted on the calendar of the event's `zone` (1d before 9 Jul 17:00 London is
    8 Jul 17:00 London, whatever DST does in between); hours and minutes are then taken off as
    elapsed time. A wall time that the day arithmetic lands on inside a DST gap or fold is
    resolved as `local_to_utc` documents.
    """
    if due_utc.tzinfo is None:
        raise ValueError("fire_time expects an aware datetime")
    fire = due_utc.astimezone(UTC)
    if offset.days:
        local = due_utc.astimezone(zone_info(zone)).replace(tzinfo=None)
        fire = local_to_utc(local - timedelta(days=offset.days), zone)
    return fire - timedelta(minutes=offset.minutes)


def _plural(value: int, unit: str) -> str:
    return f"{value} {unit}" if value == 1 else f"{value} {unit}s"


def format_offset(offset: Offset) -> str:
    """The offset for humans: "7 days", "1 hour", "1 day 12 hours", "at the due time"."""
    if offset.nominal_minutes == 0:
        return "at the due time"
    hours, minutes = divmod(offset.minutes, MINUTES_PER_HOUR)
    parts = [(offset.days, "day"), (hours, "hour"), (minutes, "minute")]
    return " ".join(_plural(value, unit) for value, unit in parts if value)
