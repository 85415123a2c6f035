"""The first handler every message and button press meets: the access rule, then flood
control. A refused or flooding update stops here; nothing about it reaches the store."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.interface.common import reply_text, runtime_of
from bot.render import onboarding
from bot.services.admission import AccessRule, FloodControl, FloodVerdict, Refusals

GATE_GROUP = -2  # PTB runs handler groups in order: this one before all others (NUL check: -1)


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
            await update.callback_query.answer(onboarding.ACCESS_REFUSED)
        elif chat_id is not None and refusals.first_time(chat_id):
            await reply_text(update, onboarding.ACCESS_REFUSED)
        raise ApplicationHandlerStop
    is_command = update.message is not None and (update.message.text or "").startswith("/")
    if user_id is None or not (is_command or update.callback_query is not None):
        return
    flood: FloodControl = state["flood"]
    verdict = flood.check(user_id)
    if verdict == FloodVerdict.OK:
        return
    if update.callback_query is not None:
        await update.callback_query.answer(onboarding.FLOOD)
    elif verdict == FloodVerdict.WARN:
        await reply_text(update, onboarding.FLOOD)
    raise ApplicationHandlerStop


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
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
