"""Calendar commands: /timeline (a picture) and /export (an .ics file) of the chat's deadlines.

Drawing and building run in a worker thread: a picture takes a noticeable fraction of a second
of CPU, and the event loop must keep answering other chats meanwhile.
"""

from __future__ import annotations

import asyncio
import io

from telegram import InputFile, Update
from telegram.ext import ContextTypes

from bot.interface.common import Callback, chat_zone, reply, runtime_of
from bot.render import calendars as text
from bot.render.timeline import timeline_caption, timeline_empty, timeline_png
from bot.services.calendar_export import chat_calendar, chat_deadlines
from bot.services.chat_calendars import timeline_items
from bot.store.db import session_scope
from bot.store.models import utcnow


async def timeline_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    runtime = runtime_of(context)
    _, zone = chat_zone(runtime, chat.id)
    now = utcnow()
    with session_scope(runtime.engine) as session:
        items = timeline_items(session, chat.id, now)
    if not items:
        await reply(update, timeline_empty())
        return
    png = await asyncio.to_thread(timeline_png, items, zone, now)
    await chat.send_photo(
        InputFile(io.BytesIO(png), filename="timeline.png"),
        caption=timeline_caption(len(items), zone),
    )


async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    runtime = runtime_of(context)
    now = utcnow()

    def build() -> tuple[bytes, int]:
        with session_scope(runtime.engine) as session:
            count = len(chat_deadlines(session, chat.id, now))
            return chat_calendar(session, chat.id, now), count

    ics, count = await asyncio.to_thread(build)
    await chat.send_document(
        InputFile(io.BytesIO(ics), filename=text.EXPORT_FILENAME),
        caption=text.export_caption(count),
    )


COMMANDS: dict[str, Callback] = {
    "timeline": timeline_command,
    "export": export_command,
}
CALLBACKS: list[tuple[str, Callback]] = []
