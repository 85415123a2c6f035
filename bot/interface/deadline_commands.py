"""Deadline commands: /deadline, /add, /edit, /cancel, /follow, /unfollow, /remind, /countdown."""

from __future__ import annotations

from sqlmodel import Session
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import render
from bot.domain.natural import WhenError, parse_when
from bot.domain.offsets import OffsetError, parse_offsets
from bot.interface.common import (
    Callback,
    allowed,
    answer,
    arrive,
    chat_zone,
    edit,
    here,
    reply,
    row_id,
    runtime_of,
    thread_of,
)
from bot.render import Rendered, onboarding
from bot.render import deadline_replies as replies
from bot.runtime import Runtime
from bot.services import access, proposals, suggest
from bot.services import deadlines as deadline_ops
from bot.services.countdowns import start_countdown
from bot.services.deadlines import DeadlineNotFound, DeadlineSpec
from bot.services.details import deadline_details
from bot.store.db import session_scope
from bot.store.models import Deadline, utcnow

# Deadlines every chat can see, so a link to them works for anyone.
PUBLIC_ORIGINS = ("config", "calendar")


def _args(context: ContextTypes.DEFAULT_TYPE) -> list[str]:
    return list(context.args or [])


def _actor(update: Update) -> str:
    user = update.effective_user
    return f"@{user.username}" if user and user.username else (user.full_name if user else "chat")


async def deadline_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    place = await arrive(update, context, usage=None if args else replies.usage_of("deadline"))
    if place is not None:
        await _show_deadline(update, context, place.dest, args[0])


async def deadline_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[⏳ deadline] under a news alert, or an id suggested under "did you mean": the same
    answer as /deadline <id>, in that chat."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or query.data is None or chat is None:
        return
    await query.answer()
    await _show_deadline(update, context, here(update, context), query.data.split(":", 1)[1])


async def _show_deadline(
    update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int, slug: str
) -> None:
    runtime = runtime_of(context)
    _, zone = chat_zone(runtime, chat_id)
    try:
        with session_scope(runtime.engine) as session:
            details = deadline_details(session, slug.lower(), chat_id)
    except DeadlineNotFound:
        await reply(update, _not_found(runtime, chat_id, slug.lower(), "dd"))
        return
    rendered = replies.details(details, zone, utcnow())
    username = context.bot.username
    if details.origin in PUBLIC_ORIGINS and username:
        rendered = onboarding.with_share_link(rendered, username, "deadline", details.slug)
    await reply(update, rendered)


def _not_found(runtime: Runtime, chat_id: int, slug: str, action: str) -> Rendered:
    """No such deadline: an id-shaped slug gets the closest ids as buttons doing `action`."""
    if not suggest.looks_like_id(slug):
        return replies.not_found(slug)
    with session_scope(runtime.engine) as session:
        near = suggest.deadline_ids_near(session, chat_id, slug)
    return (
        onboarding.did_you_mean("deadline", slug, near, action)
        if near
        else (replies.not_found(slug))
    )


async def add_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    text = message.text.split(maxsplit=1)[1] if len(message.text.split(maxsplit=1)) > 1 else ""
    missing = None if text.strip() else replies.unreadable_when(replies.write_when_and_what())
    place = await arrive(update, context, changing=True, usage=missing)
    if place is None:
        return
    runtime, dest, zone = place.runtime, place.dest, place.zone
    if _at_limit(runtime, dest):
        await reply(update, replies.too_many(runtime.config.limits.deadlines_per_chat))
        return
    now = utcnow()
    try:
        reading = parse_when(text, zone=zone, now=now)
    except WhenError as exc:
        await reply(update, replies.unreadable_when(exc))
        return
    spec = DeadlineSpec(
        slug="",
        title=reading.title,
        due_at=reading.due_utc,
        timezone=reading.zone,
        all_day=reading.all_day,
    )
    with session_scope(runtime.engine) as session:
        proposal = proposals.propose_add(session, dest, spec, _actor(update))
    assert proposal.id is not None
    await reply(
        update,
        replies.add_preview(
            proposal.id, reading.title, reading.due_utc, zone, reading.all_day, reading.zone, now
        ),
    )


async def proposal_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Confirm]/[Track]/[Move deadline] or [Cancel]/[Ignore] on a proposal."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None or query.data is None:
        return
    dest = here(update, context)
    _, raw_id, verdict = query.data.split(":")
    proposal_id = row_id(raw_id)
    if proposal_id is None:
        await answer(update, render.chat.stale_button())
        return
    runtime = runtime_of(context)
    with session_scope(runtime.engine) as session:
        moved = proposals.moved_deadline(session, proposal_id, dest)
        target = _item(moved) if moved is not None and verdict == "ok" else access.CHAT_SETTINGS
    if not await allowed(update, context, target):
        return
    if verdict == "ok" and moved is None and _at_limit(runtime, dest):
        await answer(update, replies.too_many(runtime.config.limits.deadlines_per_chat).text)
        return
    _, zone = chat_zone(runtime, dest)
    try:
        with session_scope(runtime.engine) as session:
            if verdict == "no":
                proposals.ignore(session, proposal_id, dest)
                rendered, deadline_id, written = replies.proposal_dropped(), None, 0
            else:
                deadline, written = proposals.accept(session, proposal_id, dest, _actor(update))
                deadline_id = deadline.id
                rendered = _accepted(deadline, zone, moved=written > 0)
    except (proposals.ProposalGone, DeadlineNotFound):
        await answer(update, replies.already_decided())
        return
    if deadline_id is not None:
        runtime.deadlines.changed(deadline_id, written)
    await answer(update)
    await edit(update, rendered, preview=True)


def _at_limit(runtime: Runtime, chat_id: int) -> bool:
    """Whether the chat already has as many deadlines of its own as it may."""
    with session_scope(runtime.engine) as session:
        owned = deadline_ops.owned_active(session, chat_id)
    return owned >= runtime.config.limits.deadlines_per_chat


def _item(deadline: Deadline) -> access.Owned:
    return access.Owned("deadline", deadline.origin, deadline.owner_chat_id)


def _accepted(deadline: Deadline, zone: str, *, moved: bool) -> Rendered:
    if moved:
        return replies.moved_by_news(
            deadline.slug, deadline.title, deadline.due_at, zone, deadline.timezone
        )
    return replies.added(
        deadline.slug,
        deadline.title,
        deadline.due_at,
        zone,
        deadline.all_day,
        deadline.timezone,
        deadline.remind,
    )


async def edit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    wrong = len(args) < 3 or args[1].lower() not in ("when", "title", "remind")
    place = await arrive(update, context, usage=replies.usage_of("edit") if wrong else None)
    if place is None:
        return
    runtime, dest, zone = place.runtime, place.dest, place.zone
    slug, field, value = args[0].lower(), args[1].lower(), " ".join(args[2:])
    if not await _may_change_deadline(update, context, slug):
        return
    actor = _actor(update)
    try:
        with session_scope(runtime.engine) as session:
            deadline = deadline_ops.find(session, slug, dest)
            written, what = _apply_edit(session, deadline, field, value, zone, actor)
            deadline_id = deadline.id
    except DeadlineNotFound:
        await reply(update, replies.not_found(slug))
        return
    except (WhenError, OffsetError) as exc:
        example = (
            f"/edit {slug} when 12 Aug 09:00" if field == "when" else f"/edit {slug} remind 7d 1d"
        )
        await reply(update, replies.bad_input(exc, example))
        return
    assert deadline_id is not None
    runtime.deadlines.changed(deadline_id, written)
    await reply(update, replies.edited(slug, what))


async def _may_change_deadline(
    update: Update, context: ContextTypes.DEFAULT_TYPE, slug: str
) -> bool:
    """Whether the sender may change the deadline with that id here (else they are told)."""
    chat = update.effective_chat
    if chat is None:
        return False
    try:
        with session_scope(runtime_of(context).engine) as session:
            target = _item(deadline_ops.find(session, slug, here(update, context)))
    except DeadlineNotFound:
        target = None
    if not await allowed(update, context, target or access.CHAT_SETTINGS):
        return False
    if target is None:
        await reply(update, replies.not_found(slug))
        return False
    return True


def _apply_edit(
    session: Session, deadline: Deadline, field: str, value: str, zone: str, actor: str
) -> tuple[int, str]:
    """Change one field; returns (alerts written, what was done)."""
    if field == "title":
        title = " ".join(value.split())[:300]
        return deadline_ops.rename(session, deadline, title, actor=actor), replies.renamed_to(title)
    if field == "remind":
        offsets = [o.text for o in parse_offsets(value.split())]
        deadline.remind = offsets
        session.add(deadline)
        return 0, replies.default_reminders_set(offsets)
    reading = parse_when(value, zone=zone, now=utcnow(), titled=False)
    deadline.timezone = reading.zone
    written = deadline_ops.move(
        session, deadline, reading.due_utc, all_day=reading.all_day, actor=actor
    )
    return written, replies.moved_note()


async def cancel_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    place = await arrive(update, context, usage=None if args else replies.usage_of("cancel"))
    if place is None:
        return
    runtime, dest = place.runtime, place.dest
    slug = args[0].lower()
    if not await _may_change_deadline(update, context, slug):
        return
    with session_scope(runtime.engine) as session:
        deadline = deadline_ops.find(session, slug, dest)
        active = deadline.status == "active"
        written = deadline_ops.cancel(session, deadline, actor=_actor(update)) if active else 0
        deadline_id = deadline.id
    if not active:
        await reply(update, replies.edited(slug, replies.already_cancelled()))
        return
    assert deadline_id is not None
    runtime.deadlines.changed(deadline_id, written)
    await reply(update, replies.edited(slug, replies.cancelled_note()))


async def follow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _follow(update, context, _args(context)[0] if _args(context) else None)


async def follow_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    if not await allowed(update, context):
        return
    await answer(update)
    await _follow(update, context, query.data.split(":", 1)[1], checked=True)


async def _follow(
    update: Update, context: ContextTypes.DEFAULT_TYPE, slug: str | None, *, checked: bool = False
) -> None:
    usage = None if slug else replies.usage_of("follow")
    place = await arrive(update, context, changing=not checked, usage=usage)
    if place is None or not slug:
        return
    runtime, dest = place.runtime, place.dest
    try:
        deadline, added = runtime.deadlines.follow(dest, slug.lower())
    except DeadlineNotFound:
        await reply(update, _not_found(runtime, dest, slug.lower(), "fol"))
        return
    await reply(update, replies.followed(deadline.title, deadline.slug, added, deadline.remind))


async def unfollow_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    usage = None if args else replies.usage_of("unfollow")
    place = await arrive(update, context, changing=True, usage=usage)
    if place is None:
        return
    try:
        deadline, removed = place.runtime.deadlines.unfollow(place.dest, args[0].lower())
    except DeadlineNotFound:
        await reply(update, replies.not_found(args[0]))
        return
    await reply(update, replies.unfollowed(deadline.title, deadline.slug, removed))


async def remind_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    usage = replies.usage_of("remind") if len(args) < 2 else None
    place = await arrive(update, context, changing=True, usage=usage)
    if place is None:
        return
    runtime, dest = place.runtime, place.dest
    slug = args[0].lower()
    own = args[1].lower() != "default"
    try:
        offsets = [o.text for o in parse_offsets(args[1:])] if own else None
    except OffsetError as exc:
        await reply(update, replies.bad_input(exc, f"/remind {slug} 7d 1d 2h"))
        return
    try:
        deadline, _ = runtime.deadlines.follow(dest, slug, offsets, reset=not own)
    except DeadlineNotFound:
        await reply(update, replies.not_found(slug))
        return
    await reply(update, replies.remind_set(deadline.title, offsets or deadline.remind, own))


async def countdown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    args = _args(context)
    usage = None if args else replies.usage_of("countdown")
    place = await arrive(update, context, changing=True, usage=usage)
    if place is None:
        return
    runtime, dest, zone = place.runtime, place.dest, place.zone
    chat = update.effective_chat
    assert chat is not None  # arrive() stops without one
    now = utcnow()
    try:
        with session_scope(runtime.engine) as session:
            deadline = deadline_ops.find(session, args[0].lower(), dest)
    except DeadlineNotFound:
        await reply(update, replies.not_found(args[0]))
        return
    rendered = replies.countdown_message(deadline, zone, now)
    message = await chat.send_message(
        rendered.text, parse_mode=ParseMode.HTML, message_thread_id=thread_of(update)
    )
    assert deadline.id is not None
    with session_scope(runtime.engine) as session:
        start_countdown(session, dest, deadline.id, message.message_id, deadline.due_at, now)


COMMANDS: dict[str, Callback] = {
    "deadline": deadline_command,
    "add": add_command,
    "edit": edit_command,
    "cancel": cancel_command,
    "follow": follow_command,
    "unfollow": unfollow_command,
    "remind": remind_command,
    "countdown": countdown_command,
}
CALLBACKS: list[tuple[str, Callback]] = [
    (r"^pa:\d{1,18}:(ok|no)$", proposal_button),
    (r"^fol:[a-z0-9-]+$", follow_button),
    (r"^dd:[a-z0-9-]+$", deadline_button),
]
