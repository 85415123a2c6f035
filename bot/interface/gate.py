"""The first handler every message and button press meets: the access rule, then flood
control. A refused or flooding update stops here; nothing about it reaches the store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.interface.common import reply_text, runtime_of, thread_of
from bot.render import i18n, onboarding
from bot.services import chats
from bot.services.admission import AccessRule, FloodControl, FloodVerdict, Refusals
from bot.store.db import session_scope

LANGUAGE_GROUP = -3  # before the gate, so that even a refusal is in the sender's language
GATE_GROUP = -2  # PTB runs handler groups in order: this one before all others (NUL check: -1)
REMEMBER_GROUP = 1  # after the commands (group 0), so that /start has created the chat
# A chat's chosen language (/settings) is read from the store at most once in this many
# seconds per chat and process: another replica speaks a new choice within that.
CHOICE_TTL_S = 5.0
CHOICES_KEPT = 10_000  # past this many chats, the expired entries are dropped

log = logging.getLogger(__name__)
Where = tuple[int, int | None]  # (Telegram chat, forum thread or None)


@dataclass
class Choices:
    """The languages chats chose, as this process last read them (None: none chosen)."""

    ttl_s: float = CHOICE_TTL_S
    clock: Callable[[], float] = time.monotonic
    _seen: dict[Where, tuple[float, str | None]] = field(default_factory=dict)

    def get(self, where: Where, load: Callable[[], str | None]) -> str | None:
        """The choice made at `where`: kept if read less than `ttl_s` ago, else `load()`ed."""
        kept = self._seen.get(where)
        if kept is not None and kept[0] > self.clock():
            return kept[1]
        chosen = load()
        self.put(where, chosen)
        return chosen

    def forget(self, where: Where) -> None:
        """Read it again next time (it was just changed here)."""
        self._seen.pop(where, None)

    def put(self, where: Where, chosen: str | None) -> None:
        now = self.clock()
        if len(self._seen) >= CHOICES_KEPT:
            self._seen = {k: v for k, v in self._seen.items() if v[0] > now}
            if len(self._seen) >= CHOICES_KEPT:
                self._seen.clear()
        self._seen[where] = (now + self.ttl_s, chosen)


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


async def speak(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer in the language the chat chose in /settings, if it chose one; else in the
    language of the person who sent the update (their Telegram app's `language_code`).
    English for any language Herald does not speak."""
    user = update.effective_user
    i18n.set_language(user.language_code if user else None)
    chat = update.effective_chat
    if chat is None:
        return
    where = (chat.id, thread_of(update))
    engine = runtime_of(context).engine

    def load() -> str | None:
        with session_scope(engine) as session:
            return chats.chosen_language(session, *where)

    try:
        chosen = choices_of(context).get(where, load)
    except SQLAlchemyError:  # the handler that needs the store says so; this one only reads
        log.warning("could not read the chat's language", exc_info=True)
        return
    if chosen is not None:
        i18n.set_language(chosen)


def choices_of(context: ContextTypes.DEFAULT_TYPE) -> Choices:
    choices = context.application.bot_data.setdefault("choices", Choices())
    assert isinstance(choices, Choices)
    return choices


async def remember_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Pushes to a chat are written in the language last seen from it (its sender's app
    language, whatever the chat chose): store it when it changes (a cache spares the store a
    write per update). A chat that chose a language keeps it (`chats.remember_language`)."""
    chat = update.effective_chat
    if chat is None or (update.message is None and update.callback_query is None):
        return
    user = update.effective_user
    language = i18n.language_for(user.language_code if user else None)
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
