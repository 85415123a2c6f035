"""Chat commands: parse the update, call a service, render the reply. No business logic here."""

from __future__ import annotations

import logging
import math
import re
import sys
from typing import Any

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import render
from bot.domain.offsets import ZoneError
from bot.interface.common import (
    Callback,
    allowed,
    answer,
    arrive,
    edit,
    here,
    reply,
    reply_text,
    runtime_of,
)
from bot.interface.gate import register_gate
from bot.logs import chat_of
from bot.render import onboarding
from bot.render.help import help_detail, unknown_help
from bot.runtime import Runtime
from bot.services import chats, destinations, news, places
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineNotFound
from bot.store.db import read_scope, session_scope
from bot.store.models import Chat, Deadline, utcnow

log = logging.getLogger(__name__)
PAGE_SIZE = 8
PASSED_SHOWN = 5


DEEP_LINK = re.compile(r"^(deadline|topic)_([a-z0-9-]{1,64})$")


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Register the chat (or topic); with a deep-link payload, follow what the link names."""
    runtime = runtime_of(context)
    tg_chat = update.effective_chat
    if tg_chat is None:
        return
    dest = here(update, context)
    payload = context.args[0] if context.args else ""
    with session_scope(runtime.engine) as session:
        known = session.get(Chat, dest)
        registered = known is not None and known.active
    if (payload or not registered) and not await allowed(update, context):
        return
    title = tg_chat.title or tg_chat.full_name
    with session_scope(runtime.engine) as session:
        result = chats.register(
            session,
            dest,
            kind=tg_chat.type,
            title=title,
            auto_follow=runtime.config.subscribe_new_chats == "all",
        )
        zone = chats.zone_of(result.chat, runtime.config.timezone)
        followed = sorted(deadline_ops.followed_ids(session, dest))
    for deadline_id in followed:
        runtime.deadlines.changed(deadline_id)
    intro = render.welcome(
        title if tg_chat.type != "private" else None,
        result.created,
        result.deadlines_followed,
        result.topics_followed,
        zone,
    )
    link = _follow_deep_link(runtime, dest, payload) if payload else None
    await reply(update, onboarding.start_menu(intro, link))


def _follow_deep_link(runtime: Runtime, chat_id: int, payload: str) -> str:
    """Follow the deadline or topic a t.me/<bot>?start=… link names; the line saying so."""
    match = DEEP_LINK.match(payload)
    if match is None:
        return onboarding.deep_link_unknown()
    kind, slug = match.groups()
    try:
        if kind == "deadline":
            deadline, added = runtime.deadlines.follow(chat_id, slug)
            return onboarding.deep_link_followed(kind, deadline.title, deadline.slug, added)
        with session_scope(runtime.engine) as session:
            topic, added = news.follow(session, chat_id, slug)
            return onboarding.deep_link_followed(kind, topic.title, topic.slug, added)
    except (DeadlineNotFound, news.TopicNotFound):
        return onboarding.deep_link_unknown()


async def membership_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Herald was blocked, removed, or let back in: stop or resume alerts at once.

    Without this the chat would only be found out at the next push (a 403). Being added or
    unblocked does not follow anything by itself: /start does that.
    """
    change, chat = update.my_chat_member, update.effective_chat
    if change is None or chat is None:
        return
    dest = here(update, context)
    status = change.new_chat_member.status
    with session_scope(runtime_of(context).engine) as session:
        if status in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT):
            for destination in [dest, *destinations.topics_of(session, chat.id)]:
                chats.deactivate(session, destination, f"bot {status}")
        elif session.get(Chat, dest) is not None:
            chats.register(
                session,
                dest,
                kind=chat.type,
                title=chat.title or chat.full_name,
                auto_follow=False,
            )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = update.effective_chat
    # In a group several bots may share a command name: address each one to Herald.
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    username = context.bot.username if in_group else None
    if context.args:
        name = context.args[0].lstrip("/").split("@", 1)[0].lower()
        what = {entry[0]: entry[2] for entry in registered_help()}.get(name)
        rendered = (
            help_detail(name, what, utcnow().date(), username)
            if what
            else unknown_help(context.args[0])
        )
        await reply(update, rendered)
        return
    await reply(update, render.help_text(registered_help(), username))


def _line(deadline: Deadline, followed: set[int]) -> render.DeadlineLine:
    return render.DeadlineLine(
        slug=deadline.slug,
        title=deadline.title,
        due_at=deadline.due_at,
        timezone=deadline.timezone,
        all_day=deadline.all_day,
        followed=deadline.id in followed,
    )


def deadlines_page(runtime: Runtime, chat_id: int, page: int) -> render.Rendered:
    now = utcnow()
    with read_scope(runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        zone = chats.zone_of(chat, runtime.config.timezone)
        total = deadline_ops.count_upcoming(session, chat_id, now)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        upcoming = deadline_ops.upcoming(
            session, chat_id, now, limit=PAGE_SIZE, offset=page * PAGE_SIZE
        )
        passed = (
            deadline_ops.recently_passed(session, chat_id, now, limit=PASSED_SHOWN)
            if page == pages - 1
            else []
        )
        followed = deadline_ops.followed_ids(session, chat_id)
        up_lines = [_line(d, followed) for d in upcoming]
        passed_lines = [_line(d, followed) for d in passed]
    return render.deadline_list(up_lines, passed_lines, zone, now, page=page, pages=pages)


async def deadlines_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    place = await arrive(update, context)
    if place is None:
        return
    await reply(update, deadlines_page(place.runtime, place.dest, 0))


async def deadlines_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    place = await arrive(update, context)
    if query is None or place is None or query.data is None:
        return
    page = int(query.data.split(":", 1)[1])
    rendered = deadlines_page(place.runtime, place.dest, page)
    await answer(update)
    await edit(update, rendered, preview=False)


async def timezone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not context.args:
        place = await arrive(update, context)
        if place is not None:
            await reply_text(update, render.chat.zone_shown(place.zone))
        return
    try:
        name = places.zone_for(" ".join(context.args))
    except ZoneError as exc:
        await reply_text(update, render.chat.zone_error(exc))
        return
    place = await arrive(
        update, context, changing=True, unregistered=render.chat.zone_register_first
    )
    if place is None:
        return
    with session_scope(place.runtime.engine) as session:
        stored = session.get(Chat, place.dest)
        if stored is not None:
            stored.timezone = name
            session.add(stored)
    await reply_text(update, render.chat.zone_set(name))


async def unfollow_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    place = await arrive(update, context, changing=True)
    if place is None:
        return
    slug = query.data.split(":", 1)[1]
    try:
        deadline, removed = place.runtime.deadlines.unfollow(place.dest, slug)
    except DeadlineNotFound:
        await answer(update, render.chat.deadline_gone())
        return
    await answer(update, render.chat.unfollow_answer(removed))
    if removed:
        await reply_text(update, render.chat.unfollowed(deadline.title, slug))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    command, _, addressee = message.text.split(maxsplit=1)[0].partition("@")
    if addressee:
        if addressee.lower() != (context.bot.username or "").lower():
            return  # meant for another bot in this group
    elif message.chat.type != ChatType.PRIVATE:
        return  # a bare unknown command in a group may well be another bot's
    await reply_text(update, render.chat.unknown_command(command))


def _has_nul(update: Update) -> bool:
    message, query = update.effective_message, update.callback_query
    texts = [
        message.text if message else None,
        message.caption if message else None,
        query.data if query else None,
    ]
    return any(text and "\x00" in text for text in texts)


async def screen_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:  # noqa: ARG001  PTB handler signature
    """At the edge, before any handler: text with U+0000 is refused (PostgreSQL takes none),
    and a press without data is answered here (python-telegram-bot would hand it to every
    button handler, whatever its pattern)."""
    query = update.callback_query
    if query is not None and not query.data:
        await answer(update, render.chat.stale_button())
        raise ApplicationHandlerStop
    if not _has_nul(update):
        return
    if update.callback_query is not None:
        await answer(update, render.chat.stale_button())
    else:
        await reply_text(update, render.chat.nul_refused())
    raise ApplicationHandlerStop


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:  # noqa: ARG001  PTB handler signature
    """A press no button handler takes (old, or forged data): answer it, change nothing."""
    await answer(update, render.chat.stale_button())


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with its traceback; tell the user plainly, never with the traceback."""
    log.error("error while handling an update", exc_info=context.error, extra=chat_of(update))
    if isinstance(update, Update) and update.callback_query is not None:
        await answer(update, render.chat.button_failed())
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await reply(update, render.error_reply())
        except Exception:
            log.exception("could not tell the chat about the error")


COMMANDS: dict[str, Callback] = {
    "start": start,
    "help": help_command,
    "deadlines": deadlines_command,
    "timezone": timezone_command,
}
CALLBACKS: list[tuple[str, Callback]] = [
    (r"^dl:\d{1,6}$", deadlines_page_button),
    (r"^unf:[a-z0-9-]+$", unfollow_button),
]


def _modules() -> list[Any]:
    from bot.interface import (
        calendar_commands,
        deadline_commands,
        news_commands,
        policy_commands,
        settings_commands,
    )

    return [
        sys.modules[__name__],
        deadline_commands,
        policy_commands,
        news_commands,
        calendar_commands,
        settings_commands,
    ]


def registered_commands() -> list[str]:
    """The name of every command this build answers, sorted."""
    return sorted({name for module in _modules() for name in module.COMMANDS})


def registered_button_patterns() -> list[str]:
    """The callback-data pattern of every button this build answers."""
    return [pattern for module in _modules() for pattern, _ in module.CALLBACKS]


def registered_help() -> list[tuple[str, str, str]]:
    """The help entries of the commands this build actually answers, in help order."""
    names = set(registered_commands())
    return [entry for entry in render.HELP_COMMANDS if entry[0] in names]


def register(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Add the gate, every command module's commands and buttons, then the fallbacks."""
    register_gate(application)
    application.add_handler(TypeHandler(Update, screen_update), group=-1)
    for module in _modules():
        for name, callback in module.COMMANDS.items():
            application.add_handler(CommandHandler(name, callback))
        for pattern, button in module.CALLBACKS:
            application.add_handler(CallbackQueryHandler(button, pattern=pattern))
        for message_filter, callback in getattr(module, "MESSAGES", ()):
            application.add_handler(MessageHandler(message_filter, callback))
    application.add_handler(CallbackQueryHandler(stale_button))
    application.add_handler(ChatMemberHandler(membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_error_handler(on_error)
