"""Calendar commands: /timeline (a picture) and /export (an .ics file) of the chat's deadlines,
and /calendar: the ICS URLs whose events become the chat's own deadlines.

Drawing and building run in a worker thread: a picture takes a noticeable fraction of a second
of CPU, and the event loop must keep answering other chats meanwhile.
"""

from __future__ import annotations

import asyncio
import io

from telegram import InputFile, Update
from telegram.ext import ContextTypes

from bot.interface.common import (
    Callback,
    allowed,
    arrive,
    reply,
    runtime_of,
    thread_of,
)
from bot.render import calendars
from bot.render.news import source_refused
from bot.render.timeline import timeline_caption, timeline_empty, timeline_png
from bot.services.calendar_export import chat_calendar, chat_deadlines
from bot.services.chat_calendars import (
    MAX_CALENDARS_PER_CHAT,
    CalendarRefused,
    add_calendar,
    chat_calendars,
    remove_calendar,
    timeline_items,
)
from bot.services.sources import SourceRefused, check_chat_source
from bot.store.db import session_scope
from bot.store.models import utcnow


async def timeline_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, place = update.effective_chat, await arrive(update, context)
    if chat is None or place is None:
        return
    runtime, zone, now = place.runtime, place.zone, utcnow()
    with session_scope(runtime.engine) as session:
        items = timeline_items(session, place.dest, now)
    if not items:
        await reply(update, timeline_empty())
        return
    png = await asyncio.to_thread(timeline_png, items, zone, now)
    await chat.send_photo(
        InputFile(io.BytesIO(png), filename="timeline.png"),
        caption=timeline_caption(len(items), zone),
        message_thread_id=thread_of(update),
    )


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, place = update.effective_chat, await arrive(update, context)
    if chat is None or place is None:
        return
    runtime, dest, now = place.runtime, place.dest, utcnow()

    def build() -> tuple[bytes, int]:
        with session_scope(runtime.engine) as session:
            count = len(chat_deadlines(session, dest, now))
            return chat_calendar(session, dest, now), count

    ics, count = await asyncio.to_thread(build)
    await chat.send_document(
        InputFile(io.BytesIO(ics), filename=calendars.EXPORT_FILENAME),
        caption=calendars.export_caption(count),
        message_thread_id=thread_of(update),
    )


async def calendar_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/calendar lists; /calendar add <url>; /calendar remove <number|url> (chat admins)."""
    args = list(context.args or [])
    place = await arrive(update, context)
    if place is None:
        return
    runtime, dest, stored, zone = place.runtime, place.dest, place.chat, place.zone
    if not args:
        with session_scope(runtime.engine) as session:
            lines = [
                calendars.CalendarLine(row.url, row.events, row.last_refreshed_at, row.last_error)
                for row in chat_calendars(session, dest)
            ]
        await reply(update, calendars.calendar_list(lines, zone, utcnow(), MAX_CALENDARS_PER_CHAT))
        return
    action = args[0].lower()
    if action not in ("add", "remove") or len(args) != 2:
        await reply(update, calendars.calendar_usage())
        return
    if not await allowed(update, context):
        return
    if stored is None:
        await reply(update, calendars.calendar_refused(calendars.start_first(), args[1], 0))
        return
    if action == "remove":
        await _remove(update, context, dest, args[1])
        return
    url = args[1][:2000]
    try:
        await check_chat_source(url)
        with session_scope(runtime.engine) as session:
            row = add_calendar(session, dest, url, _actor(update))
            row_id = row.id
    except SourceRefused as exc:
        why = source_refused(exc.url, exc.reason)
        await reply(update, calendars.calendar_refused(why, url, MAX_CALENDARS_PER_CHAT))
        return
    except CalendarRefused as exc:
        await reply(update, calendars.calendar_refused(str(exc), url, MAX_CALENDARS_PER_CHAT))
        return
    assert row_id is not None
    report = await runtime.refresh_chat_calendar(row_id)
    await reply(
        update,
        calendars.calendar_added(
            url, report.events if report else 0, report.error if report else None
        ),
    )


async def _remove(
    update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, which: str
) -> None:
    runtime = runtime_of(context)
    try:
        with session_scope(runtime.engine) as session:
            row, withdrawn = remove_calendar(session, chat_id, which)
            url = row.url
    except CalendarRefused as exc:
        await reply(update, calendars.calendar_refused(str(exc), which, MAX_CALENDARS_PER_CHAT))
        return
    for deadline_id in withdrawn:
        runtime.deadlines.changed(deadline_id)
    await reply(update, calendars.calendar_removed(url, len(withdrawn)))


def _actor(update: Update) -> str:
    user = update.effective_user
    return f"@{user.username}" if user and user.username else (user.full_name if user else "chat")


COMMANDS: dict[str, Callback] = {
    "timeline": timeline_command,
    "export": export_command,
    "calendar": calendar_command,
}
CALLBACKS: list[tuple[str, Callback]] = []
