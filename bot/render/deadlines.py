"""Deadline messages: lists, reminders, changes, the offline summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.offsets import Offset, parse_offset
from bot.render.common import (
    Button,
    Rendered,
    ago,
    countdown,
    escape,
    format_due,
    http_url,
    offset_text,
    payload_due,
    title_link,
)
from bot.render.i18n import _, ngettext


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
    head = "<b>" + _("Upcoming deadlines") + "</b>"
    if pages > 1:
        head += " " + _("(page {page} of {pages})").format(page=page + 1, pages=pages)
    lines = [head]
    if not upcoming:
        lines.append(_("Nothing upcoming. Add one with /add 9 July 17:00 UK–US trade deal."))
    for item in upcoming:
        mark = "🔔" if item.followed else "▫️"
        lines.append(
            f"{mark} <b>{escape(item.title)}</b> — {_line_due(item, zone)}"
            f" ({countdown(item.due_at, now, item.all_day)}) · <code>{escape(item.slug)}</code>"
        )
    if passed:
        lines.append("")
        lines.append("<b>" + _("Recently passed") + "</b>")
        for item in passed:
            lines.append(
                f"✔️ <s>{escape(item.title)}</s> — {_line_due(item, zone)} "
                + _("(passed, {ago})").format(ago=ago(item.due_at, now, item.all_day))
            )
    lines.append("")
    lines.append(_("🔔 = you follow it. Details: /deadline &lt;id&gt;"))
    nav: list[Button] = []
    if page > 0:
        nav.append(Button(_("◀ Earlier"), data=f"dl:{page - 1}"))
    if page + 1 < pages:
        nav.append(Button(_("Later ▶"), data=f"dl:{page + 1}"))
    return Rendered("\n".join(lines), (tuple(nav),) if nav else ())


def _deadline_buttons(payload: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
    row: list[Button] = []
    url = http_url(payload.get("url"))
    if url:
        row.append(Button(_("Open"), url=url))
    row.append(Button(_("Unfollow"), data=f"unf:{payload['slug']}"))
    return (tuple(row),)


def reminder(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:
    due = datetime.fromisoformat(payload["due_at"])
    when = payload_due(payload, zone)
    title = title_link(payload["title"], payload.get("url"))
    offset = parse_offset(payload.get("offset", "0"))
    if payload.get("late"):
        head = _("⏰ <b>Reminder (late, Herald was offline)</b>: {title}").format(title=title)
    else:
        head = _("⏰ <b>Reminder</b> ({offset} before): {title}").format(
            offset=escape(_offset(offset)), title=title
        )
    lines = [head, _("Due {when} ({countdown})").format(when=when, countdown=countdown(due, now))]
    if payload.get("missed_offsets"):
        missed = ", ".join(_offset(parse_offset(o)) for o in payload["missed_offsets"])
        lines.append(
            _("Also missed while offline: the {offsets} reminder.").format(offsets=escape(missed))
        )
    return Rendered("\n".join(lines), _deadline_buttons(payload))


def deadline_reached(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:  # noqa: ARG001  AlertRenderer signature
    title = title_link(payload["title"], payload.get("url"))
    head = (
        _("🚨 <b>Deadline reached (late, Herald was offline)</b>: {title}")
        if payload.get("late")
        else _("🚨 <b>Deadline reached</b>: {title}")
    )
    return Rendered(
        head.format(title=title) + f"\n{payload_due(payload, zone)}",
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
        shift = (
            " (" + ngettext("{days} day", "{days} days", abs(days)).format(days=f"{days:+d}") + ")"
            if days
            else ""
        )
        text = _("📅 <b>Deadline moved</b>: {title}, {old} → {new}{shift}").format(
            title=title,
            old=format_due(old, zone, all_day, event_zone),
            new=format_due(due, zone, all_day, event_zone),
            shift=shift,
        )
        text += "\n" + _("Now {countdown}.").format(countdown=countdown(due, now))
    elif change == "renamed":
        text = _("✏️ <b>Deadline renamed</b>: {old} → {title}").format(
            old=escape(payload["old_title"]), title=title
        )
    else:
        was = format_due(due, zone, all_day, event_zone)
        text = _("❌ <b>Deadline cancelled</b>: {title} (was {was})").format(title=title, was=was)
    return Rendered(text)


def offline_summary(payload: dict[str, Any], zone: str, now: datetime) -> Rendered:  # noqa: ARG001  AlertRenderer signature
    lines = [_("💤 <b>While Herald was offline</b>, these deadlines passed:")]
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


def _offset(offset: Offset) -> str:
    return offset_text(offset.days, offset.minutes)
