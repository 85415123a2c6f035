"""The permission matrix, end to end: every command and button that changes state, tried by a
group member, a group admin and a bot admin (commands also by an anonymous group admin), and on
another chat's items; allowed exactly where docs/security.md says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Unpack

import pytest
from sqlmodel import select

from bot.interface.app import HeraldBot
from bot.render.access import refusal
from bot.services import access
from bot.store.db import session_scope
from bot.store.models import Deadline
from tests.fakebot import ServedAPI
from tests.helpers import (
    RARE_EARTHS_TOPIC,
    ChatOptions,
    config_text,
    press_answer,
    running_herald,
    say,
)

BOT_ADMINS_ONLY = refusal(access.Refused(access.BOT_ADMINS_ONLY))
GROUP_ADMINS_ONLY = refusal(access.Refused(access.GROUP_ADMINS_ONLY))

ADMIN, MEMBER, BOSS, CARL = 9101, 9102, 9103, 9104  # BOSS is a bot admin (config `admins:`)
GROUP = -100999
CONFIG = config_text(admins=[BOSS], topics=[RARE_EARTHS_TOPIC])
SHARED = "That deadline comes from config.yaml, so it changes only there: ask Herald's admins."

# Every command that changes state, as a group would send it (the group's own deadline is
# `group-plan`; a fresh one is made for each role so /cancel always has something to cancel).
GROUP_COMMANDS = [
    "/timezone Asia/Tokyo",
    "/add tomorrow noon Vote",
    "/edit group-plan title Renamed plan",
    "/edit group-plan when tomorrow 15:00",
    "/edit group-plan remind 2d",
    "/follow shipped-deadline",
    "/remind shipped-deadline 2d",
    "/unfollow shipped-deadline",
    "/countdown group-plan",
    "/quiet 22:00-07:00",
    "/mute 1h",
    "/unmute",
    "/digest 08:00",
    "/watch rare-earths",
    '/watch "cobalt mines"',
    "/unwatch rare-earths",
    "/calendar remove 1",
    "/cancel group-plan",
]
# Buttons: the refusal is decided before anything is looked up, so any id shows it.
GROUP_BUTTONS = ["unf:shipped-deadline", "fol:shipped-deadline", "pa:1:no", "pa:1:ok"]
GROUP_BUTTONS += ["mt:rare-earths", "sz:1"]
ROLES = {  # role -> (user id, sent on behalf of the group, allowed to change the group)
    "member": (MEMBER, False, False),
    "group admin": (ADMIN, False, True),
    "anonymous admin": (MEMBER, True, True),
    "bot admin": (BOSS, False, True),
}


@pytest.fixture
async def herald(bot_api: ServedAPI, database_url: str) -> AsyncIterator[HeraldBot]:
    async with running_herald(CONFIG, database_url) as bot:
        bot_api.api.group_admins.add(ADMIN)
        yield bot


async def own_deadline(
    api: ServedAPI, chat_id: int, title: str, **kwargs: Unpack[ChatOptions]
) -> None:
    """Have the chat add and confirm a deadline of its own (by someone allowed to)."""
    await say(api, chat_id, f"/add tomorrow noon {title}", **kwargs)
    [confirm] = [d for label, d in api.api.buttons(api.api.sent(chat_id)[-1]) if label == "Confirm"]
    edits = len([c for c in api.api.calls if c.method == "editMessageText"])
    await api.api.press(
        chat_id,
        confirm,
        chat_type=kwargs.get("chat_type") or "private",
        user_id=kwargs.get("user_id"),
    )
    await api.api.wait_for(
        lambda: len([c for c in api.api.calls if c.method == "editMessageText"]) > edits
    )


def group(user_id: int, anonymous: bool = False) -> ChatOptions:
    return {"chat_type": "supergroup", "user_id": user_id, "anonymous": anonymous}


PRIVATE = ChatOptions()


@pytest.mark.parametrize("role", list(ROLES))
async def test_group_commands_are_refused_to_members_and_allowed_to_every_admin(
    herald: HeraldBot, bot_api: ServedAPI, role: str
) -> None:
    user_id, anonymous, may = ROLES[role]
    await say(bot_api, GROUP, "/start", **group(ADMIN))
    await own_deadline(bot_api, GROUP, "Group plan", **group(ADMIN))
    outcomes = {}
    for command in GROUP_COMMANDS:
        answer = await say(bot_api, GROUP, command, **group(user_id, anonymous))
        outcomes[command] = answer != GROUP_ADMINS_ONLY
    assert outcomes == dict.fromkeys(GROUP_COMMANDS, may)


@pytest.mark.parametrize("role", ["member", "group admin", "bot admin"])
async def test_group_buttons_are_refused_to_members_and_allowed_to_group_and_bot_admins(
    herald: HeraldBot, bot_api: ServedAPI, role: str
) -> None:
    user_id, _, may = ROLES[role]
    await say(bot_api, GROUP, "/start", **group(ADMIN))
    outcomes = {}
    for data in GROUP_BUTTONS:
        answer = await press_answer(bot_api, GROUP, data, chat_type="supergroup", user_id=user_id)
        outcomes[data] = answer != GROUP_ADMINS_ONLY
    assert outcomes == dict.fromkeys(GROUP_BUTTONS, may)


async def test_another_chats_items_are_out_of_reach(herald: HeraldBot, bot_api: ServedAPI) -> None:
    """Chat B's deadline and topic cannot even be seen from chat A, by anyone there."""
    await say(bot_api, CARL, "/start")
    await own_deadline(bot_api, CARL, "Carl plan")
    await say(bot_api, CARL, '/watch "cobalt mines"')
    for chat_id, kwargs in ((BOSS, PRIVATE), (GROUP, group(ADMIN))):
        await say(bot_api, chat_id, "/start", **kwargs)
        for command in ("/edit carl-plan title Mine", "/cancel carl-plan", "/follow carl-plan"):
            assert (await say(bot_api, chat_id, command, **kwargs)).startswith(
                "No deadline with id <code>carl-plan</code>"
            )
        assert "cobalt-mines" in await say(bot_api, chat_id, "/unwatch cobalt-mines", **kwargs)
    assert "cobalt-mines" in await say(bot_api, CARL, "/topics")
    with session_scope(herald.runtime.engine) as session:
        plan = session.exec(select(Deadline).where(Deadline.slug == "carl-plan")).one()
        assert (plan.title, plan.status, plan.owner_chat_id) == ("Carl plan", "active", CARL)


async def test_config_deadlines_change_only_in_config(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    for chat_id, kwargs in ((BOSS, PRIVATE), (GROUP, group(ADMIN)), (CARL, PRIVATE)):
        await say(bot_api, chat_id, "/start", **kwargs)
        for command in ("/edit shipped-deadline title Mine", "/cancel shipped-deadline"):
            assert await say(bot_api, chat_id, command, **kwargs) == SHARED
        # Following and reminders are the chat's own settings, not the deadline's.
        assert "Shipped deadline" in await say(
            bot_api, chat_id, "/remind shipped-deadline 3d", **kwargs
        )


async def test_import_is_refused_to_everyone_but_bot_admins(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    for chat_id, kwargs in ((CARL, PRIVATE), (GROUP, group(ADMIN))):
        assert await say(bot_api, chat_id, "/import", **kwargs) == BOT_ADMINS_ONLY
    assert await say(bot_api, BOSS, "/import") != BOT_ADMINS_ONLY
