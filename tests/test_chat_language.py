"""A chat chooses the language Herald speaks in it (/settings › Language): every reply and
push there is in it, whatever the sender's app says; "each person's app" goes back."""

from __future__ import annotations

from typing import Any

import pytest

from bot.interface.app import HeraldBot
from bot.interface.gate import Choices
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import session_scope
from bot.store.models import Chat
from tests.fakebot import ServedAPI
from tests.helpers import edited_texts, eventually, say

ADA = 7301
BEN = 7302
GROUP = -100777
CONFIG = "timezone: Europe/London\nsubscribe_new_chats: none\n"
GERMAN = "Gespeichert."
ADMINS_ONLY = "Only this group's admins can change its deadlines and settings."
STALE = "This button no longer works: the list has changed. Send the command again."


@pytest.fixture
def herald_config() -> str:
    return CONFIG


async def press(api: ServedAPI, chat_id: int, data: str, **kwargs: Any) -> tuple[str, str]:
    """Press a button; return (the text the press was answered with, the message it was
    edited to, "" when it was not edited)."""
    answers, edited = len(api.api.answers()), len(edited_texts(api))
    await api.api.press(chat_id, data, **kwargs)
    await api.api.wait_for(lambda: len(api.api.answers()) > answers)
    answer = str(api.api.answers()[answers].params.get("text") or "")
    if answer == ADMINS_ONLY:
        return answer, ""
    await api.api.wait_for(lambda: len(edited_texts(api)) > edited)
    return answer, edited_texts(api)[edited]


def last_buttons(api: ServedAPI) -> dict[str, str]:
    call = [c for c in api.api.calls if c.method == "editMessageText"][-1]
    return dict(api.api.buttons(call))


def stored(herald: HeraldBot, chat_id: int) -> tuple[str | None, str | None]:
    """(chosen_language, language) of the chat's row."""
    with session_scope(herald.runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        assert chat is not None
        return chat.chosen_language, chat.language


async def push_reminder(herald: HeraldBot, api: ServedAPI, chat_id: int, key: str) -> str:
    """A reminder of a deadline to the chat, through the outbox; its text as sent."""
    before = len(api.api.sent(chat_id))
    payload = {
        "deadline_id": 1,
        "slug": "truce",
        "title": "Tariff truce expiry",
        "due_at": "2099-12-01T12:00:00+00:00",
        "timezone": "UTC",
        "all_day": False,
        "offset": "1d",
        "late": False,
    }
    with session_scope(herald.runtime.engine) as session:
        enqueue(session, [NewAlert(chat_id, key, "reminder", payload)])
    herald.runtime.outbox.notify()
    await api.api.wait_for(lambda: len(api.api.sent(chat_id)) > before)
    return str(api.api.sent(chat_id)[before].params["text"])


async def test_an_english_app_user_picks_german_and_replies_and_pushes_are_german(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start", language="en")
    menu = await say(bot_api, ADA, "/settings", language="en")
    assert "🗣 Language: <b>each person's app</b>" in menu
    assert dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Language"] == "st:lg"

    _, picker = await press(bot_api, ADA, "st:lg", language="en")
    assert "Language here: <b>each person's app</b>" in picker
    assert list(last_buttons(bot_api)) == [
        "English",
        "Deutsch",
        "Each person's app language",
        "◀ Settings",
    ]
    answer, menu = await press(bot_api, ADA, last_buttons(bot_api)["Deutsch"], language="en")
    assert answer == GERMAN  # the press is answered, and the menu shown, in the new language
    assert menu.startswith("<b>Einstellungen</b>") and "🗣 Sprache: <b>Deutsch</b>" in menu
    assert stored(herald, ADA) == ("de", "de")

    assert (await say(bot_api, ADA, "/help", language="en")).startswith("<b>Herald-Befehle</b>")
    await say(bot_api, ADA, "/help", language="en")  # the first one's update is fully handled
    assert stored(herald, ADA) == ("de", "de")  # the English app did not overwrite the choice
    reminder = await push_reminder(herald, bot_api, ADA, "r1")
    assert reminder.startswith("⏰ <b>Erinnerung</b> (1 Tag vorher)"), reminder


async def test_each_persons_app_language_goes_back(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start", language="en")
    await press(bot_api, ADA, "st:lg:1", language="en")
    assert (await say(bot_api, ADA, "/help", language="en")).startswith("<b>Herald-Befehle</b>")

    answer, menu = await press(bot_api, ADA, "st:lg:2", language="en")
    assert answer == "Saved."
    assert menu.startswith("<b>Settings</b>") and "🗣 Language: <b>each person's app</b>" in menu
    assert stored(herald, ADA) == (None, "en")  # pushes: the chooser's app language
    assert (await say(bot_api, ADA, "/help", language="en")).startswith("<b>Herald commands</b>")
    assert (await push_reminder(herald, bot_api, ADA, "r1")).startswith("⏰ <b>Reminder</b>")
    assert (await say(bot_api, ADA, "/help", language="de")).startswith("<b>Herald-Befehle</b>")
    await eventually(lambda: stored(herald, ADA) == (None, "de"))  # last seen, as before


async def test_a_group_member_who_is_not_an_admin_cannot_choose(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    bot_api.api.group_admins.add(ADA)
    group: dict[str, Any] = {"chat_type": "supergroup"}
    await say(bot_api, GROUP, "/start", user_id=ADA, language="en", **group)
    answer, edited = await press(bot_api, GROUP, "st:lg:1", user_id=BEN, **group)
    assert (answer, edited) == (ADMINS_ONLY, "")
    assert stored(herald, GROUP) == (None, "en")

    answer, _ = await press(bot_api, GROUP, "st:lg:1", user_id=ADA, language="en", **group)
    assert answer == GERMAN and stored(herald, GROUP) == ("de", "de")
    # Everyone in the group reads the choice, whatever their app's language.
    help_text = await say(bot_api, GROUP, "/help", user_id=BEN, language="en", **group)
    assert help_text.startswith("<b>Herald-Befehle</b>")

    answer, _ = await press(bot_api, GROUP, "st:lg:0", user_id=ADA, language="en", **group)
    assert answer == "Saved." and stored(herald, GROUP) == ("en", "en")
    help_text = await say(bot_api, GROUP, "/help", user_id=BEN, language="de", **group)
    assert help_text.startswith("<b>Herald commands</b>")
    await say(bot_api, GROUP, "/help", user_id=BEN, language="de", **group)
    # A German app writing last does not turn the pushes German: the choice holds.
    assert stored(herald, GROUP) == ("en", "en")
    assert (await push_reminder(herald, bot_api, GROUP, "r1")).startswith("⏰ <b>Reminder</b>")


@pytest.mark.parametrize("data", ["st:lg:3", "st:lg:99"])
async def test_a_stale_language_button_changes_nothing(
    herald: HeraldBot, bot_api: ServedAPI, data: str
) -> None:
    await say(bot_api, ADA, "/start", language="en")
    answer, page = await press(bot_api, ADA, data, language="en")
    assert answer == STALE
    assert "Language here" in page and "Deutsch" in last_buttons(bot_api)
    assert stored(herald, ADA) == (None, "en")


async def test_a_choice_made_by_another_process_is_spoken_once_the_cache_expires(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    """Another replica writes the choice to the store; this one reads it again after
    CHOICE_TTL_S (the clock is moved on, not waited for)."""
    now = [0.0]
    choices = Choices(clock=lambda: now[0])
    herald.application.bot_data["choices"] = choices
    await say(bot_api, ADA, "/start", language="en")
    with session_scope(herald.runtime.engine) as session:
        chat = session.get(Chat, ADA)
        assert chat is not None
        chat.chosen_language = chat.language = "de"
        session.add(chat)
    assert (await say(bot_api, ADA, "/help", language="en")).startswith("<b>Herald commands</b>")
    now[0] += choices.ttl_s
    assert (await say(bot_api, ADA, "/help", language="en")).startswith("<b>Herald-Befehle</b>")


def test_choices_are_read_once_per_expiry() -> None:
    now = [100.0]
    loads: list[int] = []
    choices = Choices(ttl_s=5.0, clock=lambda: now[0])

    def load() -> str | None:
        loads.append(1)
        return "de"

    assert choices.get((1, None), load) == "de"
    now[0] += 4.9
    assert choices.get((1, None), load) == "de" and len(loads) == 1
    now[0] += 0.1
    assert choices.get((1, None), load) == "de" and len(loads) == 2
    choices.forget((1, None))
    assert choices.get((1, None), load) == "de" and len(loads) == 3
    assert choices.get((1, 7), load) == "de" and len(loads) == 4  # a forum topic: its own


async def test_a_forum_topic_chooses_for_itself(herald: HeraldBot, bot_api: ServedAPI) -> None:
    bot_api.api.group_admins.add(ADA)
    forum: dict[str, Any] = {"chat_type": "supergroup", "language": "en"}
    await say(bot_api, GROUP, "/start", user_id=ADA, **forum)
    await say(bot_api, GROUP, "/start", user_id=ADA, thread_id=5, **forum)
    answer, _ = await press(bot_api, GROUP, "st:lg:1", user_id=ADA, thread_id=5, **forum)
    assert answer == GERMAN
    topic = await say(bot_api, GROUP, "/help", user_id=BEN, thread_id=5, **forum)
    general = await say(bot_api, GROUP, "/help", user_id=BEN, **forum)
    assert topic.startswith("<b>Herald-Befehle</b>")
    assert general.startswith("<b>Herald commands</b>")
    assert stored(herald, GROUP) == (None, "en")
