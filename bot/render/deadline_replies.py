"""Replies to the deadline commands: details, /add previews, edits, follows, countdowns."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.domain.natural import example_date
from bot.domain.offsets import Offset, parse_offset
from bot.domain.text import ReaderError
from bot.render.chat import CORE_HELP, DEADLINE_HELP
from bot.render.common import (
    Button,
    Rendered,
    count_of,
    countdown,
    escape,
    format_due,
    offset_text,
    reader_error,
    title_link,
)
from bot.render.i18n import _, ngettext
from bot.services.details import ChangeLine, DeadlineDetails


def add_examples() -> tuple[str, ...]:
    """Examples for /add; the ISO one is a date ahead of today, so it is never refused as past."""
    return (
        "/add 9 July 17:00 UK–US trade deal",
        f"/add {example_date(45)} Tariff truce expires",
        "/add next Friday 09:00 Jobs report",
        "/add in 3 days Comment period closes",
    )


def usage(example: str, what: str) -> Rendered:
    return Rendered(
        _("Usage: {usage}").format(usage=f"<code>{escape(example)}</code>") + f"\n{escape(what)}"
    )


def usage_of(command: str) -> Rendered:
    """Usage taken from the command's /help entry, so example and purpose live in one place."""
    for name, example, what in CORE_HELP + DEADLINE_HELP:
        if name == command:
            what = _(what)
            return usage(example, what[:1].upper() + what[1:] + ".")
    raise KeyError(command)


def not_found(slug: str) -> Rendered:
    return Rendered(
        _("No deadline with id {id}. See /deadlines for the ids.").format(
            id=f"<code>{escape(slug)}</code>"
        )
    )


def _offsets_text(offsets: Sequence[str]) -> str:
    shown = [_offset(parse_offset(o)) for o in offsets if parse_offset(o).nominal_minutes]
    if not shown:
        return _("when it falls due")
    return _("{offsets} before, and when it falls due").format(offsets=", ".join(shown))


def _change_text(change: ChangeLine, zone: str, all_day: bool, event_zone: str) -> str:
    when = format_due(change.at, zone, False)
    if change.kind == "moved" and change.old_value and change.new_value:
        old = format_due(datetime.fromisoformat(change.old_value), zone, all_day, event_zone)
        new = format_due(datetime.fromisoformat(change.new_value), zone, all_day, event_zone)
        what = _("moved {old} → {new}").format(old=old, new=new)
    elif change.kind == "renamed":
        what = _("renamed from “{old}”").format(old=escape(change.old_value or ""))
    else:
        what = escape(_change_kind(change.kind))
    by = " " + _("by {actor}").format(actor=escape(change.actor)) if change.actor else ""
    return f"• {when}: {what}{by}"


def _change_kind(kind: str) -> str:
    names = {"created": _("created"), "cancelled": _("cancelled"), "moved": _("moved")}
    return names.get(kind, kind)


def details(d: DeadlineDetails, zone: str, now: datetime) -> Rendered:
    """/deadline <id>: when, countdown, offsets, history, followers, latest news."""
    state = _("cancelled") if d.status != "active" else countdown(d.due_at, now, d.all_day)
    lines = [
        f"<b>{title_link(d.title, d.url)}</b> · <code>{escape(d.slug)}</code>",
        _("Due {when} ({countdown})").format(
            when=format_due(d.due_at, zone, d.all_day, d.timezone), countdown=state
        ),
    ]
    if d.rule:
        lines.append(
            _("Repeats: {rule} ({zone})").format(
                rule=f"<code>{escape(d.rule)}</code>", zone=escape(d.timezone)
            )
        )
    if d.description:
        lines.append(escape(d.description))
    offsets = escape(_offsets_text(d.offsets))
    lines.append(
        _("Reminders (your offsets): {offsets}").format(offsets=offsets)
        if d.own_offsets
        else _("Reminders (default offsets): {offsets}").format(offsets=offsets)
    )
    follow = (
        _("You follow it.")
        if d.followed
        else _("You don't follow it: /follow {slug}").format(slug=d.slug)
    )
    followers = count_of(
        d.followers, ngettext("{n} chat follows it.", "{n} chats follow it.", d.followers)
    )
    lines.append(f"{followers} {follow}")
    lines.append(_("Source: {origin}").format(origin=escape(d.origin)))
    if d.history:
        lines.append("")
        lines.append("<b>" + _("History") + "</b>")
        lines += [_change_text(c, zone, d.all_day, d.timezone) for c in d.history]
    if d.news:
        lines.append("")
        lines.append("<b>" + _("Latest news") + "</b>")
        lines += [
            f"• {title_link(n.title, n.link)}" + (f" — {escape(n.source)}" if n.source else "")
            for n in d.news
        ]
    buttons: list[Button] = []
    if d.status == "active":
        buttons.append(
            Button(_("Unfollow"), data=f"unf:{d.slug}")
            if d.followed
            else Button(_("Follow"), data=f"fol:{d.slug}")
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
    text = f"{escape(title)} — {when} ({countdown(due_at, now, all_day)})\n" + _(
        "Add this deadline and follow it here?"
    )
    buttons = (
        Button(_("Confirm"), data=f"pa:{proposal_id}:ok"),
        Button(_("Cancel"), data=f"pa:{proposal_id}:no"),
    )
    return Rendered(text, (buttons,))


def unreadable_when(hint: str | ReaderError) -> Rendered:
    examples = "\n".join(f"<code>{escape(e)}</code>" for e in add_examples())
    return Rendered(
        _("I couldn't read that: {hint}.\nNothing was added. Examples:\n{examples}").format(
            hint=escape(reader_error(hint)), examples=examples
        )
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
        _(
            "✅ Added <b>{title}</b> — {when}, id {id}.\n"
            "Reminders: {offsets}. Change them: /remind {slug} 2d 3h"
        ).format(
            title=escape(title),
            when=when,
            id=f"<code>{escape(slug)}</code>",
            offsets=escape(_offsets_text(offsets)),
            slug=escape(slug),
        )
    )


def proposal_dropped() -> Rendered:
    return Rendered(_("Cancelled: nothing was added."))


def already_decided() -> str:
    """The answer to a Confirm or Cancel pressed after the proposal was settled (plain text)."""
    return _("That was already decided.")


def moved_by_news(slug: str, title: str, due_at: datetime, zone: str, event_zone: str) -> Rendered:
    return Rendered(
        _(
            "📅 Moved <b>{title}</b> to {when}. Followers are told. Details: /deadline {slug}"
        ).format(
            title=escape(title), when=format_due(due_at, zone, True, event_zone), slug=escape(slug)
        )
    )


def too_many(limit: int) -> Rendered:
    return Rendered(
        ngettext(
            "This chat already has {n} deadline of its own, the most it may have. "
            "Cancel some (/cancel id) first.",
            "This chat already has {n} deadlines of its own, the most it may have. "
            "Cancel some (/cancel id) first.",
            limit,
        ).format(n=limit)
    )


def edited(slug: str, what: str) -> Rendered:
    return Rendered(
        _("✅ {what} Details: /deadline {slug}").format(what=escape(what), slug=escape(slug))
    )


def followed(title: str, slug: str, added_now: bool, offsets: Sequence[str]) -> Rendered:
    if not added_now:
        return Rendered(_("You already follow <b>{title}</b>.").format(title=escape(title)))
    return Rendered(
        _("🔔 You follow <b>{title}</b>: reminders {offsets}. Undo: /unfollow {slug}").format(
            title=escape(title), offsets=escape(_offsets_text(offsets)), slug=escape(slug)
        )
    )


def unfollowed(title: str, slug: str, removed: bool) -> Rendered:
    if not removed:
        return Rendered(_("You weren't following <b>{title}</b>.").format(title=escape(title)))
    return Rendered(
        _("🔕 You no longer follow <b>{title}</b>. Undo: /follow {slug}").format(
            title=escape(title), slug=escape(slug)
        )
    )


def remind_set(title: str, offsets: Sequence[str], own: bool) -> Rendered:
    text = (
        _("⏰ <b>{title}</b>: your reminders are {offsets}.")
        if own
        else _("⏰ <b>{title}</b>: the default reminders are {offsets}.")
    )
    return Rendered(text.format(title=escape(title), offsets=escape(_offsets_text(offsets))))


def bad_input(message: str | ReaderError, example: str) -> Rendered:
    return Rendered(
        _("{message}.\nNothing was changed. Example: {example}").format(
            message=escape(reader_error(message)), example=f"<code>{escape(example)}</code>"
        )
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
        head = _("🚨 <b>{title}</b> has been reached.").format(title=escape(title))
    else:
        head = f"⏳ <b>{escape(title)}</b>: {countdown(due_at, now, all_day)}"
    stamp = format_due(now, zone, False)
    return Rendered(
        f"{head}\n"
        + _("Due {when}").format(when=when)
        + "\n"
        + _("<i>Updated {stamp}</i> · /deadline {slug}").format(
            stamp=stamp, slug=escape(deadline.slug)
        )
    )


def timezone_shown(zone: str) -> Rendered:
    return Rendered(
        _("Times here are shown in {zone}. Change it with /timezone Europe/Paris.").format(
            zone=escape(zone)
        )
    )


def renamed_to(title: str) -> str:
    """What an edit did, as plain text (`edited` escapes it)."""
    return _("Renamed to “{title}”.").format(title=title)


def default_reminders_set(offsets: Sequence[str]) -> str:
    return _("Default reminders set to {offsets}.").format(offsets=" ".join(offsets))


def moved_note() -> str:
    return _("Moved; followers are told.")


def already_cancelled() -> str:
    return _("It was already cancelled.")


def cancelled_note() -> str:
    return _("Cancelled; followers are told.")


def _offset(offset: Offset) -> str:
    return offset_text(offset.days, offset.minutes)


def write_when_and_what() -> str:
    """The hint for an /add without anything after it."""
    return _("write when and what")
