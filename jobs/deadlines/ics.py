"""iCalendar feeds: expand a fetched calendar into the events that fall due inside a window."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.offsets import ZoneError, due_from_date, local_to_utc, zone_info

MAX_CALENDAR_BYTES = 5 * 1024 * 1024
MAX_EVENTS = 5000
MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000
UNTITLED = "(untitled)"
# All-day events are asked for with a day of slack either side, then cut by their due instant.
_WINDOW_SLACK = timedelta(days=1)


class CalendarError(ValueError):
    """A calendar that cannot be read; the message is fit to show to an operator."""


@dataclass(frozen=True)
class CalendarEvent:
    """One occurrence of a calendar event, keyed so that a re-fetch updates rather than adds.

    `occurrence_key` is "" for a one-off event and, for an occurrence of a recurring event, its
    RECURRENCE-ID: "YYYYMMDD" for all-day events, "YYYYMMDDTHHMMSSZ" (UTC) otherwise. It names
    the slot the rule generated, so it stays the same when an override moves the occurrence.
    """

    uid: str
    occurrence_key: str
    title: str
    due_utc: datetime
    all_day: bool
    zone: str
    url: str | None
    description: str

    @property
    def recurrence_id_or_occurrence_key(self) -> str:
        """The same value as `occurrence_key`, under its longer descriptive name."""
        return self.occurrence_key

    @property
    def key(self) -> str:
        """Unique within one calendar: the UID, plus the occurrence for recurring events."""
        return f"{self.uid}#{self.occurrence_key}" if self.occurrence_key else self.uid


def _load(body: bytes) -> Any:
    if len(body) > MAX_CALENDAR_BYTES:
        raise CalendarError(f"calendar is larger than {MAX_CALENDAR_BYTES} bytes")
    if b"BEGIN:VCALENDAR" not in body[:4096].upper():
        raise CalendarError("not an iCalendar feed: no BEGIN:VCALENDAR at the start")
    import icalendar  # here, as below: only a calendar refresh needs it (some MBs)

    try:
        return icalendar.Calendar.from_ical(body)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise CalendarError(f"not a readable iCalendar feed: {exc}") from exc


def _calendar_zone(calendar: Any, default_zone: str) -> str:
    """The zone for floating and all-day times: X-WR-TIMEZONE when valid, else the default."""
    declared = str(calendar.get("X-WR-TIMEZONE", "")).strip()
    if declared:
        try:
            zone_info(declared)
        except ZoneError:
            return default_zone
        return declared
    return default_zone


def _normalise(calendar: Any) -> None:
    """Repair what real feeds get wrong before expansion.

    A DATE start paired with a DATE-TIME end (EssentialPIM writes `DTEND:20210101T050001Z`)
    makes expansion treat an all-day event as timed at 00:00 UTC; the end is irrelevant to a
    deadline, so it is dropped and the event stays all-day.
    """
    for event in calendar.walk("VEVENT"):
        start, end = event.get("DTSTART"), event.get("DTEND")
        if start is None or end is None:
            continue
        start_is_date = not isinstance(start.dt, datetime)
        if start_is_date and isinstance(end.dt, datetime):
            del event["DTEND"]


def _format_key(value: date | datetime, zone: str) -> str:
    if not isinstance(value, datetime):
        return value.strftime("%Y%m%d")
    instant = local_to_utc(value, zone) if value.tzinfo is None else value.astimezone(UTC)
    return instant.strftime("%Y%m%dT%H%M%SZ")


def _zone_name(tz: tzinfo | None, fallback: str) -> str:
    if isinstance(tz, ZoneInfo):
        return tz.key
    name = str(getattr(tz, "zone", "") or getattr(tz, "key", ""))
    if name:
        try:
            zone_info(name)
        except ZoneError:
            return fallback
        return name
    return "UTC" if tz is not None and tz.utcoffset(None) == timedelta(0) else fallback


def _text(component: Any, name: str, limit: int) -> str:
    return " ".join(str(component.get(name, "")).split())[:limit]


def _uid(component: Any) -> str:
    """The UID, or for feeds that omit it a digest of what identifies the event."""
    uid = str(component.get("UID", "")).strip()
    if uid:
        return uid[:MAX_TITLE_CHARS]
    seed = f"{component.get('SUMMARY', '')}|{component.get('DTSTART').to_ical()!r}"
    return "sha1:" + hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()


def _url(component: Any) -> str | None:
    url = str(component.get("URL", "")).strip()
    return url if url.lower().startswith(("https://", "http://")) else None


def _event(component: Any, recurring: set[str], zone: str) -> CalendarEvent:
    start = component.get("DTSTART").dt
    uid = _uid(component)
    if isinstance(start, datetime):
        all_day = False
        event_zone = zone if start.tzinfo is None else _zone_name(start.tzinfo, zone)
        due = local_to_utc(start, zone) if start.tzinfo is None else start.astimezone(UTC)
    else:
        all_day, event_zone, due = True, zone, due_from_date(start, zone)
    recurrence_id = component.get("RECURRENCE-ID")
    key = ""
    if uid in recurring and recurrence_id is not None:
        key = _format_key(recurrence_id.dt, zone)
    return CalendarEvent(
        uid=uid,
        occurrence_key=key,
        title=_text(component, "SUMMARY", MAX_TITLE_CHARS) or UNTITLED,
        due_utc=due,
        all_day=all_day,
        zone=event_zone,
        url=_url(component),
        description=_text(component, "DESCRIPTION", MAX_DESCRIPTION_CHARS),
    )


def _recurring_uids(calendar: Any) -> set[str]:
    """UIDs with a rule, extra dates or overrides: their occurrences need their own keys."""
    return {
        _uid(event)
        for event in calendar.walk("VEVENT")
        if event.get("DTSTART") is not None
        and any(event.get(name) is not None for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    }


def parse_calendar(
    body: bytes, *, default_zone: str, start: datetime, end: datetime
) -> list[CalendarEvent]:
    """Every event occurrence due in start <= due_utc < end, earliest first.

    Recurring events are expanded (RRULE with UNTIL or COUNT, RDATE, EXDATE, RECURRENCE-ID
    overrides); cancelled occurrences are left out. Floating and all-day times are read in the
    calendar's X-WR-TIMEZONE, or `default_zone`. All-day events fall due at 00:00 local on
    their date (see `due_from_date`).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("parse_calendar expects aware start and end")
    calendar = _load(body)
    zone = _calendar_zone(calendar, default_zone)
    _normalise(calendar)
    recurring = _recurring_uids(calendar)
    events: dict[str, CalendarEvent] = {}
    import recurring_ical_events

    try:
        for component in recurring_ical_events.of(calendar).after(start - _WINDOW_SLACK):
            if component.get("DTSTART") is None:
                continue
            event = _event(component, recurring, zone)
            # Occurrences come in start order, so the first one past the window ends the walk.
            if event.due_utc >= end + _WINDOW_SLACK:
                break
            if str(component.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if start <= event.due_utc < end:
                events.setdefault(event.key, event)
            if len(events) > MAX_EVENTS:
                raise CalendarError(f"calendar has more than {MAX_EVENTS} events in the window")
    except CalendarError:
        raise
    except Exception as exc:
        # The expansion library raises many unrelated types for bad rules and dates; all of them
        # mean the same here: this calendar cannot be used as it is.
        raise CalendarError(f"cannot expand the calendar's events: {exc}") from exc
    return sorted(events.values(), key=lambda event: (event.due_utc, event.uid))
