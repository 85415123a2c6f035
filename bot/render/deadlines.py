"""Deadline messages: lists, reminders, changes, the offline summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.offsets import format_offset, parse_offset
from bot.render.common import (
    Button,
    Rendered,
    countdown,
    escape,
    format_due,
    http_url,
    payload_due,
    title_link,
)


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


def _line_due(item: DeadlineLine, zone: str) -> str:
    return format_due(item.due_at, zone, item.all_day, item.timezone)


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
            f" ({countdown(item.due_at, now, item.all_day)}) · <code>{escape(item.slug)}</code>"
        )
    if passed:
        lines.append("")
        lines.append("<b>Recently passed</b>")
        for item in passed:
            lines.append(
                f"✔️ <s>{escape(item.title)}</s> — {_line_due(item, zone)}"
                f" (passed, {countdown(item.due_at, now, item.all_day).removeprefix('passed ')})"
            )
    lines.append("")
    lines.append("🔔 = you follow it. Details: /deadline &lt;id&gt;")
    nav: list[Button] = []
    if page > 0:
        nav.append(Button("◀ Earlier", data=f"dl:{page - 1}"))
    if page + 1 < pages:
        nav.append(Button("Later ▶", data=f"dl:{page + 1}"))
    return Rendered("\n".join(lines), (tuple(nav),) if nav else ())


def _deadline_buttons(payload: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
    row: list[Button] = []
    url = http_url(payload.get("url"))
    if url:
        row.append(Button("Open", url=url))
    row.append(Button("Unfollow", data=f"unf:{payload['slug']}"))
    return (tuple(row),)


def reminder(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    due = datetime.fromisoformat(payload["due_at"])
    when = payload_due(payload, zone)
    title = title_link(payload["title"], payload.get("url"))
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
    title = title_link(payload["title"], payload.get("url"))
    late = " (late, Herald was offline)" if payload.get("late") else ""
    return Rendered(
        f"🚨 <b>Deadline reached{late}</b>: {title}\n{payload_due(payload, zone)}",
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
        shift = f" ({days:+d} {'day' if abs(days) == 1 else 'days'})" if days else ""
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
            f"• {title_link(item['title'], item.get('url'))} — "
            f"{format_due(due, zone, bool(item.get('all_day')), item.get('timezone'))}"
        )
    return Rendered("\n".join(lines))


ALERT_RENDERERS = {
    "reminder": reminder,
    "deadline_reached": deadline_reached,
    "deadline_changed": deadline_changed,
    "offline_summary": offline_summary,
}
