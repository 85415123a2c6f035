"""Every message text Herald sends, in one place: HTML parse mode, outside text always escaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from jobs.deadlines.offsets import format_offset, parse_offset


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


@dataclass(frozen=True)
class DeadlineLine:
    """What a list needs to show one deadline."""

    slug: str
    title: str
    due_at: datetime
    timezone: str
    all_day: bool
    followed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def format_due(due_at: datetime, zone: str, all_day: bool, event_zone: str | None = None) -> str:
    """'Wed 9 Jul 2025, 17:00 BST', or 'Wed 9 Jul 2025' for a date-only deadline.

    A date-only deadline is a calendar day of its own zone, so it is shown as that day
    wherever the reader is; timed deadlines are shown in the reader's zone.
    """
    local = due_at.astimezone(ZoneInfo(event_zone if all_day and event_zone else zone))
    day = f"{local:%a} {local.day} {local:%b %Y}"
    if all_day:
        return day
    return f"{day}, {local:%H:%M} {local.tzname()}"


def _line_due(item: DeadlineLine, zone: str) -> str:
    return format_due(item.due_at, zone, item.all_day, item.timezone)


def _payload_due(payload: dict[str, Any], zone: str) -> str:
    due = datetime.fromisoformat(payload["due_at"])
    return format_due(due, zone, bool(payload.get("all_day")), payload.get("timezone"))


def _span(seconds: float) -> str:
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days >= 2:
        return f"{days} days"
    if days == 1:
        return f"1 day {hours} h" if hours else "1 day"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return "less than a minute"


def countdown(due_at: datetime, now: datetime) -> str:
    """'in 12 days', 'in 3 h 20 min', 'passed 2 days ago', 'now'."""
    delta = (due_at - now).total_seconds()
    if abs(delta) < 30:
        return "now"
    return f"in {_span(delta)}" if delta > 0 else f"passed {_span(delta)} ago"


def _title_link(title: str, url: str | None) -> str:
    if url:
        return f'<a href="{escape(url, quote=True)}">{escape(title)}</a>'
    return escape(title)


def deadline_list(
    upcoming: Sequence[DeadlineLine],
    passed: Sequence[DeadlineLine],
    zone: str,
    now: datetime,
    *,
    page: int = 0,
    pages: int = 1,
) -> Rendered:
    """/deadlines: upcoming first with countdowns, then the most recently passed."""
    lines = ["<b>Upcoming deadlines</b>" + (f" (page {page + 1} of {pages})" if pages > 1 else "")]
    if not upcoming:
        lines.append("Nothing upcoming. Add one with /add 9 July 17:00 UK–US trade deal.")
    for item in upcoming:
        mark = "🔔" if item.followed else "▫️"
        lines.append(
            f"{mark} <b>{escape(item.title)}</b> — {_line_due(item, zone)}"
            f" ({countdown(item.due_at, now)}) · <code>{escape(item.slug)}</code>"
        )
    if passed:
        lines.append("")
        lines.append("<b>Recently passed</b>")
        for item in passed:
            lines.append(
                f"✔️ <s>{escape(item.title)}</s> — {_line_due(item, zone)}"
                f" (passed, {countdown(item.due_at, now).removeprefix('passed ')})"
            )
    lines.append("")
    lines.append("🔔 = you follow it. Details: /deadline &lt;id&gt;")
    nav: list[Button] = []
    if page > 0:
        nav.append(Button("◀ Earlier", data=f"dl:{page - 1}"))
    if page + 1 < pages:
        nav.append(Button("Later ▶", data=f"dl:{page + 1}"))
    return Rendered("\n".join(lines), (tuple(nav),) if nav else ())


def welcome(
    chat_title: str | None, created: bool, deadlines: int, topics: int, zone: str
) -> Rendered:
    who = f" {escape(chat_title)}" if chat_title else ""
    if created:
        first = f"Welcome{who}! Herald will remind you of deadlines and push news on your topics."
        follows = f"You now follow {deadlines} deadlines and {topics} topics from the shipped list."
    else:
        first = f"Welcome back{who}! Your alerts are on."
        follows = "Your subscriptions are as you left them."
    return Rendered(
        "\n".join(
            [
                first,
                follows,
                f"Times are shown in {escape(zone)} (change it with /timezone Europe/Paris).",
                "",
                "Try /deadlines to see what is coming, or /help for every command.",
            ]
        )
    )


HELP_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("start", "/start", "register this chat and follow the shipped deadlines and topics"),
    ("help", "/help", "this list"),
    ("deadlines", "/deadlines", "upcoming deadlines with countdowns, then recently passed ones"),
    ("deadline", "/deadline uk-us-trade-deal", "details, reminder offsets, history, followers"),
    ("add", "/add 9 July 17:00 UK–US trade deal", "add a deadline for this chat"),
    ("edit", "/edit my-deadline when 12 Aug 09:00", "change when, title or remind offsets"),
    ("cancel", "/cancel my-deadline", "cancel a deadline this chat added"),
    ("follow", "/follow us-china-tariff-truce", "get reminders for a deadline"),
    ("unfollow", "/unfollow us-china-tariff-truce", "stop reminders for a deadline"),
    ("remind", "/remind uk-us-trade-deal 7d 1d 2h", "choose this chat's reminder offsets"),
    ("timezone", "/timezone Europe/Paris", "show times in another zone"),
)


def help_text(commands: Sequence[tuple[str, str, str]] = HELP_COMMANDS) -> Rendered:
    lines = ["<b>Herald commands</b>"]
    for _name, example, what in commands:
        lines.append(f"<code>{escape(example)}</code> — {escape(what)}")
    lines.append("")
    lines.append("Offsets: 7d = 7 days, 2h = 2 hours, 30m = 30 minutes, 0 = when it falls due.")
    return Rendered("\n".join(lines))


def _deadline_buttons(payload: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
    row: list[Button] = []
    if payload.get("url"):
        row.append(Button("Open", url=str(payload["url"])))
    row.append(Button("Unfollow", data=f"unf:{payload['slug']}"))
    return (tuple(row),)


def reminder(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    due = datetime.fromisoformat(payload["due_at"])
    when = _payload_due(payload, zone)
    title = _title_link(payload["title"], payload.get("url"))
    offset = parse_offset(payload.get("offset", "0"))
    if payload.get("late"):
        head = f"⏰ <b>Reminder (late, Herald was offline)</b>: {title}"
    else:
        head = f"⏰ <b>Reminder</b> ({escape(format_offset(offset))} before): {title}"
    lines = [head, f"Due {when} ({countdown(due, now)})"]
    if payload.get("missed_offsets"):
        missed = ", ".join(format_offset(parse_offset(o)) for o in payload["missed_offsets"])
        lines.append(f"Also missed while offline: the {escape(missed)} reminder.")
    return Rendered("\n".join(lines), _deadline_buttons(payload))


def deadline_reached(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    title = _title_link(payload["title"], payload.get("url"))
    late = " (late, Herald was offline)" if payload.get("late") else ""
    return Rendered(
        f"🚨 <b>Deadline reached{late}</b>: {title}\n{_payload_due(payload, zone)}",
        _deadline_buttons(payload),
    )


def deadline_changed(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    title = escape(payload["title"])
    all_day = bool(payload.get("all_day"))
    event_zone = payload.get("timezone")
    change = payload.get("change")
    due = datetime.fromisoformat(payload["due_at"])
    if change == "moved":
        old = datetime.fromisoformat(payload["old_due_at"])
        days = round((due - old).total_seconds() / 86400)
        shift = f" ({days:+d} days)" if days else ""
        text = (
            f"📅 <b>Deadline moved</b>: {title}, {format_due(old, zone, all_day, event_zone)} → "
            f"{format_due(due, zone, all_day, event_zone)}{shift}\nNow {countdown(due, now)}."
        )
    elif change == "renamed":
        text = f"✏️ <b>Deadline renamed</b>: {escape(payload['old_title'])} → {title}"
    else:
        was = format_due(due, zone, all_day, event_zone)
        text = f"❌ <b>Deadline cancelled</b>: {title} (was {was})"
    return Rendered(text)


def offline_summary(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    lines = ["💤 <b>While Herald was offline</b>, these deadlines passed:"]
    seen: set[str] = set()
    for item in payload.get("items", []):
        if item["slug"] in seen:
            continue
        seen.add(item["slug"])
        due = datetime.fromisoformat(item["due_at"])
        lines.append(
            f"• {_title_link(item['title'], item.get('url'))} — "
            f"{format_due(due, zone, bool(item.get('all_day')), item.get('timezone'))}"
        )
    return Rendered("\n".join(lines))


ALERT_RENDERERS = {
    "reminder": reminder,
    "deadline_reached": deadline_reached,
    "deadline_changed": deadline_changed,
    "offline_summary": offline_summary,
}


def alert(kind: str, payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    """Render an outbox row; an unknown kind still produces a readable message."""
    renderer = ALERT_RENDERERS.get(kind)
    if renderer is None:
        return Rendered(escape(str(payload.get("text", kind))))
    return renderer(payload, zone, now)


def error_reply() -> Rendered:
    return Rendered("Sorry, something went wrong on our side. Please try again in a moment.")
