"""Deadlines as an iCalendar file that Google Calendar, Apple Calendar and Outlook import.

One VEVENT per deadline, its reminders as VALARMs, a UID that stays the same across exports
(so a re-import or a subscription updates events instead of doubling them), and the event's
own time zone with its VTIMEZONE, so that a 17:00 London deadline stays 17:00 London in a
calendar set to New York.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.domain.offsets import Offset, OffsetError, parse_offset, zone_info

if TYPE_CHECKING:  # imported where used: a process that never exports need not load it
    import icalendar

PRODUCT_ID = "-//Herald//Deadlines//EN"
UID_DOMAIN = "herald"
MAX_DESCRIPTION_CHARS = 2000
TZ_YEARS_AHEAD = 5  # zone rules written for this many years past the last event
# RRULE parts that would make the exported series differ from the stored one when the series
# is restarted at the next occurrence (COUNT counts from the original start).
_NOT_RESTARTABLE = ("COUNT=",)


@dataclass(frozen=True)
class ExportedDeadline:
    """What a calendar needs of one deadline; built from the store by the caller."""

    uid_key: str  # unique and stable within the calendar, e.g. "uk-us-trade-deal"
    title: str
    due_at: datetime  # aware UTC: the next occurrence for a repeating deadline
    timezone: str
    all_day: bool = False
    remind: Sequence[str] = ()
    url: str | None = None
    description: str | None = None
    rule: str | None = None  # RRULE text or a 5-field cron rule
    updated_at: datetime | None = None


def event_uid(uid_key: str) -> str:
    return f"{uid_key}@{UID_DOMAIN}"


def _alarm(offset: Offset, title: str) -> icalendar.Alarm:
    import icalendar

    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", title)
    # Days are nominal (calendar days in the event's zone), as Herald's own reminders are.
    alarm.add("trigger", -timedelta(days=offset.days, minutes=offset.minutes))
    return alarm


def _offsets(remind: Iterable[str]) -> list[Offset]:
    offsets: set[Offset] = set()
    for text in remind:
        try:
            offsets.add(parse_offset(text))
        except OffsetError:  # an offset stored before a rule tightened: leave it out
            continue
    return sorted(offsets, reverse=True)


def _repeat(rule: str | None) -> str | None:
    """The RRULE to export, or None: cron rules and counted series are sent as one event."""
    if not rule or len(rule.split()) == 5:
        return None
    text = rule.strip().removeprefix("RRULE:")
    if any(part in text.upper() for part in _NOT_RESTARTABLE):
        return None
    return text


def _event(deadline: ExportedDeadline, stamp: datetime) -> icalendar.Event:
    import icalendar

    event = icalendar.Event()
    event.add("uid", event_uid(deadline.uid_key))
    event.add("dtstamp", stamp)
    event.add("summary", deadline.title)
    local = deadline.due_at.astimezone(zone_info(deadline.timezone))
    if deadline.all_day:
        day: date = local.date()
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    else:
        event.add("dtstart", local)
        event.add("dtend", local)
    repeat = _repeat(deadline.rule)
    if repeat is not None:
        event.add("rrule", icalendar.vRecur.from_ical(repeat))
    if deadline.url:
        event.add("url", deadline.url)
    if deadline.description:
        event.add("description", deadline.description[:MAX_DESCRIPTION_CHARS])
    if deadline.updated_at is not None:
        event.add("last-modified", deadline.updated_at.astimezone(UTC))
    for offset in _offsets(deadline.remind):
        event.add_component(_alarm(offset, deadline.title))
    return event


def build_calendar(
    deadlines: Iterable[ExportedDeadline], *, name: str, now: datetime | None = None
) -> bytes:
    """The iCalendar file (RFC 5545) for these deadlines, with every zone they use."""
    import icalendar

    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    items = list(deadlines)
    for deadline in items:
        calendar.add_component(_event(deadline, stamp))
    # Zone rules only for the years the events (and a repeat's next years) need: the full
    # history of every zone would make the file many times larger.
    years = [d.due_at.year for d in items] or [stamp.year]
    calendar.add_missing_timezones(
        first_date=date(min(years) - 1, 1, 1), last_date=date(max(years) + TZ_YEARS_AHEAD, 1, 1)
    )
    return bytes(calendar.to_ical())
