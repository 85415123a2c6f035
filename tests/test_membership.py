"""Blocking Herald stops a chat's alerts at once; unblocking resumes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store.db import session_scope
from bot.store.models import Chat
from tests.fakebot import ServedAPI
from tests.test_walking_skeleton import CHAT, config_with_deadline, start_herald


def active(herald_engine: object, chat_id: int) -> tuple[bool, str | None]:
    with session_scope(herald_engine) as session:  # type: ignore[arg-type]
        chat = session.get(Chat, chat_id)
        assert chat is not None
        return chat.active, chat.inactive_reason


async def test_blocking_and_unblocking_the_bot(bot_api: ServedAPI, database_url: str) -> None:
    herald = await start_herald(
        config_with_deadline(datetime.now(UTC) + timedelta(days=2)), database_url
    )
    try:
        await bot_api.api.push_text(CHAT, "/start")
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 1)
        await bot_api.api.push_membership(CHAT, "kicked")
        await bot_api.api.push_text(CHAT, "/help")  # updates are handled in order
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 2)
        assert active(herald.runtime.engine, CHAT) == (False, "bot kicked")
        await bot_api.api.push_membership(CHAT, "member")
        await bot_api.api.push_text(CHAT, "/help")
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 3)
        assert active(herald.runtime.engine, CHAT) == (True, None)
    finally:
        await herald.stop()
