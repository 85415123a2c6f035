"""Delivery-policy commands: /quiet, /mute, /unmute, /digest, /status, and the Snooze button.

The store changes live in `bot.services.policy` (tested without Telegram); the handlers parse
the update, call one of them, and reply with text from `bot.render.policy`. Input is
parsed by `bot.delivery_policy.quiet`, whose errors already show the expected form; a bad
input changes nothing.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import ContextTypes

from bot.delivery_policy.quiet import (
    MAX_MUTE,
    PolicyInputError,
    parse_digest,
    parse_duration,
    parse_quiet,
)
from bot.interface.common import (
    Callback,
    allowed,
    answer,
    chat_zone,
    here,
    reply,
    reply_text,
    row_id,
    runtime_of,
)
from bot.render import policy as text
from bot.services import chats
from bot.services.policy import (
    SNOOZE_PREFIX,
    TopicNotFollowed,
    registered_chat,
    set_digest,
    set_mute,
    set_quiet,
    set_topic_mute,
    snooze,
    status_facts,
)
from bot.store.db import session_scope
from bot.store.models import Chat, utcnow


async def _settings_target(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, changing: bool
) -> tuple[int, str] | None:
    """The chat id and zone to show or change, or None after telling the sender why not."""
    chat = update.effective_chat
    if chat is None:
        return None
    if changing and not await allowed(update, context):
        return None
    runtime = runtime_of(context)
    dest = here(update, context)
    stored, zone = chat_zone(runtime, dest)
    if stored is None:
        await reply_text(update, text.REGISTER_FIRST)
        return None
    return dest, zone


async def quiet_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await _settings_target(update, context, changing=bool(context.args))
    if target is None:
        return
    chat_id, zone = target
    engine = runtime_of(context).engine
    if not context.args:
        with session_scope(engine) as session:
            chat = registered_chat(session, chat_id)
            current = f"{chat.quiet_start}-{chat.quiet_end}" if chat.quiet_start else None
        await reply(update, text.quiet_state(current, zone, changed=False))
        return
    try:
        quiet = parse_quiet(" ".join(context.args))
    except PolicyInputError as exc:
        await reply_text(update, str(exc))
        return
    set_quiet(engine, chat_id, quiet, utcnow())
    runtime_of(context).outbox.notify()  # held alerts may be free to go now
    await reply(update, text.quiet_state(str(quiet) if quiet else None, zone, changed=True))


async def mute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await _settings_target(update, context, changing=bool(context.args))
    if target is None:
        return
    chat_id, zone = target
    engine, now, args = runtime_of(context).engine, utcnow(), list(context.args or [])
    if not args:
        with session_scope(engine) as session:
            until = registered_chat(session, chat_id).muted_until
        current = until if until and until > now else None
        await reply(update, text.mute_state(current, zone, False, now))
        return
    try:
        if args[0].lower() == "topic":
            if len(args) < 2:
                raise PolicyInputError(text.MUTE_FORM)
            chosen = len(args) > 2
            span = parse_duration(" ".join(args[2:])) if chosen else MAX_MUTE
            set_topic_mute(engine, chat_id, args[1].lower(), now + span)
            await reply(
                update,
                text.topic_mute_state(args[1].lower(), now + span, zone, now, chosen=chosen),
            )
            return
        until = now + parse_duration(" ".join(args))
    except PolicyInputError as exc:
        await reply_text(update, str(exc))
        return
    except TopicNotFollowed:
        await reply(update, text.unknown_topic(args[1].lower()))
        return
    set_mute(engine, chat_id, until, now)
    await reply(update, text.mute_state(until, zone, True, now))


async def unmute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = list(context.args or [])
    if args and (args[0].lower() != "topic" or len(args) != 2):
        await reply_text(update, text.UNMUTE_FORM)
        return
    target = await _settings_target(update, context, changing=True)
    if target is None:
        return
    chat_id, zone = target
    engine = runtime_of(context).engine
    if args:
        try:
            set_topic_mute(engine, chat_id, args[1].lower(), None)
        except TopicNotFollowed:
            await reply(update, text.unknown_topic(args[1].lower()))
            return
        await reply(update, text.topic_mute_state(args[1].lower(), None, zone, utcnow()))
        return
    set_mute(engine, chat_id, None, utcnow())
    runtime_of(context).outbox.notify()  # held alerts may be free to go now
    await reply(update, text.mute_state(None, zone, True, utcnow()))


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await _settings_target(update, context, changing=bool(context.args))
    if target is None:
        return
    chat_id, zone = target
    engine = runtime_of(context).engine
    if not context.args:
        with session_scope(engine) as session:
            current = registered_chat(session, chat_id).digest or "off"
        await reply(update, text.digest_state(current, zone, changed=False))
        return
    try:
        digest = parse_digest(" ".join(context.args))
    except PolicyInputError as exc:
        await reply_text(update, str(exc))
        return
    set_digest(engine, chat_id, digest, utcnow())
    runtime_of(context).outbox.notify()  # held alerts may be free to go now
    await reply(update, text.digest_state(str(digest), zone, changed=True))


async def status_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime = runtime_of(context)
    user = update.effective_user
    if not runtime.is_admin(user.id if user else None):
        await reply_text(update, text.ADMINS_ONLY)
        return
    await reply(update, text.status_report(status_facts(runtime.engine)))


async def snooze_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    dest = here(update, context)
    if not await allowed(update, context):
        return
    runtime = runtime_of(context)
    alert_id = row_id(query.data.removeprefix(SNOOZE_PREFIX))
    now = utcnow()
    result = None if alert_id is None else snooze(runtime.engine, dest, alert_id, now)
    if result is None:
        await answer(update, "That reminder can no longer be snoozed.")
        return
    _, zone = _zone(runtime.engine, dest, runtime.config.timezone)
    await answer(update, text.snoozed(result.until, zone, now))


def _zone(engine: Engine, chat_id: int, default_zone: str) -> tuple[Chat | None, str]:
    with session_scope(engine) as session:
        chat = session.get(Chat, chat_id)
        return chat, chats.zone_of(chat, default_zone)


COMMANDS: dict[str, Callback] = {
    "quiet": quiet_command,
    "mute": mute_command,
    "unmute": unmute_command,
    "digest": digest_command,
    "status": status_command,
}
CALLBACKS: list[tuple[str, Callback]] = [(rf"^{SNOOZE_PREFIX}\d{{1,18}}$", snooze_button)]
