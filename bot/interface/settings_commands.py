"""/settings: one message edited in place, every value changed by a button.

Callback data (all well under Telegram's 64 bytes): `st:m` the menu; `st:tz`, `st:q`,
`st:dg`, `st:rm`, `st:lg` the pickers and `st:tz:<i>`, `st:q:<i>`, `st:dg:<i>`, `st:rm:<i>`,
`st:lg:<i>` their choices (indexes into fixed tables);
`st:d:<page>` / `st:t:<page>` the deadline and topic toggles and `st:dt:<page>:<id>` /
`st:tt:<page>:<id>` a toggle. A toggle whose item left the list answers "this list has
changed" and shows the fresh page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.delivery import to_markup
from bot.delivery_policy.quiet import parse_digest, parse_quiet
from bot.interface.common import Callback, allowed, arrive, reply, thread_of
from bot.interface.gate import choices_of
from bot.render import Rendered, i18n, onboarding
from bot.runtime import Runtime
from bot.services import chats, places, settings
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineNotFound
from bot.services.policy import set_digest, set_quiet
from bot.store.db import session_scope
from bot.store.models import Chat, utcnow

CHANGES = ("st:tz:", "st:q:", "st:dg:", "st:rm:", "st:lg:", "st:dt:", "st:tt:")
# The languages a chat can choose, each in its own name; None: each person's app language.
LANGUAGES: tuple[str | None, ...] = (*i18n.available(), None)
_CHOICES: dict[str, tuple[object, ...]] = {
    "tz": places.COMMON_CITIES,
    "q": settings.QUIET_PRESETS,
    "dg": settings.DIGEST_PRESETS,
    "rm": settings.OFFSET_PRESETS,
    "lg": LANGUAGES,
}


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    place = await arrive(update, context, unregistered=onboarding.register_first)
    if place is None:
        return
    rendered = main_menu(place.runtime, place.dest)
    if rendered is not None:
        await reply(update, rendered)


def main_menu(runtime: Runtime, chat_id: int) -> Rendered | None:
    with session_scope(runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        if chat is None:
            return None
        view = settings.overview(session, chat, runtime.config.timezone)
    return _main(view)


async def settings_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None or query.data is None:
        return
    data = query.data
    place = await arrive(update, context, unregistered=onboarding.register_first)
    if place is None:
        return  # the press was answered with the reason
    runtime, chat_id = place.runtime, place.dest
    if data.startswith(CHANGES) and not await allowed(update, context):
        return
    user = update.effective_user
    app_language = i18n.language_for(user.language_code if user else None)
    answer, rendered = _act(runtime, chat_id, data.split(":"), app_language)
    if data.startswith("st:lg:") and update.effective_chat is not None:
        # This process speaks the new choice from the next update on; others within
        # gate.CHOICE_TTL_S.
        choices_of(context).forget((update.effective_chat.id, thread_of(update)))
    await query.answer(answer)
    try:
        await query.edit_message_text(
            rendered.text, parse_mode=ParseMode.HTML, reply_markup=to_markup(rendered.buttons)
        )
    except BadRequest as exc:  # pressing the value already shown changes nothing
        if "not modified" not in exc.message.lower():
            raise


def _act(
    runtime: Runtime, chat_id: int, parts: list[str], app_language: str
) -> tuple[str | None, Rendered]:
    """Carry out a press; return the short answer and the menu page to show (a language
    chosen: both in it; `app_language` is the presser's, for "each person's app")."""
    now = utcnow()
    what, arg = parts[1], parts[2:]
    try:
        index = [int(a) for a in arg]
    except ValueError:
        index = []
    if what in _CHOICES and index and index[0] >= len(_CHOICES[what]):
        return onboarding.stale_list(), _page(runtime, chat_id, what, 0)
    if what in _SAVERS and index:
        _SAVERS[what](runtime, chat_id, index[0], app_language, now)
        return onboarding.saved(), _page(runtime, chat_id, "m", 0)
    if what in ("dt", "tt") and len(index) == 2:
        page, item_id = index
        try:
            answer = _toggle(runtime, chat_id, what[0], item_id)
        except (settings.ListChanged, DeadlineNotFound):
            answer = onboarding.stale_list()
        return answer, _page(runtime, chat_id, what[0], page)
    return None, _page(runtime, chat_id, what, index[0] if index else 0)


def _save_timezone(runtime: Runtime, chat_id: int, index: int, _lang: str, _now: datetime) -> None:
    with session_scope(runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        assert chat is not None
        chat.timezone = places.COMMON_CITIES[index][1]
        session.add(chat)


def _save_quiet(runtime: Runtime, chat_id: int, index: int, _lang: str, now: datetime) -> None:
    preset = settings.QUIET_PRESETS[index]
    set_quiet(runtime.engine, chat_id, parse_quiet(preset) if preset else None, now)
    runtime.outbox.notify()


def _save_digest(runtime: Runtime, chat_id: int, index: int, _lang: str, now: datetime) -> None:
    set_digest(runtime.engine, chat_id, parse_digest(settings.DIGEST_PRESETS[index]), now)
    runtime.outbox.notify()


def _save_reminders(runtime: Runtime, chat_id: int, index: int, _lang: str, _now: datetime) -> None:
    with session_scope(runtime.engine) as session:
        changed = settings.set_offsets_everywhere(session, chat_id, settings.OFFSET_PRESETS[index])
    for deadline_id in changed:
        runtime.deadlines.changed(deadline_id)


def _save_language(runtime: Runtime, chat_id: int, index: int, lang: str, _now: datetime) -> None:
    chosen = LANGUAGES[index]
    with session_scope(runtime.engine) as session:
        chats.choose_language(session, chat_id, chosen, lang)
    i18n.set_language(chosen or lang)


# A press on the n-th entry of a settings list saves that choice (the menu then shows again).
_SAVERS: dict[str, Callable[[Runtime, int, int, str, datetime], None]] = {
    "tz": _save_timezone,
    "q": _save_quiet,
    "dg": _save_digest,
    "rm": _save_reminders,
    "lg": _save_language,
}


def _toggle(runtime: Runtime, chat_id: int, kind: str, item_id: int) -> str:
    if kind == "t":
        with session_scope(runtime.engine) as session:
            followed = settings.toggle_topic(session, chat_id, item_id)
        return onboarding.toggled(followed)
    with session_scope(runtime.engine) as session:
        slug = settings.listed_deadline(session, item_id, utcnow())
        followed = item_id in deadline_ops.followed_ids(session, chat_id)
    if followed:
        runtime.deadlines.unfollow(chat_id, slug)
    else:
        runtime.deadlines.follow(chat_id, slug)
    return onboarding.toggled(not followed)


def _page(runtime: Runtime, chat_id: int, what: str, page: int) -> Rendered:
    with session_scope(runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        assert chat is not None
        view = settings.overview(session, chat, runtime.config.timezone)
        if what in ("d", "t"):
            found = (
                settings.deadline_page(session, chat_id, page, utcnow())
                if what == "d"
                else settings.topic_page(session, chat_id, page)
            )
            items = [(t.item_id, t.title, t.followed) for t in found.items]
            return onboarding.toggle_page(what, items, found.page, found.pages)
    if what == "tz":
        return onboarding.zone_picker(view.zone, places.COMMON_CITIES)
    if what == "q":
        return onboarding.quiet_picker(view.quiet, settings.QUIET_PRESETS)
    if what == "dg":
        return onboarding.digest_picker(view.digest, settings.DIGEST_PRESETS)
    if what == "rm":
        return onboarding.offsets_picker(view.deadlines_followed, settings.OFFSET_PRESETS)
    if what == "lg":
        return onboarding.language_picker(view.language, LANGUAGES)
    return _main(view)


def _main(view: settings.Overview) -> Rendered:
    return onboarding.settings_main(
        view.zone,
        view.quiet,
        view.digest,
        view.deadlines_followed,
        view.topics_followed,
        view.language,
    )


COMMANDS: dict[str, Callback] = {"settings": settings_command}
CALLBACKS: list[tuple[str, Callback]] = [(r"^st:[a-z]+(:\d+)*$", settings_button)]
