"""Messages of the calendar commands: /timeline, /export and /calendar."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.render.common import Rendered, count_of, escape, format_moment
from bot.render.i18n import N_, _, ngettext, number

CALENDAR_HELP: tuple[tuple[str, str, str], ...] = (
    ("timeline", "/timeline", N_("a picture of your upcoming deadlines on a time axis")),
    (
        "export",
        "/export",
        N_("your deadlines as an .ics file for Google, Apple or Outlook calendars"),
    ),
    ("calendar", "/calendar", N_("calendar URLs whose events become this chat's deadlines")),
)


def calendar_form() -> str:
    return _("Use /calendar add <url>, /calendar remove <number or url>, or /calendar to list.")


def start_first() -> str:
    return _("Send /start first")


EXPORT_FILENAME = "herald-deadlines.ics"


def export_caption(count: int) -> str:
    """The .ics document's caption (plain text)."""
    if count == 0:
        return _("No deadlines to export yet: /follow one or /add your own, then /export again.")
    return count_of(
        count,
        ngettext(
            "{n} deadline with its reminders. Open the file, or import it in "
            "your calendar app (Google Calendar: Settings › Import).",
            "{n} deadlines with their reminders. Open the file, or import it in "
            "your calendar app (Google Calendar: Settings › Import).",
            count,
        ),
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
            _(
                "This chat subscribes to no calendar. /calendar add https://… adds one: its events "
                "become this chat's deadlines, with reminders."
            )
        )
    lines = [_("<b>Calendars</b> ({count} of {limit})").format(count=len(rows), limit=limit)]
    for position, row in enumerate(rows, 1):
        if row.error:
            state = f"⚠️ {escape(row.error)}"
        elif row.refreshed_at is None:
            state = _("⏳ not read yet")
        else:
            state = _("{events}, read {moment}").format(
                events=count_of(row.events, ngettext("{n} event", "{n} events", row.events)),
                moment=format_moment(row.refreshed_at, zone, now),
            )
        lines.append(f"{position}. {escape(row.url)} — {state}")
    lines.append(_("/calendar remove 1 drops the first; its upcoming deadlines go with it."))
    return Rendered("\n".join(lines))


def calendar_added(url: str, events: int, error: str | None) -> Rendered:
    if error:
        return Rendered(
            _(
                "📅 Subscribed to {url}, but it could not be read yet: {error}. "
                "Herald tries again every few hours; /calendar shows how it goes."
            ).format(url=escape(url), error=escape(error))
        )
    return Rendered(
        ngettext(
            "📅 Subscribed to {url}: {n} event in the next year became "
            "this chat's deadlines (see /deadlines). It is read again every few hours.",
            "📅 Subscribed to {url}: {n} events in the next year became "
            "this chat's deadlines (see /deadlines). It is read again every few hours.",
            events,
        ).format(url=escape(url), n=number(events))
    )


def calendar_refused(reason: str, url: str, limit: int) -> Rendered:
    if reason == "already":
        return Rendered(
            _("This chat already subscribes to {url}. /calendar lists them.").format(
                url=escape(url)
            )
        )
    if reason == "limit":
        return Rendered(
            count_of(
                limit,
                ngettext(
                    "This chat already has {n} calendar, the most it can have. "
                    "/calendar remove one first.",
                    "This chat already has {n} calendars, the most it can have. "
                    "/calendar remove one first.",
                    limit,
                ),
            )
        )
    if reason == "unknown":
        return Rendered(
            _("No calendar {url} here. /calendar lists them with numbers.").format(url=escape(url))
        )
    return Rendered(_("{reason}. Nothing was added.").format(reason=escape(reason)))


def calendar_removed(url: str, withdrawn: int) -> Rendered:
    return Rendered(
        ngettext(
            "Removed {url}; {n} deadline from it was withdrawn.",
            "Removed {url}; {n} deadlines from it were withdrawn.",
            withdrawn,
        ).format(url=escape(url), n=number(withdrawn))
    )


def calendar_usage() -> Rendered:
    return Rendered(escape(calendar_form()))
