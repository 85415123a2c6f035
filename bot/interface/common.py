"""What every command module shares: the runtime, replying, and who may change things."""

from __future__ import annotations

import html
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.ext import ContextTypes

from bot import render
from bot.delivery import to_markup
from bot.runtime import Runtime
from bot.services import chats
from bot.store.db import session_scope
from bot.store.models import Chat

Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> Runtime:
    runtime = context.application.bot_data["runtime"]
    assert isinstance(runtime, Runtime)
    return runtime


async def reply(update: Update, rendered: render.Rendered) -> None:
    """Answer in the chat the update came from (one way out for replies)."""
    chat = update.effective_chat
    if chat is None:
        return
    await chat.send_message(
        rendered.text,
        parse_mode=ParseMode.HTML,
        reply_markup=to_markup(rendered.buttons),
        disable_web_page_preview=not rendered.preview,
    )


async def reply_text(update: Update, text: str) -> None:
    """Reply with plain text (escaped)."""
    await reply(update, render.Rendered(html.escape(text, quote=False)))


def chat_zone(runtime: Runtime, chat_id: int) -> tuple[Chat | None, str]:
    """The stored chat (if registered) and the zone its times are shown in."""
    with session_scope(runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        return chat, chats.zone_of(chat, runtime.config.timezone)


async def may_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """In groups only chat admins (and Herald admins) change things; anyone in a private chat."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if runtime_of(context).is_admin(user.id) or chat.type == ChatType.PRIVATE:
        return True
    member = await chat.get_member(user.id)
    return member.status in ADMIN_STATUSES


async def refuse_unless_allowed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """Reply with the reason and return True when the sender may not change things here."""
    if await may_change(update, context):
        return False
    await reply_text(update, "Only this group's admins can change its deadlines and settings.")
    return True
