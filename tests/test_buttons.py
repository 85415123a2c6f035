"""Buttons end to end: every press is answered, stale ones included; two /add previews are
decided independently."""

from __future__ import annotations

import pytest

from bot.interface.app import HeraldBot
from tests.fakebot import ServedAPI
from tests.helpers import config_text, press, press_answer, say

ADA = 7001
CONFIG = config_text()


@pytest.fixture
def herald_config() -> str:
    return CONFIG


async def test_every_press_is_answered(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    for data in ("gone:42", "dl:notanumber", "x" * 64, "pa:999999:ok", "unf:no-such-id"):
        answer = await press_answer(bot_api, ADA, data)
        assert answer, data


async def test_two_add_previews_are_decided_apart(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, "/add in 10 days noon First vote")
    first = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Confirm"]
    await say(bot_api, ADA, "/add in 12 days noon Second vote")
    second = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Confirm"]
    assert first != second
    assert "✅ Added <b>First vote</b>" in await press(bot_api, ADA, first)
    assert "✅ Added <b>Second vote</b>" in await press(bot_api, ADA, second)
    assert "already decided" not in str([c.params for c in bot_api.api.answers()])
