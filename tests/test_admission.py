"""Access (`access: allowlist`) and flood control end to end through the fake Bot API."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import ConfigError, parse_config
from bot.interface.app import HeraldBot
from bot.services.admission import FloodControl, FloodVerdict
from bot.store.db import session_scope
from bot.store.models import Chat, Proposal
from tests.fakebot import ServedAPI
from tests.helpers import say

ADA = 7001  # listed
EVE = 7005  # not listed
TEAM = -100777  # a listed group
OTHER_GROUP = -100888
TOKEN = "123456:TEST-TOKEN"
CONFIG = f"""
timezone: Europe/London
access: allowlist
allowed_users: [{ADA}]
allowed_chats: [{TEAM}]
commands_per_minute: 4
"""
REFUSAL = (
    "Sorry, this Herald is private: it only answers the people and groups its operator"
    " has listed. Nothing you send here is kept."
)
FLOOD = "That is a lot of commands at once: I'll answer again in a minute."


@pytest.fixture
def herald_config() -> str:
    return CONFIG


def stored_chats(herald: HeraldBot) -> set[int]:
    with session_scope(herald.runtime.engine) as session:
        return set(session.exec(select(Chat.id)).all())


async def test_others_get_one_polite_refusal_and_nothing_is_stored(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    assert await say(bot_api, EVE, "/start") == REFUSAL
    # The second message gets no second refusal: the next reply is to a listed user.
    await bot_api.api.push_text(EVE, "/add tomorrow noon Sneaky")
    assert "Welcome" in await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, "/help")
    assert len(bot_api.api.sent(EVE)) == 1
    with session_scope(herald.runtime.engine) as session:
        assert session.exec(select(Proposal)).all() == []
    assert stored_chats(herald) == {ADA}
    # A listed group lets its members in; another group is refused once.
    assert "Welcome" in await say(
        bot_api, TEAM, "/start", chat_type="supergroup", user_id=EVE, anonymous=True
    )
    assert await say(bot_api, OTHER_GROUP, "/help", chat_type="supergroup", user_id=EVE) == (
        REFUSAL
    )
    assert stored_chats(herald) == {ADA, TEAM}
    # A button press from outside is answered, and does nothing.
    answers = len(bot_api.api.answers())
    await bot_api.api.press(EVE, "st:q:1")
    await bot_api.api.wait_for(lambda: len(bot_api.api.answers()) > answers)
    assert bot_api.api.answers()[answers].params["text"] == REFUSAL


async def test_flood_gets_one_notice(herald: HeraldBot, bot_api: ServedAPI) -> None:
    for _ in range(4):
        await say(bot_api, ADA, "/help")
    assert await say(bot_api, ADA, "/help") == FLOOD
    for _ in range(3):
        await bot_api.api.push_text(ADA, "/help")
    # Another user is not held back, and the flooding one got no further message.
    assert "Herald commands" in await say(bot_api, TEAM, "/help", chat_type="supergroup")
    assert [str(c.params["text"]) for c in bot_api.api.sent(ADA)][-1] == FLOOD
    assert sum(str(c.params["text"]) == FLOOD for c in bot_api.api.sent(ADA)) == 1


def test_over_the_limit_a_sender_is_warned_once_then_dropped_until_a_minute_has_passed() -> None:
    now = [0.0]
    flood = FloodControl(2, clock=lambda: now[0])
    assert [flood.check(1) for _ in range(4)] == ["ok", "ok", "warn", "drop"]
    assert flood.check(2) == FloodVerdict.OK
    now[0] = 59.9
    assert flood.check(1) == FloodVerdict.DROP
    now[0] = 60.0
    assert flood.check(1) == FloodVerdict.OK
    assert flood.check(1) == FloodVerdict.OK
    assert flood.check(1) == FloodVerdict.WARN


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("access: allowlist", "nobody could use Herald"),
        ("allowed_users: [1]", "only apply with `access: allowlist`"),
        ("access: closed", "access: Input should be 'open' or 'allowlist'"),
        ("commands_per_minute: 0", "commands_per_minute: Input should be greater than 0"),
    ],
)
def test_access_config_is_validated(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config(text)
