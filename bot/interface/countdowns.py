"""Keeps /countdown messages current by editing them in place (edits are not pushes)."""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.render import deadline_replies as replies
from bot.render.i18n import use_language
from bot.runtime import Runtime
from bot.services import chats, destinations
from bot.services.countdowns import after_edit, due_countdowns
from bot.store.db import session_scope
from bot.store.models import Chat, Countdown, utcnow

log = logging.getLogger(__name__)
CHECK_EVERY_S = 60


async def refresh_countdowns(runtime: Runtime, bot: Any) -> int:
    """Edit every countdown whose time has come; return how many were edited.

    The leader's work: with several replicas, one edits."""
    if not runtime.leading:
        return 0
    now = utcnow()
    with session_scope(runtime.engine) as session:
        due = due_countdowns(session, now)
        work = [
            (
                c.id,
                _telegram_chat(session, c.chat_id),
                c.message_id,
                d,
                chats.zone_of(session.get(Chat, c.chat_id), runtime.config.timezone),
                _language(session, c.chat_id),
            )
            for c, d in due
        ]
    edited = 0
    for countdown_id, chat_id, message_id, deadline, zone, language in work:
        with use_language(language):  # like a push: the chat's language, not a sender's
            rendered = replies.countdown_message(deadline, zone, now)
        alive = True
        try:
            await bot.edit_message_text(
                rendered.text, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML
            )
            edited += 1
        except BadRequest as exc:
            alive = "not modified" in exc.message.lower()
            if not alive:
                log.info("countdown %s stopped: %s", countdown_id, exc.message)
        except Forbidden:
            alive = False
        with session_scope(runtime.engine) as session:
            countdown = session.get(Countdown, countdown_id)
            if countdown is None:
                continue
            if alive:
                after_edit(session, countdown, deadline, now)
            else:
                countdown.active = False
                session.add(countdown)
    return edited


def _language(session: Session, chat_id: int) -> str | None:
    chat = session.get(Chat, chat_id)
    return chat.language if chat is not None else None


def _telegram_chat(session: Session, chat_id: int) -> int:
    """The Telegram chat a countdown's message is in (a forum topic's is the forum)."""
    address = destinations.address(session, chat_id)
    return address.chat_id if address is not None else chat_id
