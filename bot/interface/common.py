"""What every command module shares: the runtime, replying, and who may change things."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import render
from bot.delivery import to_markup
from bot.delivery_policy.split import split_message
from bot.runtime import Runtime
from bot.services import access, chats, destinations
from bot.store.db import session_scope
from bot.store.models import Chat

log = logging.getLogger(__name__)
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}
MAX_REPLY_PARTS = 4  # a reply longer than this many messages is cut (it echoes input at most)
MAX_ROW_ID = 2**31 - 1  # row ids are INTEGER: PostgreSQL refuses a larger one even in a lookup


@dataclass(frozen=True)
class Place:
    """Where a command acts: the destination id (chat or forum topic), its stored row (None
    before /start) and the zone its times are shown in."""

    runtime: Runtime
    dest: int
    chat: Chat | None
    zone: str


async def arrive(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    *,
    changing: bool = False,
    target: access.Target = access.CHAT_SETTINGS,
    unregistered: Callable[[], str] | None = None,
    usage: render.Rendered | None = None,
) -> Place | None:
    """The preamble of every command and button, in one place: the chat the update came
    from; `usage`, the answer when the command's arguments are missing (given only then);
    the permission check when it changes something (`changing`); and, when `unregistered`
    is given, the refusal (its text) for a chat that never sent /start.

    None means the handler stops: there is no chat, or the sender was already told why.
    """
    if update.effective_chat is None:
        return None
    if usage is not None:
        await reply(update, usage)
        return None
    if changing and not await allowed(update, context, target):
        return None
    runtime = runtime_of(context)
    dest = here(update, context)
    stored, zone = chat_zone(runtime, dest)
    if stored is None and unregistered is not None:
        await refuse(update, unregistered())
        return None
    return Place(runtime, dest, stored, zone)


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    runtime = context.application.bot_data["runtime"]
    assert isinstance(runtime, Runtime)
    return runtime


def reply_parts(text: str) -> list[str]:
    """A reply as Telegram-sized parts (split like pushes), at most MAX_REPLY_PARTS of them."""
    parts = split_message(text)
    if len(parts) <= MAX_REPLY_PARTS:
        return parts
    kept = parts[:MAX_REPLY_PARTS]
    cut_note = "\n" + render.chat.cut_note()
    budget = 4096 - len(cut_note)
    kept[-1] = split_message(kept[-1], budget)[0] + html.escape(cut_note, quote=False)
    return kept


def thread_of(update: Update) -> int | None:
    """The forum topic the update came from (None outside forum topics and in General)."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


def here(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The destination the update came from: its chat, or its forum topic (see
    bot/services/destinations.py). What the chat follows and sets is stored under this id."""
    chat = update.effective_chat
    assert chat is not None
    thread = thread_of(update)
    if thread is None:
        return chat.id
    with session_scope(runtime_of(context).engine) as session:
        return destinations.resolve(session, chat.id, thread)


async def reply(update: Update, rendered: render.Rendered) -> None:
    """Answer in the chat (and forum topic) the update came from (one way out for replies).

    Long replies are split like pushes (tags closed and reopened at each cut); the buttons
    go under the last part.
    """
    chat = update.effective_chat
    if chat is None:
        return
    parts = reply_parts(rendered.text)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await chat.send_message(
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=to_markup(rendered.buttons) if last else None,
            disable_web_page_preview=not rendered.preview,
            message_thread_id=thread_of(update),
        )


async def edit(update: Update, rendered: render.Rendered, *, preview: bool = True) -> None:
    """Edit the message under a pressed button (shortened to one message if it must be)."""
    query = update.callback_query
    if query is None:
        return
    await query.edit_message_text(
        split_message(rendered.text)[0],
        parse_mode=ParseMode.HTML,
        reply_markup=to_markup(rendered.buttons),
        disable_web_page_preview=not preview,
    )


async def reply_text(update: Update, text: str) -> None:
    """Reply with plain text (escaped)."""
    await reply(update, render.Rendered(html.escape(text, quote=False)))


async def answer(update: Update, text: str | None = None) -> None:
    """Answer a button press (Telegram shows a spinner until it is answered); never raises."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text[:200] if text else None)
    except TelegramError as exc:  # already answered, or too old to answer
        log.debug("could not answer a button press: %s", exc)


def row_id(digits: str) -> int | None:
    """A row id from button data, or None when no row can have it (too large for the store)."""
    value = int(digits)
    return value if 0 < value <= MAX_ROW_ID else None


def chat_zone(runtime: Runtime, chat_id: int) -> tuple[Chat | None, str]:
    """The stored chat (if registered) and the zone its times are shown in."""
    with session_scope(runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        return chat, chats.zone_of(chat, runtime.config.timezone)


async def actor_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> access.Actor:
    """Who acts, with what standing; asks Telegram about chat admins only in groups."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    user_id = user.id if user else None
    bot_admin = runtime_of(context).is_admin(user_id)
    if chat is None or chat.type == ChatType.PRIVATE or bot_admin:
        return access.Actor(user_id, bot_admin=bot_admin)
    if update.callback_query is None and message is not None and message.sender_chat is not None:
        # Sent on behalf of the group itself: only its anonymous admins can do that.
        return access.Actor(user_id, chat_admin=message.sender_chat.id == chat.id)
    if user_id is None:
        return access.Actor(None)
    member = await chat.get_member(user_id)
    return access.Actor(user_id, chat_admin=member.status in ADMIN_STATUSES)


async def decision(
    update: Update, context: ContextTypes.DEFAULT_TYPE, target: access.Target
) -> access.Decision:
    chat = update.effective_chat
    if chat is None:
        return access.Refused("no_chat")
    # Items a forum topic added are owned by the topic's destination id.
    actor = await actor_of(update, context)
    request = access.Request(actor, here(update, context), chat.type, target)
    return access.decide(request)


async def allowed(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    target: access.Target = access.CHAT_SETTINGS,
) -> bool:
    """The one gate for changes: True to go ahead; else the sender is told why (a button
    press is answered with the reason) and nothing is changed."""
    verdict = await decision(update, context, target)
    if isinstance(verdict, access.Allowed):
        return True
    await refuse(update, render.access.refusal(verdict))
    return False


async def refuse(update: Update, reason: str) -> None:
    if update.callback_query is not None:
        await answer(update, reason)
    else:
        await reply_text(update, reason)


def changes(
    target: access.Target = access.CHAT_SETTINGS,
) -> Callable[[Callback], Callback]:
    """Decorate a command or button that always changes `target`: it runs only if allowed."""

    def wrap(handler: Callback) -> Callback:
        @functools.wraps(handler)
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            if await allowed(update, context, target):
                await handler(update, context)

        return guarded

    return wrap
