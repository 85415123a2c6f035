"""/settings › Reminders sets the chat's default offsets: they apply to the deadlines it
follows and to every one it follows later, by /follow, a deep link or a /settings toggle."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from bot.interface.app import HeraldBot
from bot.services.settings import OFFSET_PRESETS
from bot.store.db import session_scope
from bot.store.models import Deadline, DeadlineSubscription
from tests.fakebot import ServedAPI
from tests.helpers import eventually, press, say

CHAT = 7301
TWO_HOURS = OFFSET_PRESETS.index(("2h", "0"))
OWN = OFFSET_PRESETS.index(None)


@pytest.fixture
def herald_config() -> str:
    deadline = "  - id: {0}\n    title: {0}\n    due: 2099-0{1}-01T12:00\n    remind: [7d, 1d]\n"
    slugs = ("by-follow", "by-link", "by-toggle", "kept")
    return "timezone: Europe/London\ndeadlines:\n" + "".join(
        deadline.format(slug, n) for n, slug in enumerate(slugs, 1)
    )


def offsets(herald: HeraldBot) -> dict[str, list[str] | None]:
    """Each followed deadline's offsets for the chat (None: the deadline's own)."""
    with session_scope(herald.runtime.engine) as session:
        rows = session.exec(
            select(Deadline.slug, DeadlineSubscription.remind)
            .join(DeadlineSubscription, col(DeadlineSubscription.deadline_id) == Deadline.id)
            .where(DeadlineSubscription.chat_id == CHAT)
        ).all()
    return {slug: list(remind) if remind is not None else None for slug, remind in rows}


def deadline_id(herald: HeraldBot, slug: str) -> int:
    with session_scope(herald.runtime.engine) as session:
        found = session.exec(select(Deadline.id).where(Deadline.slug == slug)).one()
    assert found is not None
    return found


async def test_default_offsets_apply_to_deadlines_followed_later(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, CHAT, "/start")
    for slug in ("by-follow", "by-link", "by-toggle"):
        await say(bot_api, CHAT, f"/unfollow {slug}")
    await say(bot_api, CHAT, "/settings")
    await press(bot_api, CHAT, f"st:rm:{TWO_HOURS}")
    assert offsets(herald) == {"kept": ["2h", "0"]}

    await say(bot_api, CHAT, "/follow by-follow")
    await say(bot_api, CHAT, "/start deadline_by-link")
    await press(bot_api, CHAT, f"st:dt:0:{deadline_id(herald, 'by-toggle')}")
    await eventually(lambda: len(offsets(herald)) == 4)
    assert set(map(tuple, offsets(herald).values())) == {("2h", "0")}  # type: ignore[arg-type]
    details = await say(bot_api, CHAT, "/deadline by-link")
    assert "Reminders (your offsets): 2 hours before, and when it falls due" in details


async def test_each_deadlines_own_offsets_stay_own_for_later_follows(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, CHAT, "/start")
    await say(bot_api, CHAT, "/settings")
    await press(bot_api, CHAT, f"st:rm:{TWO_HOURS}")
    await press(bot_api, CHAT, f"st:rm:{OWN}")
    await say(bot_api, CHAT, "/unfollow by-follow")
    await say(bot_api, CHAT, "/follow by-follow")
    assert set(offsets(herald).values()) == {None}
    details = await say(bot_api, CHAT, "/deadline by-follow")
    assert "Reminders (default offsets): 7 days, 1 day before, and when it falls due" in details
