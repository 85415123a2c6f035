"""In groups, /help addresses every command to Herald (`/deadlines@herald_test_bot`): with
several bots in a group Telegram hands a bare `/help` to all of them, and Herald answers only
commands addressed to it there. Command menus are set per language as well."""

from __future__ import annotations

import re

from bot.interface.app import HeraldBot
from tests.fakebot import ServedAPI
from tests.helpers import say

GROUP, ADA = -100777, 7201
COMMAND = re.compile(r"<code>(/[a-z]+(?:@\w+)?)")


async def test_group_help_addresses_each_command_to_herald(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    text = await say(bot_api, GROUP, "/help@herald_test_bot", chat_type="supergroup", user_id=ADA)
    commands = COMMAND.findall(text)
    assert "/deadlines@herald_test_bot" in commands
    assert commands and all(c.endswith("@herald_test_bot") for c in commands), commands


async def test_group_help_of_one_command_addresses_its_examples(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    text = await say(bot_api, GROUP, "/help@herald_test_bot quiet", chat_type="group", user_id=ADA)
    assert "<code>/quiet@herald_test_bot 10pm-7am</code>" in text
    assert "<code>/quiet@herald_test_bot off</code>" in text


async def test_private_help_keeps_bare_commands(bot_api: ServedAPI, herald: HeraldBot) -> None:
    text = await say(bot_api, ADA, "/help")
    commands = COMMAND.findall(text)
    assert "/deadlines" in commands and not any("@" in c for c in commands)
    assert "<code>/quiet 10pm-7am</code>" in await say(bot_api, ADA, "/help quiet")


async def test_command_menus_are_set_in_every_language(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await bot_api.api.wait_for(
        lambda: any(
            c.method == "setMyCommands" and c.params.get("language_code") == "de"
            for c in bot_api.api.calls
        )
    )
    menus = {
        (c.params.get("language_code"), (c.params.get("scope") or {}).get("type")): {
            cmd["command"]: cmd["description"] for cmd in c.params["commands"]
        }
        for c in bot_api.api.calls
        if c.method == "setMyCommands"
    }
    english, german = menus[(None, "all_private_chats")], menus[("de", "all_private_chats")]
    assert english.keys() == german.keys()
    assert english["timezone"] == "show times in another zone"
    assert german["timezone"] == "Zeiten in einer anderen Zeitzone anzeigen"
