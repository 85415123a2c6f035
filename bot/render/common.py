"""Shared pieces of every message: buttons, due dates, countdowns, escaping."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from bot.domain.text import DateText, ReaderError
from bot.render.i18n import _, current, ngettext, number


def escape(text: str, quote: bool = False) -> str:
    """Escape outside text for Telegram's HTML; quotes only matter inside attributes."""
    return html.escape(text, quote=quote)


def count_of(count: int, template: str) -> str:
    """An `ngettext` template with its count filled in: '{n} deadlines' → '1,200 deadlines'."""
    return template.format(n=number(count))


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 chat', '2 chats', '1,200 deadlines'; `many` for irregular nouns ('1 story', 'stories')."""
    word = noun if count == 1 else (many or noun + "s")
    return f"{count:,} {word}"


@dataclass(frozen=True)
class Button:
    """An inline button: either a callback (`data`) or a link (`url`)."""

    label: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    preview: bool = False


def format_due(due_at: datetime, zone: str, all_day: bool, event_zone: str | None = None) -> str:
    """'Wed 9 Jul 2025, 17:00 BST', or 'Wed 9 Jul 2025' for a date-only deadline.

    A date-only deadline is a calendar day of its own zone, so it is shown as that day
    wherever the reader is; timed deadlines are shown in the reader's zone.
    """
    local = due_at.astimezone(ZoneInfo(event_zone if all_day and event_zone else zone))
    day = day_text(local, with_year=True)
    if all_day:
        return day
    return f"{day}, {local:%H:%M} {local.tzname()}"


def day_text(local: datetime, *, with_year: bool) -> str:
    """'Wed 9 Jul 2025' / 'Mi., 9. Juli 2025': day and month names of the current language
    (CLDR via Babel); the pattern itself is translated, since the order differs too."""
    # Translators: a CLDR date pattern (EEE weekday, d day, MMM month, y year).
    pattern = _("EEE d MMM y") if with_year else _("EEE d MMM")
    return format_date(local.date(), pattern, locale=current())


def format_moment(moment: datetime, zone: str, now: datetime) -> str:
    """A moment in the reader's zone, as short as is clear: '22:00 GMT today',
    'Tue 7 Dec, 09:00 GMT', or with its year when that is not this year."""
    local, today = moment.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    clock = f"{local:%H:%M} {local.tzname()}"
    if local.date() == today.date():
        return _("{clock} today").format(clock=clock)
    day = day_text(local, with_year=local.year != today.year)
    return f"{day}, {clock}"


def span_text(seconds: float) -> str:
    """'3 days', '1 day 4 h', '2 h 30 min': how long, without a direction."""
    return _span(seconds)


def payload_due(payload: dict[str, Any], zone: str) -> str:
    due = datetime.fromisoformat(payload["due_at"])
    return format_due(due, zone, bool(payload.get("all_day")), payload.get("timezone"))


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days >= 2:
        return count_of(days, ngettext("{n} day", "{n} days", days))
    if days == 1:
        return _("1 day {hours} h").format(hours=hours) if hours else _("1 day")
    if hours:
        if minutes:
            return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
        return _("{hours} h").format(hours=hours)
    if minutes:
        return _("{minutes} min").format(minutes=minutes)
    return _("less than a minute")


def countdown(due_at: datetime, now: datetime, all_day: bool = False) -> str:
    """'in 12 days', 'in 3 h 20 min', 'passed 2 days ago'; 'today' for a date-only one."""
    delta = (due_at - now).total_seconds()
    if all_day and -86400 < delta <= 0:
        return _("today")
    if abs(delta) < 30:
        return _("now")
    if delta > 0:
        return _("in {span}").format(span=_span(delta))
    return _("passed {span} ago").format(span=_span(delta))


def offset_text(days: int, minutes: int) -> str:
    """A reminder offset for people: '7 days', '1 day 12 hours', 'at the due time'."""
    if days == 0 and minutes == 0:
        return _("at the due time")
    hours, minutes = divmod(minutes, 60)
    parts = [
        (days, ngettext("{n} day", "{n} days", days)),
        (hours, ngettext("{n} hour", "{n} hours", hours)),
        (minutes, ngettext("{n} minute", "{n} minutes", minutes)),
    ]
    return " ".join(count_of(value, template) for value, template in parts if value)


def ago(due_at: datetime, now: datetime, all_day: bool = False) -> str:
    """How long ago a passed deadline fell due: '2 days ago', or 'today', 'now'."""
    delta = (due_at - now).total_seconds()
    if all_day and -86400 < delta <= 0:
        return _("today")
    if abs(delta) < 30:
        return _("now")
    return _("{span} ago").format(span=_span(delta))


def http_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None: no other scheme reaches a message or a button."""
    if url and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def title_link(title: str, url: str | None) -> str:
    url = http_url(url)
    if url:
        return f'<a href="{escape(url, quote=True)}">{escape(title)}</a>'
    return escape(title)


def error_reply() -> Rendered:
    return Rendered(_("Sorry, something went wrong on our side. Please try again in a moment."))


def _worded(value: object) -> object:
    if isinstance(value, ReaderError):
        return reader_error(value)
    if isinstance(value, DateText):
        return value.worded(current())
    return value


def reader_error(error: str | ReaderError) -> str:
    """A reader's refusal (a date, offset, rule, query, source or file it could not read) in the
    current language, as plain text to escape. A refusal quoted inside another is worded too."""
    if isinstance(error, str):
        return error
    params = {name: _worded(value) for name, value in error.params.items()}
    return _(error.template).format(**params)
