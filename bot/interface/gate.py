"""The first handler every message and button press meets: the access rule, then flood
control. A refused or flooding update stops here; nothing about it reaches the store."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.interface.common import reply_text, runtime_of
from bot.render import i18n, onboarding
from bot.services import chats
from bot.services.admission import AccessRule, FloodControl, FloodVerdict, Refusals
from bot.store.db import session_scope

LANGUAGE_GROUP = -3  # before the gate, so that even a refusal is in the sender's language
GATE_GROUP = -2  # PTB runs handler groups in order: this one before all others (NUL check: -1)
REMEMBER_GROUP = 1  # after the commands (group 0), so that /start has created the chat


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is None and update.callback_query is None:
        return  # membership changes and the like pass: they store nothing new
    state = _state(context)
    user, chat = update.effective_user, update.effective_chat
    user_id = user.id if user else None
    chat_id = chat.id if chat else None
    rule: AccessRule = state["rule"]
    if not rule.allows(user_id, chat_id):
        refusals: Refusals = state["refusals"]
        if update.callback_query is not None:
            await update.callback_query.answer(onboarding.access_refused())
        elif chat_id is not None and refusals.first_time(chat_id):
            await reply_text(update, onboarding.access_refused())
        raise ApplicationHandlerStop
    is_command = update.message is not None and (update.message.text or "").startswith("/")
    if user_id is None or not (is_command or update.callback_query is not None):
        return
    flood: FloodControl = state["flood"]
    verdict = flood.check(user_id)
    if verdict == FloodVerdict.OK:
        return
    if update.callback_query is not None:
        await update.callback_query.answer(onboarding.flood())
    elif verdict == FloodVerdict.WARN:
        await reply_text(update, onboarding.flood())
    raise ApplicationHandlerStop


async def speak(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:  # noqa: ARG001  PTB handler signature
    """Answer in the language of the person who sent the update (their Telegram app's
    `language_code`); English for any language Herald does not speak."""
    user = update.effective_user
    i18n.set_language(user.language_code if user else None)


async def remember_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pushes to a chat are written in the language last seen from it: store it when it
    changes (a cache spares the store a write per update)."""
    chat = update.effective_chat
    if chat is None or (update.message is None and update.callback_query is None):
        return
    language = i18n.current()
    known: dict[int, str] = context.application.bot_data.setdefault("languages", {})
    if known.get(chat.id) == language:
        return
    with session_scope(runtime_of(context).engine) as session:
        registered = chats.remember_language(session, chat.id, language)
    if registered:
        known[chat.id] = language


def _state(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any]:
    data = context.application.bot_data
    if "gate" not in data:
        config = runtime_of(context).config
        data["gate"] = {
            "rule": AccessRule.of(
                config.access, config.allowed_users, config.allowed_chats, config.admins
            ),
            "refusals": Refusals(),
            "flood": FloodControl(config.commands_per_minute),
        }
    state = data["gate"]
    assert isinstance(state, dict)
    return state


def register_gate(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(TypeHandler(Update, speak), group=LANGUAGE_GROUP)
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    application.add_handler(TypeHandler(Update, remember_language), group=REMEMBER_GROUP)
