"""Delivery-policy commands: /quiet, /mute, /unmute, /digest, /status, and the Snooze button.

The store changes are plain functions over an engine (tested without Telegram); the handlers
parse the update, call one of them, and reply with text from `bot.render.policy`. Input is
parsed by `bot.delivery_policy.quiet`, whose errors already show the expected form; a bad
input changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from telegram import Update
from telegram.ext import ContextTypes

from bot.delivery import SNOOZE_PREFIX
from bot.delivery_policy.quiet import (
    MAX_MUTE,
    Digest,
    PolicyInputError,
    QuietHours,
    parse_digest,
    parse_duration,
    parse_quiet,
)
from bot.interface.common import (
    Callback,
    may_change,
    refuse_unless_allowed,
    reply,
    reply_text,
    runtime_of,
)
from bot.render import policy as text
from bot.services import chats
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import session_scope
from bot.store.models import Alert, Chat, Topic, TopicSubscription, utcnow

SNOOZE = timedelta(hours=1)
FAILURES_LISTED = 5
INACTIVE_LISTED = 5


class ChatNotRegistered(LookupError):
    """The chat never sent /start, so there is nowhere to keep its settings."""


class TopicNotFollowed(LookupError):
    """The chat does not follow a topic with that id."""


@dataclass(frozen=True)
class SnoozeResult:
    until: datetime
    created: bool  # False when this message was already snoozed


def _chat(session: Session, chat_id: int) -> Chat:
    chat = session.get(Chat, chat_id)
    if chat is None:
        raise ChatNotRegistered(chat_id)
    return chat


def _release_held(session: Session, chat_id: int, now: datetime) -> None:
    """Let the worker look again at alerts held for the old setting (snoozes stay put)."""
    session.execute(
        update(Alert)
        .where(
            col(Alert.chat_id) == chat_id,
            col(Alert.status) == "pending",
            col(Alert.not_before) > now,
            col(Alert.dedup_key).not_like(f"{SNOOZE_PREFIX}%"),
        )
        .values(not_before=now)
    )


def set_quiet(engine: Engine, chat_id: int, quiet: QuietHours | None, now: datetime) -> None:
    with session_scope(engine) as session:
        chat = _chat(session, chat_id)
        chat.quiet_start = f"{quiet.start:%H:%M}" if quiet else None
        chat.quiet_end = f"{quiet.end:%H:%M}" if quiet else None
        session.add(chat)
        _release_held(session, chat_id, now)


def set_mute(engine: Engine, chat_id: int, until: datetime | None, now: datetime) -> None:
    with session_scope(engine) as session:
        chat = _chat(session, chat_id)
        chat.muted_until = until
        session.add(chat)
        if until is None:
            _release_held(session, chat_id, now)


def set_topic_mute(engine: Engine, chat_id: int, slug: str, until: datetime | None) -> None:
    with session_scope(engine) as session:
        _chat(session, chat_id)
        subscription = session.exec(
            select(TopicSubscription)
            .join(Topic, col(Topic.id) == TopicSubscription.topic_id)
            .where(col(TopicSubscription.chat_id) == chat_id, col(Topic.slug) == slug)
        ).first()
        if subscription is None:
            raise TopicNotFollowed(slug)
        subscription.muted_until = until
        session.add(subscription)


def set_digest(engine: Engine, chat_id: int, digest: Digest, now: datetime) -> None:
    with session_scope(engine) as session:
        chat = _chat(session, chat_id)
        chat.digest = str(digest)
        session.add(chat)
        _release_held(session, chat_id, now)


def snooze(engine: Engine, chat_id: int, alert_id: int, now: datetime) -> SnoozeResult | None:
    """Send the alert again in an hour (once per message); None if it is not this chat's."""
    with session_scope(engine) as session:
        alert = session.get(Alert, alert_id)
        if alert is None or alert.chat_id != chat_id:
            return None
        until = now + SNOOZE
        again = NewAlert(
            chat_id,
            f"{SNOOZE_PREFIX}{alert_id}",
            alert.kind,
            dict(alert.payload),
            alert.priority,
            not_before=until,
        )
        created = enqueue(session, [again]) == 1
        if not created:
            existing = session.exec(
                select(Alert.not_before).where(
                    col(Alert.chat_id) == chat_id, col(Alert.dedup_key) == again.dedup_key
                )
            ).first()
            until = existing or until
    return SnoozeResult(until, created)


def status_facts(engine: Engine) -> text.StatusFacts:
    with session_scope(engine) as session:
        counts = dict(
            session.execute(select(Alert.status, func.count()).group_by(col(Alert.status))).all()
        )
        failed = session.exec(
            select(Alert)
            .where(col(Alert.status) == "failed")
            .order_by(col(Alert.id).desc())
            .limit(FAILURES_LISTED)
        ).all()
        inactive = session.exec(
            select(Chat)
            .where(col(Chat.active).is_(False))
            .order_by(col(Chat.id))
            .limit(INACTIVE_LISTED)
        ).all()
        inactive_total = session.exec(
            select(func.count()).select_from(Chat).where(col(Chat.active).is_(False))
        ).one()
    return text.StatusFacts(
        counts={str(k): int(v) for k, v in counts.items()},
        failures=[
            text.FailureLine(a.id or 0, a.chat_id, a.kind, a.last_error or "unknown")
            for a in failed
        ],
        inactive=[(c.id, c.inactive_reason or "unknown") for c in inactive],
        inactive_total=int(inactive_total),
    )


async def _settings_target(
    update: Update, context: ContextTypes.DEFAULT_TYPE, *, changing: bool
) -> tuple[int, str] | None:
    """The chat id and zone to show or change, or None after telling the sender why not."""
    chat = update.effective_chat
    if chat is None:
        return None
    if changing and await refuse_unless_allowed(update, context):
        return None
    runtime = runtime_of(context)
    with session_scope(runtime.engine) as session:
        stored = session.get(Chat, chat.id)
        if stored is None:
            await reply_text(update, text.REGISTER_FIRST)
            return None
        return chat.id, chats.zone_of(stored, runtime.config.timezone)


async def quiet_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await _settings_target(update, context, changing=bool(context.args))
    if target is None:
        return
    chat_id, zone = target
    engine = runtime_of(context).engine
    if not context.args:
        with session_scope(engine) as session:
            chat = _chat(session, chat_id)
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
            until = _chat(session, chat_id).muted_until
        await reply(update, text.mute_state(until if until and until > now else None, zone, False))
        return
    try:
        if args[0].lower() == "topic":
            if len(args) < 2:
                raise PolicyInputError(text.MUTE_FORM)
            span = parse_duration(" ".join(args[2:])) if len(args) > 2 else MAX_MUTE
            set_topic_mute(engine, chat_id, args[1].lower(), now + span)
            await reply(update, text.topic_mute_state(args[1].lower(), now + span, zone))
            return
        until = now + parse_duration(" ".join(args))
    except PolicyInputError as exc:
        await reply_text(update, str(exc))
        return
    except TopicNotFollowed:
        await reply(update, text.unknown_topic(args[1].lower()))
        return
    set_mute(engine, chat_id, until, now)
    await reply(update, text.mute_state(until, zone, changed=True))


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
        await reply(update, text.topic_mute_state(args[1].lower(), None, zone))
        return
    set_mute(engine, chat_id, None, utcnow())
    runtime_of(context).outbox.notify()  # held alerts may be free to go now
    await reply(update, text.mute_state(None, zone, changed=True))


async def digest_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    target = await _settings_target(update, context, changing=bool(context.args))
    if target is None:
        return
    chat_id, zone = target
    engine = runtime_of(context).engine
    if not context.args:
        with session_scope(engine) as session:
            current = _chat(session, chat_id).digest or "off"
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
    if not await may_change(update, context):
        await query.answer("Only this group's admins can snooze its reminders.")
        return
    runtime = runtime_of(context)
    alert_id = int(query.data.removeprefix(SNOOZE_PREFIX))
    result = snooze(runtime.engine, chat.id, alert_id, utcnow())
    if result is None:
        await query.answer("That reminder can no longer be snoozed.")
        return
    _, zone = _zone(runtime.engine, chat.id, runtime.config.timezone)
    await query.answer(text.snoozed(result.until, zone))


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
CALLBACKS: list[tuple[str, Callback]] = [(rf"^{SNOOZE_PREFIX}\d+$", snooze_button)]
