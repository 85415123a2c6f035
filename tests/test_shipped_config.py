"""The shipped config is alive on any day: a fresh install always has deadlines coming."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import time_machine

from bot.config import load_config
from bot.interface.handlers import deadlines_page
from bot.runtime import Runtime
from bot.services import chats
from bot.store.db import session_scope

ROOT = Path(__file__).resolve().parent.parent
CHAT = 9101


@pytest.mark.parametrize(
    "today", ["2026-12-06T21:00Z", "2027-02-14T08:00Z", "2028-07-01T12:00Z", "2031-12-31T23:30Z"]
)
async def test_fresh_install_shows_what_is_coming(today: str, database_url: str) -> None:
    config = load_config(ROOT / "config.yaml").model_copy(update={"sources": [], "calendars": []})
    with time_machine.travel(today, tick=False):
        runtime = Runtime.create(config, database_url)
        try:
            runtime.prepare_store()
            with session_scope(runtime.engine) as session:
                chats.register(session, CHAT, kind="private", title="Ada", auto_follow=True)
            page = deadlines_page(runtime, CHAT, 0).text
        finally:
            await runtime.close()
    upcoming = page.split("Recently passed", 1)[0]
    coming = re.findall(r"\(in (\d+) (day|days|h|min)", upcoming)
    # At least the weekly releases and the monthly ones are ahead, whatever the date.
    assert len(coming) >= 4, page
    assert "US weekly jobless claims" in upcoming and "US employment report" in upcoming
    # The 2025 story is kept as history, never shown as upcoming.
    assert "UK–US trade deal deadline" not in upcoming


@time_machine.travel("2026-12-06T21:00Z", tick=False)
async def test_scheduled_meetings_show_on_their_dates(database_url: str) -> None:
    config = load_config(ROOT / "config.yaml").model_copy(update={"sources": [], "calendars": []})
    runtime = Runtime.create(config, database_url)
    try:
        runtime.prepare_store()
        with session_scope(runtime.engine) as session:
            chats.register(session, CHAT, kind="private", title="Ada", auto_follow=True)
        page = deadlines_page(runtime, CHAT, 0).text
    finally:
        await runtime.close()
    assert "FOMC rate decision (Dec 2026)</b> — Wed 9 Dec 2026, 19:00 GMT (in 2 days)" in page
