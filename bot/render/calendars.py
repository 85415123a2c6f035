"""Messages of the calendar commands: /timeline, /export and /calendar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.render.common import Rendered, escape, format_moment, plural

CALENDAR_HELP: tuple[tuple[str, str, str], ...] = (
    ("timeline", "/timeline", "a picture of your upcoming deadlines on a time axis"),
    ("export", "/export", "your deadlines as an .ics file for Google, Apple or Outlook calendars"),
    ("calendar", "/calendar", "calendar URLs whose events become this chat's deadlines"),
)
CALENDAR_FORM = "Use /calendar add <url>, /calendar remove <number or url>, or /calendar to list."

EXPORT_FILENAME = "herald-deadlines.ics"


def export_caption(count: int) -> str:
    """The .ics document's caption (plain text)."""
    if count == 0:
        return "No deadlines to export yet: /follow one or /add your own, then /export again."
    return (
        f"{plural(count, 'deadline')} with their reminders. Open the file, or import it in "
        "your calendar app (Google Calendar: Settings › Import)."
    )


@dataclass(frozen=True)
class CalendarLine:
    url: str
    events: int
    refreshed_at: datetime | None
    error: str | None


def calendar_list(rows: Sequence[CalendarLine], zone: str, now: datetime, limit: int) -> Rendered:
    if not rows:
        return Rendered(
            "This chat subscribes to no calendar. /calendar add https://… adds one: its events "
            "become this chat's deadlines, with reminders."
        )
    lines = [f"<b>Calendars</b> ({len(rows)} of {limit})"]
    for number, row in enumerate(rows, 1):
        if row.error:
            state = f"⚠️ {escape(row.error)}"
        elif row.refreshed_at is None:
            state = "⏳ not read yet"
        else:
            state = (
                f"{plural(row.events, 'event')}, read {format_moment(row.refreshed_at, zone, now)}"
            )
        lines.append(f"{number}. {escape(row.url)} — {state}")
    lines.append("/calendar remove 1 drops the first; its upcoming deadlines go with it.")
    return Rendered("\n".join(lines))


def calendar_added(url: str, events: int, error: str | None) -> Rendered:
    if error:
        return Rendered(
            f"📅 Subscribed to {escape(url)}, but it could not be read yet: {escape(error)}. "
            "Herald tries again every few hours; /calendar shows how it goes."
        )
    return Rendered(
        f"📅 Subscribed to {escape(url)}: {plural(events, 'event')} in the next year became "
        "this chat's deadlines (see /deadlines). It is read again every few hours."
    )


def calendar_refused(reason: str, url: str, limit: int) -> Rendered:
    if reason == "already":
        return Rendered(f"This chat already subscribes to {escape(url)}. /calendar lists them.")
    if reason == "limit":
        return Rendered(
            f"This chat already has {plural(limit, 'calendar')}, the most it can have. "
            "/calendar remove one first."
        )
    if reason == "unknown":
        return Rendered(f"No calendar {escape(url)} here. /calendar lists them with numbers.")
    return Rendered(f"{escape(reason)}. Nothing was added.")


def calendar_removed(url: str, withdrawn: int) -> Rendered:
    return Rendered(
        f"Removed {escape(url)}; {plural(withdrawn, 'deadline')} from it "
        f"{'was' if withdrawn == 1 else 'were'} withdrawn."
    )


def calendar_usage() -> Rendered:
    return Rendered(escape(CALENDAR_FORM))
