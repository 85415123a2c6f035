"""News commands: /watch, /unwatch, /topics, /news, /sources, /import, and the news buttons."""

from __future__ import annotations

from sqlmodel import Session
from telegram import Document, Update
from telegram.ext import ContextTypes, filters

from bot.domain.opml import MAX_OPML_BYTES, OpmlError, parse_opml
from bot.domain.query import QuerySyntaxError
from bot.interface.common import (
    Callback,
    allowed,
    answer,
    arrive,
    reply,
    reply_text,
    runtime_of,
)
from bot.render import news as news_text
from bot.render import onboarding
from bot.render.deadline_replies import usage
from bot.runtime import Runtime
from bot.services import access, news, suggest
from bot.services.sources import (
    NewSource,
    SourceRefused,
    add_sources,
    all_sources,
    check_chat_source,
    owned_sources,
)
from bot.store.db import session_scope
from bot.store.models import utcnow

WATCH_EXAMPLE = '/watch "rare earth" export -opinion'


def _rest(update: Update) -> str:
    """The text after the command word, as typed (quotes and all)."""
    message = update.effective_message
    parts = (message.text or "").split(maxsplit=1) if message else []
    return parts[1].strip() if len(parts) > 1 else ""


async def watch_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = _rest(update)
    missing = None if query else usage(WATCH_EXAMPLE, news_text.watch_purpose())
    place = await arrive(update, context, usage=missing)
    if place is not None:
        await _watch(update, context, place.dest, query)


async def watch_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A suggested topic id pressed under "did you mean": follow it."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    place = await arrive(update, context)
    if place is not None:
        await _watch(update, context, place.dest, query.data.split(":", 1)[1], suggested=True)


async def _watch(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    dest: int,
    query: str,
    *,
    suggested: bool = False,
) -> None:
    """Follow topic `query` (an id) or watch it as a new query; a pressed suggestion (a button's
    data, which anyone can forge) is only ever an existing id, never a new query."""
    if not await allowed(update, context):
        return
    await answer(update)  # a suggested id pressed: the reply below says what happened
    runtime = runtime_of(context)
    if suggested or suggest.looks_like_id(query):
        # One dashed lowercase token is an id, never a new query: say which ids are close.
        with session_scope(runtime.engine) as session:
            near = suggest.topic_ids_near(session, dest, query)
            known = query in near or _is_visible(session, dest, query)
        if not known:
            await reply(update, onboarding.did_you_mean("topic", query, near, "wt", literal=True))
            return
    try:
        with session_scope(runtime.engine) as session:
            topic, created = news.watch(
                session, dest, query, max_owned=runtime.config.limits.topics_per_chat
            )
            rendered = news_text.watched(topic.slug, topic.title, topic.query, created)
    except news.TopicLimit as exc:
        await reply_text(update, news_text.topic_limit(exc.limit))
        return
    except QuerySyntaxError as exc:
        shown = " ".join(query.split())
        await reply(update, news_text.invalid_query(shown, exc))
        return
    await reply(update, rendered)


def _is_visible(session: Session, chat_id: int, slug: str) -> bool:
    try:
        news.visible_topic(session, slug, chat_id)
    except news.TopicNotFound:
        return False
    return True


async def unwatch_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    slug = _rest(update).lower()
    missing = None if slug else usage("/unwatch rare-earths", news_text.unwatch_purpose())
    place = await arrive(update, context, changing=True, usage=missing)
    if place is None:
        return
    dest = place.dest
    try:
        with session_scope(place.runtime.engine) as session:
            topic, was_followed = news.unwatch(session, dest, slug)
    except news.TopicNotFound:
        with session_scope(place.runtime.engine) as session:
            near = suggest.topic_ids_near(session, dest, slug)
        await reply(
            update,
            onboarding.did_you_mean("topic", slug, near, "uw")
            if near and suggest.looks_like_id(slug)
            else news_text.topic_not_found(slug),
        )
        return
    await reply(update, news_text.unwatched(topic.slug, topic.title, was_followed))


async def unwatch_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A suggested topic id pressed under "did you mean": stop following it."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    place = await arrive(update, context, changing=True)
    if place is None:
        return
    await answer(update)
    dest, slug = place.dest, query.data.split(":", 1)[1]
    try:
        with session_scope(place.runtime.engine) as session:
            topic, was_followed = news.unwatch(session, dest, slug)
    except news.TopicNotFound:
        await reply(update, news_text.topic_not_found(slug))
        return
    await reply(update, news_text.unwatched(topic.slug, topic.title, was_followed))


async def topics_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    place = await arrive(update, context)
    if place is None:
        return
    with session_scope(place.runtime.engine) as session:
        rows = news.topics(session, place.dest, utcnow())
    await reply(update, news_text.topic_list(rows))


async def news_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    slug = _rest(update).lower() or None
    place = await arrive(update, context)
    if place is None:
        return
    dest = place.dest
    try:
        with session_scope(place.runtime.engine) as session:
            title = news.visible_topic(session, slug, dest).title if slug else None
            rows = news.latest_news(session, dest, slug)
    except news.TopicNotFound:
        await reply(update, news_text.topic_not_found(slug or ""))
        return
    await reply(update, news_text.news_list(rows, title, utcnow()))


async def sources_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user = update.effective_user
    place = await arrive(update, context)
    if place is None:
        return
    if not place.runtime.is_admin(user.id if user else None):
        await reply(update, news_text.admins_only())
        return
    with session_scope(place.runtime.engine) as session:
        rows = all_sources(session)
    await reply(update, news_text.sources_health(rows, place.zone))


async def import_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/import as a reply to an OPML file: add its feeds as untrusted (SSRF-checked) sources."""
    message = update.effective_message
    if message is None:
        return
    place = await arrive(update, context, changing=True, target=access.OPERATIONS)
    if place is None:
        return
    original = message.reply_to_message
    document = original.document if original else None
    if document is None:
        await reply(update, news_text.opml_unreadable(news_text.opml_no_file()))
        return
    await _import_opml(update, place.runtime, place.dest, document)


async def opml_upload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An admin sends an .opml file: import it at once (others are told it is for admins)."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    place = await arrive(update, context, changing=True, target=access.OPERATIONS)
    if place is not None:
        await _import_opml(update, place.runtime, place.dest, message.document)


async def _import_opml(update: Update, runtime: Runtime, chat_id: int, document: Document) -> None:
    """Add an OPML file's feeds as untrusted (SSRF-checked) sources, and say what happened."""
    if (document.file_size or 0) > MAX_OPML_BYTES:
        await reply(update, news_text.opml_unreadable(news_text.opml_too_large(MAX_OPML_BYTES)))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        read = parse_opml(data)
    except OpmlError as exc:
        await reply(update, news_text.opml_unreadable(exc))
        return
    accepted: list[NewSource] = []
    refused = list(read.skipped)
    with session_scope(runtime.engine) as session:
        room = runtime.config.limits.sources_per_chat - owned_sources(session, chat_id)
    for source in read.sources:
        if len(accepted) >= room:
            refused.append(news_text.source_limit_reached(source.spec.url))
            continue
        try:
            await check_chat_source(source.spec.url)
        except SourceRefused as exc:
            refused.append(news_text.source_refused(exc.url, exc.reason))
            continue
        accepted.append(NewSource(source.spec, source.title))
    with session_scope(runtime.engine) as session:
        added, present = add_sources(
            session, accepted, origin="chat", trusted=False, owner_chat_id=chat_id
        )
    await reply(update, news_text.opml_imported(added, present, refused))


async def mute_topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """[Mute topic] under a news alert: mute it here until /unmute topic."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    place = await arrive(update, context, changing=True)
    if place is None:
        return
    slug = query.data.split(":", 1)[1]
    try:
        with session_scope(place.runtime.engine) as session:
            topic = news.mute(session, place.dest, slug, utcnow())
    except news.TopicNotFound:
        await answer(update, news_text.topic_gone())
        return
    await answer(update, news_text.topic_muted(topic.title, topic.slug))


COMMANDS: dict[str, Callback] = {
    "watch": watch_command,
    "unwatch": unwatch_command,
    "topics": topics_command,
    "news": news_command,
    "sources": sources_command,
    "import": import_command,
}
CALLBACKS: list[tuple[str, Callback]] = [
    (r"^mt:[a-z0-9-]+$", mute_topic_button),
    (r"^wt:[a-z0-9-]+$", watch_button),
    (r"^uw:[a-z0-9-]+$", unwatch_button),
]
MESSAGES: list[tuple[filters.BaseFilter, Callback]] = [
    (filters.Document.FileExtension("opml") | filters.Document.MimeType("text/x-opml"), opml_upload)
]
