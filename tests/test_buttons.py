"""Buttons end to end: every press is answered, stale ones included; two /add previews are
decided independently."""

from __future__ import annotations

import pytest

from bot.interface.app import HeraldBot
from tests.fakebot import ServedAPI

ADA = 7001
TOKEN = "123456:TEST-TOKEN"
CONFIG = """
timezone: Europe/London
deadlines:
  - id: shipped-deadline
    title: Shipped deadline
    due: "2099-01-01T09:00"
"""


@pytest.fixture
def herald_config() -> str:
    return CONFIG


async def say(api: ServedAPI, chat_id: int, text: str) -> str:
    before = len(api.api.sent(chat_id))
    await api.api.push_text(chat_id, text)
    await api.api.wait_for(lambda: len(api.api.sent(chat_id)) > before)
    return str(api.api.sent(chat_id)[before].params["text"])


def edits(api: ServedAPI) -> list[str]:
    return [str(c.params["text"]) for c in api.api.calls if c.method == "editMessageText"]


async def press_edit(api: ServedAPI, data: str) -> str:
    """Press a button; return the text the message was edited to."""
    before = len(edits(api))
    await api.api.press(ADA, data)
    await api.api.wait_for(lambda: len(edits(api)) > before)
    return edits(api)[before]


async def press_answer(api: ServedAPI, data: str) -> str:
    """Press a button; return the text of the answerCallbackQuery it got ("" if none)."""
    before = len(api.api.answers())
    await api.api.press(ADA, data)
    await api.api.wait_for(lambda: len(api.api.answers()) > before)
    return str(api.api.answers()[before].params.get("text") or "")


async def test_every_press_is_answered(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    for data in ("gone:42", "dl:notanumber", "x" * 64, "pa:999999:ok", "unf:no-such-id"):
        answer = await press_answer(bot_api, data)
        assert answer, data


async def test_two_add_previews_are_decided_apart(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, "/add in 10 days noon First vote")
    first = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Confirm"]
    await say(bot_api, ADA, "/add in 12 days noon Second vote")
    second = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Confirm"]
    assert first != second
    assert "✅ Added <b>First vote</b>" in await press_edit(bot_api, first)
    assert "✅ Added <b>Second vote</b>" in await press_edit(bot_api, second)
    assert "already decided" not in str([c.params for c in bot_api.api.answers()])
