"""Messages of the calendar commands: /timeline, /export and /calendar."""

from __future__ import annotations

from bot.render.common import plural

CALENDAR_HELP: tuple[tuple[str, str, str], ...] = (
    ("timeline", "/timeline", "a picture of your upcoming deadlines on a time axis"),
    ("export", "/export", "your deadlines as an .ics file for Google, Apple or Outlook calendars"),
)

EXPORT_FILENAME = "herald-deadlines.ics"


def export_caption(count: int) -> str:
    """The .ics document's caption (plain text)."""
    if count == 0:
        return "No deadlines to export yet: /follow one or /add your own, then /export again."
    return (
        f"{plural(count, 'deadline')} with their reminders. Open the file, or import it in "
        "your calendar app (Google Calendar: Settings › Import)."
    )
