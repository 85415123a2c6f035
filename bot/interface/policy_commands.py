"""Delivery-policy commands: /quiet, /mute, /unmute, /digest, /status, and the Snooze button.

The store changes live in `bot.services.policy` (tested without Telegram); the handlers parse
the update, call one of them, and reply with text from `bot.render.policy`. Input is
parsed by `bot.delivery_policy.quiet`, whose errors already show the expected form; a bad
input changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Engine
from telegram import Update
from telegram.ext import ContextTypes

from bot import render
from bot.delivery_policy.quiet import (
    MAX_MUTE,
    PolicyInputError,
    parse_digest,
    parse_duration,
    parse_quiet,
)
from bot.interface.common import (
    Callback,
    Place,
    answer,
    arrive,
    reply,
    reply_text,
    row_id,
    runtime_of,
)
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
) -> Place | None:
    """The registered chat to show or change, or None after telling the sender why not."""
    return await arrive(
        update, context, changing=changing, unregistered=render.policy.register_first
    )


async def _show_or_set(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    current: Callable[[Chat], str | None],
    store: Callable[[Engine, int, str], str | None],
    state: Callable[[str | None, str, bool], render.Rendered],
) -> None:
    """What /quiet and /digest share: without arguments show the setting; with them parse,
    store (a bad input changes nothing and says the expected form), release held alerts."""
    place = await _settings_target(update, context, changing=bool(context.args))
    if place is None:
        return
    if not context.args:
        assert place.chat is not None
        await reply(update, state(current(place.chat), place.zone, False))
        return
    try:
        stored = store(place.runtime.engine, place.dest, " ".join(context.args))
    except PolicyInputError as exc:
        await reply_text(update, render.policy.input_error(exc))
        return
    place.runtime.outbox.notify()  # held alerts may be free to go now
    await reply(update, state(stored, place.zone, True))


def _current_quiet(chat: Chat) -> str | None:
    return f"{chat.quiet_start}-{chat.quiet_end}" if chat.quiet_start else None


def _store_quiet(engine: Engine, chat_id: int, typed: str) -> str | None:
    quiet = parse_quiet(typed)
    set_quiet(engine, chat_id, quiet, utcnow())
    return str(quiet) if quiet else None


def _store_digest(engine: Engine, chat_id: int, typed: str) -> str:
    digest = parse_digest(typed)
    set_digest(engine, chat_id, digest, utcnow())
    return str(digest)


def _digest_state(digest: str | None, zone: str, changed: bool) -> render.Rendered:
    return render.policy.digest_state(digest or "off", zone, changed)


async def quiet_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _show_or_set(update, context, _current_quiet, _store_quiet, render.policy.quiet_state)


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _show_or_set(
        update, context, lambda chat: chat.digest or "off", _store_digest, _digest_state
    )


async def mute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    place = await _settings_target(update, context, changing=bool(context.args))
    if place is None:
        return
    chat_id, zone = place.dest, place.zone
    engine, now, args = place.runtime.engine, utcnow(), list(context.args or [])
    if not args:
        with session_scope(engine) as session:
            until = registered_chat(session, chat_id).muted_until
        current = until if until and until > now else None
        await reply(update, render.policy.mute_state(current, zone, False, now))
        return
    try:
        if args[0].lower() == "topic":
            if len(args) < 2:
                raise PolicyInputError("mute_form", " ".join(args), "mute")
            chosen = len(args) > 2
            span = parse_duration(" ".join(args[2:])) if chosen else MAX_MUTE
            set_topic_mute(engine, chat_id, args[1].lower(), now + span)
            await reply(
                update,
                render.policy.topic_mute_state(
                    args[1].lower(), now + span, zone, now, chosen=chosen
                ),
            )
            return
        until = now + parse_duration(" ".join(args))
    except PolicyInputError as exc:
        await reply_text(update, render.policy.input_error(exc))
        return
    except TopicNotFollowed:
        await reply(update, render.policy.unknown_topic(args[1].lower()))
        return
    set_mute(engine, chat_id, until, now)
    await reply(update, render.policy.mute_state(until, zone, True, now))


async def unmute_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = list(context.args or [])
    if args and (args[0].lower() != "topic" or len(args) != 2):
        await reply_text(update, render.policy.unmute_form())
        return
    place = await _settings_target(update, context, changing=True)
    if place is None:
        return
    chat_id, zone = place.dest, place.zone
    engine = place.runtime.engine
    if args:
        try:
            set_topic_mute(engine, chat_id, args[1].lower(), None)
        except TopicNotFollowed:
            await reply(update, render.policy.unknown_topic(args[1].lower()))
            return
        await reply(update, render.policy.topic_mute_state(args[1].lower(), None, zone, utcnow()))
        return
    set_mute(engine, chat_id, None, utcnow())
    place.runtime.outbox.notify()  # held alerts may be free to go now
    await reply(update, render.policy.mute_state(None, zone, True, utcnow()))


async def status_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    runtime = runtime_of(context)
    user = update.effective_user
    if not runtime.is_admin(user.id if user else None):
        await reply_text(update, render.policy.admins_only())
        return
    await reply(update, render.policy.status_report(status_facts(runtime.engine)))


async def snooze_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    place = await arrive(update, context, changing=True)
    if place is None:
        return
    alert_id = row_id(query.data.removeprefix(SNOOZE_PREFIX))
    now = utcnow()
    result = None if alert_id is None else snooze(place.runtime.engine, place.dest, alert_id, now)
    if result is None:
        await answer(update, render.policy.snooze_gone())
        return
    await answer(update, render.policy.snoozed(result.until, place.zone, now))


COMMANDS: dict[str, Callback] = {
    "quiet": quiet_command,
    "mute": mute_command,
    "unmute": unmute_command,
    "digest": digest_command,
    "status": status_command,
}
CALLBACKS: list[tuple[str, Callback]] = [(rf"^{SNOOZE_PREFIX}\d{{1,18}}$", snooze_button)]
