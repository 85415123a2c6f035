"""Replies to the deadline commands: details, /add previews, edits, follows, countdowns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.domain.natural import example_date
from bot.domain.offsets import format_offset, parse_offset
from bot.render.chat import CORE_HELP, DEADLINE_HELP
from bot.render.common import (
    Button,
    Rendered,
    countdown,
    escape,
    format_due,
    plural,
    title_link,
)


def add_examples() -> tuple[str, ...]:
    """Examples for /add; the ISO one is a date ahead of today, so it is never refused as past."""
    return (
        "/add 9 July 17:00 UK–US trade deal",
        f"/add {example_date(45)} Tariff truce expires",
        "/add next Friday 09:00 Jobs report",
        "/add in 3 days Comment period closes",
    )


@dataclass(frozen=True)
class ChangeLine:
    at: datetime
    kind: str
    old_value: str | None
    new_value: str | None
    actor: str | None


@dataclass(frozen=True)
class NewsLine:
    title: str
    link: str | None
    source: str | None


@dataclass(frozen=True)
class DeadlineDetails:
    slug: str
    title: str
    due_at: datetime
    timezone: str
    all_day: bool
    status: str
    origin: str
    url: str | None
    description: str | None
    rule: str | None
    offsets: Sequence[str]
    own_offsets: bool
    followed: bool
    followers: int
    history: Sequence[ChangeLine]
    news: Sequence[NewsLine] = ()


def usage(command: str, example: str, what: str) -> Rendered:
    return Rendered(f"Usage: <code>{escape(example)}</code>\n{escape(what)}")


def usage_of(command: str) -> Rendered:
    """Usage taken from the command's /help entry, so example and purpose live in one place."""
    for name, example, what in CORE_HELP + DEADLINE_HELP:
        if name == command:
            return usage(command, example, what[:1].upper() + what[1:] + ".")
    raise KeyError(command)


def not_found(slug: str) -> Rendered:
    return Rendered(f"No deadline with id <code>{escape(slug)}</code>. See /deadlines for the ids.")


def _offsets_text(offsets: Sequence[str]) -> str:
    shown = [format_offset(parse_offset(o)) for o in offsets if parse_offset(o).nominal_minutes]
    return ", ".join(shown) + " before, and when it falls due" if shown else "when it falls due"


def _change_text(change: ChangeLine, zone: str, all_day: bool, event_zone: str) -> str:
    when = format_due(change.at, zone, False)
    if change.kind == "moved" and change.old_value and change.new_value:
        old = format_due(datetime.fromisoformat(change.old_value), zone, all_day, event_zone)
        new = format_due(datetime.fromisoformat(change.new_value), zone, all_day, event_zone)
        what = f"moved {old} → {new}"
    elif change.kind == "renamed":
        what = f"renamed from “{escape(change.old_value or '')}”"
    else:
        what = escape(change.kind)
    by = f" by {escape(change.actor)}" if change.actor else ""
    return f"• {when}: {what}{by}"


def details(d: DeadlineDetails, zone: str, now: datetime) -> Rendered:
    """/deadline <id>: when, countdown, offsets, history, followers, latest news."""
    state = "cancelled" if d.status != "active" else countdown(d.due_at, now, d.all_day)
    lines = [
        f"<b>{title_link(d.title, d.url)}</b> · <code>{escape(d.slug)}</code>",
        f"Due {format_due(d.due_at, zone, d.all_day, d.timezone)} ({state})",
    ]
    if d.rule:
        lines.append(f"Repeats: <code>{escape(d.rule)}</code> ({escape(d.timezone)})")
    if d.description:
        lines.append(escape(d.description))
    mine = "your offsets" if d.own_offsets else "default offsets"
    lines.append(f"Reminders ({mine}): {escape(_offsets_text(d.offsets))}")
    follow = "You follow it." if d.followed else f"You don't follow it: /follow {d.slug}"
    lines.append(f"{plural(d.followers, 'chat follows', 'chats follow')} it. {follow}")
    lines.append(f"Source: {escape(d.origin)}")
    if d.history:
        lines.append("")
        lines.append("<b>History</b>")
        lines += [_change_text(c, zone, d.all_day, d.timezone) for c in d.history]
    if d.news:
        lines.append("")
        lines.append("<b>Latest news</b>")
        lines += [
            f"• {title_link(n.title, n.link)}" + (f" — {escape(n.source)}" if n.source else "")
            for n in d.news
        ]
    buttons: list[Button] = []
    if d.status == "active":
        buttons.append(
            Button("Unfollow", data=f"unf:{d.slug}")
            if d.followed
            else Button("Follow", data=f"fol:{d.slug}")
        )
    return Rendered("\n".join(lines), (tuple(buttons),) if buttons else ())


def add_preview(
    proposal_id: int,
    title: str,
    due_at: datetime,
    zone: str,
    all_day: bool,
    event_zone: str,
    now: datetime,
) -> Rendered:
    """The bot's reading of /add, to confirm before anything is stored."""
    when = format_due(due_at, zone, all_day, event_zone)
    text = (
        f"{escape(title)} — {when} ({countdown(due_at, now, all_day)})\n"
        "Add this deadline and follow it here?"
    )
    buttons = (
        Button("Confirm", data=f"pa:{proposal_id}:ok"),
        Button("Cancel", data=f"pa:{proposal_id}:no"),
    )
    return Rendered(text, (buttons,))


def unreadable_when(hint: str) -> Rendered:
    examples = "\n".join(f"<code>{escape(e)}</code>" for e in add_examples())
    return Rendered(
        f"I couldn't read that: {escape(hint)}.\nNothing was added. Examples:\n{examples}"
    )


def added(
    slug: str,
    title: str,
    due_at: datetime,
    zone: str,
    all_day: bool,
    event_zone: str,
    offsets: Sequence[str],
) -> Rendered:
    when = format_due(due_at, zone, all_day, event_zone)
    return Rendered(
        f"✅ Added <b>{escape(title)}</b> — {when}, id <code>{escape(slug)}</code>.\n"
        f"Reminders: {escape(_offsets_text(offsets))}. "
        f"Change them: /remind {escape(slug)} 2d 3h"
    )


def proposal_dropped() -> Rendered:
    return Rendered("Cancelled: nothing was added.")


def moved_by_news(slug: str, title: str, due_at: datetime, zone: str, event_zone: str) -> Rendered:
    return Rendered(
        f"📅 Moved <b>{escape(title)}</b> to {format_due(due_at, zone, True, event_zone)}. "
        f"Followers are told. Details: /deadline {escape(slug)}"
    )


def too_many(limit: int) -> Rendered:
    return Rendered(
        f"This chat already has {limit} deadlines of its own, the most it may have. "
        "Cancel some (/cancel id) first."
    )


def edited(slug: str, what: str) -> Rendered:
    return Rendered(f"✅ {escape(what)} Details: /deadline {escape(slug)}")


def followed(title: str, slug: str, added_now: bool, offsets: Sequence[str]) -> Rendered:
    if not added_now:
        return Rendered(f"You already follow <b>{escape(title)}</b>.")
    return Rendered(
        f"🔔 You follow <b>{escape(title)}</b>: reminders {escape(_offsets_text(offsets))}. "
        f"Undo: /unfollow {escape(slug)}"
    )


def unfollowed(title: str, slug: str, removed: bool) -> Rendered:
    if not removed:
        return Rendered(f"You weren't following <b>{escape(title)}</b>.")
    return Rendered(f"🔕 You no longer follow <b>{escape(title)}</b>. Undo: /follow {escape(slug)}")


def remind_set(title: str, offsets: Sequence[str], own: bool) -> Rendered:
    which = "your" if own else "the default"
    return Rendered(
        f"⏰ <b>{escape(title)}</b>: {which} reminders are {escape(_offsets_text(offsets))}."
    )


def bad_input(message: str, example: str) -> Rendered:
    return Rendered(
        f"{escape(message)}.\nNothing was changed. Example: <code>{escape(example)}</code>"
    )


class CountedDeadline(Protocol):
    """What a countdown shows of a deadline (a stored `Deadline` is one)."""

    @property
    def title(self) -> str: ...
    @property
    def slug(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def all_day(self) -> bool: ...
    @property
    def timezone(self) -> str: ...


def countdown_message(deadline: CountedDeadline, zone: str, now: datetime) -> Rendered:
    """The live countdown, edited in place daily (hourly on the last day)."""
    title, due_at, all_day = deadline.title, deadline.due_at, deadline.all_day
    when = format_due(due_at, zone, all_day, deadline.timezone)
    if due_at <= now:
        head = f"🚨 <b>{escape(title)}</b> has been reached."
    else:
        head = f"⏳ <b>{escape(title)}</b>: {countdown(due_at, now, all_day)}"
    stamp = format_due(now, zone, False)
    tail = f"<i>Updated {stamp}</i> · /deadline {escape(deadline.slug)}"
    return Rendered(f"{head}\nDue {when}\n{tail}")


def timezone_shown(zone: str) -> Rendered:
    return Rendered(
        f"Times here are shown in {escape(zone)}. Change it with /timezone Europe/Paris."
    )
