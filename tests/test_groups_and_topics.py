"""Groups and forum topics end to end through the fake Bot API: commands meant for other bots,
`/cmd@Herald`, anonymous admins, the command menu of every scope, and topics as destinations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlmodel import select

from bot.interface.app import HeraldBot
from bot.interface.countdowns import refresh_countdowns
from bot.services import deadlines as deadline_ops
from bot.services import destinations
from bot.store.db import session_scope
from bot.store.models import Countdown, Deadline
from tests.fakebot import ServedAPI
from tests.helpers import config_text

ADA = 7001
BEN = 7002
BOSS = 7009  # a Herald admin
GROUP = -100555

CONFIG = config_text(admins=[BOSS])


@pytest.fixture
def herald_config() -> str:
    return CONFIG


async def say(api: ServedAPI, chat_id: int, text: str, **kwargs: object) -> str:
    """Type a command and return the bot's next reply in that chat."""
    before = len(api.api.sent(chat_id))
    await api.api.push_text(chat_id, text, **kwargs)  # type: ignore[arg-type]
    await api.api.wait_for(lambda: len(api.api.sent(chat_id)) > before)
    return str(api.api.sent(chat_id)[before].params["text"])


async def say_nothing_back(api: ServedAPI, chat_id: int, text: str, **kwargs: object) -> None:
    """Type `text`, then a command that is answered; only that answer may arrive."""
    before = len(api.api.sent(chat_id))
    await api.api.push_text(chat_id, text, **kwargs)  # type: ignore[arg-type]
    await say(api, chat_id, "/help@herald_test_bot", **kwargs)
    later = [str(c.params["text"]) for c in api.api.sent(chat_id)[before:]]
    assert len(later) == 1 and later[0].startswith("<b>Herald commands</b>"), later


async def test_commands_for_other_bots_are_ignored(herald: HeraldBot, bot_api: ServedAPI) -> None:
    group = {"chat_type": "supergroup", "user_id": ADA}
    await say_nothing_back(bot_api, GROUP, "/foo@some_other_bot", **group)
    await say_nothing_back(bot_api, GROUP, "/deadlines@some_other_bot", **group)
    # A bare unknown command in a group may be another bot's: no "I don't know" there.
    await say_nothing_back(bot_api, GROUP, "/foo", **group)
    assert await say(bot_api, GROUP, "/foo@herald_test_bot", **group) == (
        "I don't know /foo. Send /help to see what I understand."
    )
    assert await say(bot_api, ADA, "/foo") == (
        "I don't know /foo. Send /help to see what I understand."
    )


async def test_commands_addressed_to_herald_work(herald: HeraldBot, bot_api: ServedAPI) -> None:
    group = {"chat_type": "supergroup", "user_id": ADA}
    bot_api.api.group_admins.add(ADA)
    assert "Welcome Trade desk" in await say(bot_api, GROUP, "/start@herald_test_bot", **group)
    listing = await say(bot_api, GROUP, "/deadlines@Herald_Test_Bot", **group)
    assert "Shipped deadline" in listing


async def test_anonymous_admins_count_as_admins(herald: HeraldBot, bot_api: ServedAPI) -> None:
    refused = await say(bot_api, GROUP, "/start", chat_type="supergroup", user_id=BEN)
    assert refused == "Only this group's admins can change its deadlines and settings."
    welcome = await say(bot_api, GROUP, "/start", chat_type="supergroup", anonymous=True)
    assert welcome.startswith("Welcome Trade desk!")
    refused = await say(bot_api, GROUP, "/quiet 22:00-07:00", chat_type="supergroup", user_id=BEN)
    assert refused == "Only this group's admins can change its deadlines and settings."
    done = await say(bot_api, GROUP, "/quiet 22:00-07:00", chat_type="supergroup", anonymous=True)
    assert "Only this group's admins" not in done
    assert "22:00" in done


async def test_each_scope_gets_a_complete_menu_and_only_admins_see_changing_commands(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    calls = [c for c in bot_api.api.calls if c.method == "setMyCommands"]
    menus = {
        (c.params.get("scope") or {}).get("type", "none")
        + str((c.params.get("scope") or {}).get("chat_id", "")): [
            cmd["command"] for cmd in c.params["commands"]
        ]
        for c in calls
    }
    assert set(menus) == {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        f"chat{BOSS}",
    }
    admin_only = {"sources", "status", "import"}
    for scope, names in menus.items():
        assert ("sources" in names) == (scope == f"chat{BOSS}"), scope
        assert len(names) == len(set(names)), scope
    members = menus["all_group_chats"]
    assert {"deadlines", "deadline", "help", "news", "topics"} <= set(members)
    assert not {"add", "cancel", "quiet", "watch", "start"} & set(members)
    # Scopes do not merge: the admins' list repeats every member command.
    assert set(members) <= set(menus["all_chat_administrators"])
    assert {"add", "cancel", "quiet", "watch"} <= set(menus["all_chat_administrators"])
    assert menus["all_private_chats"] == menus["all_chat_administrators"]
    assert set(menus[f"chat{BOSS}"]) == set(menus["all_private_chats"]) | admin_only


def in_topic(api: ServedAPI, thread_id: int) -> list[str]:
    """Texts Herald sent to the forum's topic `thread_id`."""
    return [
        str(c.params["text"])
        for c in api.api.sent(GROUP)
        if c.params.get("message_thread_id") == thread_id
    ]


async def test_forum_topics_are_destinations(herald: HeraldBot, bot_api: ServedAPI) -> None:
    bot_api.api.group_admins.add(ADA)
    tariffs = {"chat_type": "supergroup", "user_id": ADA, "thread_id": 11}
    votes = {"chat_type": "supergroup", "user_id": ADA, "thread_id": 22}
    assert "Welcome" in await say(bot_api, GROUP, "/start", **tariffs)
    assert "Welcome" in await say(bot_api, GROUP, "/start", **votes)
    # Replies land in the topic the command came from.
    assert len(in_topic(bot_api, 11)) == 1 and len(in_topic(bot_api, 22)) == 1

    # Settings are the topic's own: quiet hours in one topic do not touch the other.
    await say(bot_api, GROUP, "/quiet 22:00-07:00", **tariffs)
    assert "22:00" in await say(bot_api, GROUP, "/quiet", **tariffs)
    assert (await say(bot_api, GROUP, "/quiet", **votes)).startswith("No quiet hours")

    # A deadline added in one topic, followed from the other: both topics are told of a change,
    # each in its own thread (one outbox row per topic although the dedup key is the same).
    preview = await say(bot_api, GROUP, "/add in 30 days noon Forum vote", **tariffs)
    assert preview.startswith("Forum vote — ")
    confirm = dict(bot_api.api.buttons(bot_api.api.sent(GROUP)[-1]))["Confirm"]
    edits_before = len([c for c in bot_api.api.calls if c.method == "editMessageText"])
    await bot_api.api.press(GROUP, confirm, user_id=ADA, chat_type="supergroup", thread_id=11)
    await bot_api.api.wait_for(
        lambda: len([c for c in bot_api.api.calls if c.method == "editMessageText"]) > edits_before
    )
    # A topic's own deadline is private to it; the other topic follows it through the store.
    assert "No deadline with id" in await say(bot_api, GROUP, "/follow forum-vote", **votes)
    with session_scope(herald.runtime.engine) as session:
        other = destinations.resolve(session, GROUP, 22)
        vote = session.exec(select(Deadline).where(Deadline.slug == "forum-vote")).one()
        deadline_ops.follow(session, other, vote)
    moved = await say(bot_api, GROUP, "/edit forum-vote when in 40 days noon", **tariffs)
    assert moved.startswith("✅ Moved; followers are told.")
    await bot_api.api.wait_for(
        lambda: all(
            any("Deadline moved" in t for t in in_topic(bot_api, thread)) for thread in (11, 22)
        )
    )
    general = [str(c.params["text"]) for c in bot_api.api.sent(GROUP)]
    assert not any(
        "Deadline moved" in str(c.params["text"])
        for c in bot_api.api.sent(GROUP)
        if c.params.get("message_thread_id") is None
    ), general


async def test_unstarted_topic_is_not_the_forum(herald: HeraldBot, bot_api: ServedAPI) -> None:
    bot_api.api.group_admins.add(ADA)
    await say(bot_api, GROUP, "/start", chat_type="supergroup", user_id=ADA)
    answer = await say(
        bot_api, GROUP, "/quiet 22:00-07:00", chat_type="supergroup", user_id=ADA, thread_id=33
    )
    # The forum is registered, the topic is not: its settings are not the forum's.
    assert answer == "Send /start first, then choose how alerts reach this chat."
    assert in_topic(bot_api, 33) == [answer]


async def test_members_buttons_change_nothing(herald: HeraldBot, bot_api: ServedAPI) -> None:
    bot_api.api.group_admins.add(ADA)
    group = "supergroup"
    await say(bot_api, GROUP, "/start", user_id=ADA, chat_type=group)
    preview = await say(
        bot_api, GROUP, "/add in 9 days noon Board vote", user_id=ADA, chat_type=group
    )
    assert preview.startswith("Board vote — ")
    buttons = dict(bot_api.api.buttons(bot_api.api.sent(GROUP)[-1]))
    refusal = "Only this group's admins can change its deadlines and settings."
    for data in (buttons["Cancel"], buttons["Confirm"], "unf:shipped-deadline"):
        answers = len(bot_api.api.answers())
        await bot_api.api.press(GROUP, data, user_id=BEN, chat_type=group)
        await bot_api.api.wait_for(partial(lambda n: len(bot_api.api.answers()) > n, answers))
        assert bot_api.api.answers()[answers].params["text"] == refusal
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Deadline).where(Deadline.slug == "board-vote")).first() is None
        assert deadline_ops.followed_ids(session, GROUP) != set()


async def test_a_countdown_in_a_forum_topic_is_stored_for_the_topic_and_edited_in_its_group(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    bot_api.api.group_admins.add(ADA)
    topic = {"chat_type": "supergroup", "user_id": ADA, "thread_id": 11}
    await say(bot_api, GROUP, "/start", **topic)
    await say(bot_api, GROUP, "/countdown shipped-deadline", **topic)
    assert "Shipped deadline" in in_topic(bot_api, 11)[-1]
    await say(bot_api, GROUP, "/help", **topic)  # updates are handled in order: it is stored
    with session_scope(herald.runtime.engine) as session:
        countdown = session.exec(select(Countdown)).one()
        assert destinations.is_topic(countdown.chat_id)
        countdown.next_edit_at = datetime.now(UTC) - timedelta(minutes=1)
        session.add(countdown)
    assert await refresh_countdowns(herald.runtime, herald.application.bot) == 1
    [edit] = [c for c in bot_api.api.calls if c.method == "editMessageText"]
    assert int(edit.params["chat_id"]) == GROUP
