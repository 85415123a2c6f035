"""/timeline and /export end to end: a PNG and an .ics sent through the fake Bot API."""

from __future__ import annotations

import io
import struct
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from bot.config import parse_config
from bot.interface.app import HeraldBot, build_application
from bot.render.timeline import WIDTH_PX, TimelineItem, timeline_png
from bot.runtime import Runtime
from tests.fakebot import ServedAPI, Upload
from tests.test_deadline_commands import ADA, BEN, TOKEN, say

CONFIG = """
timezone: Europe/London
deadlines:
  - id: far-summit
    title: Far summit
    due: "2099-01-01T09:00"
  - id: near-vote
    title: Near vote
    due: "2098-06-01"
  - id: old-truce
    title: Old truce
    due: "2020-01-01"
"""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def herald(bot_api: ServedAPI, database_url: str) -> AsyncIterator[HeraldBot]:
    runtime = Runtime.create(parse_config(CONFIG), database_url)
    bot = HeraldBot(runtime, build_application(runtime, TOKEN, rate_limiter=False))
    await bot.start(polling=True)
    try:
        yield bot
    finally:
        await bot.stop()


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def upload(api: ServedAPI, chat_id: int, command: str, method: str) -> dict[str, object]:
    before = len(api.api.uploads(method, chat_id))
    await api.api.push_text(chat_id, command)
    await api.api.wait_for(lambda: len(api.api.uploads(method, chat_id)) > before)
    return api.api.uploads(method, chat_id)[before].params


async def test_timeline_sends_a_phone_sized_png(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, ADA, "/start")
    params = await upload(bot_api, ADA, "/timeline", "sendPhoto")
    photo = params["photo"]
    assert isinstance(photo, Upload)
    width, height = png_size(photo.body)
    assert width >= 1080 and height > 0
    assert (
        params["caption"] == "2 upcoming deadlines, times in Europe/London. /deadlines lists them."
    )


async def test_empty_timeline_says_so_in_text(herald: HeraldBot, bot_api: ServedAPI) -> None:
    await say(bot_api, BEN, "/start")
    await say(bot_api, BEN, "/unfollow far-summit")
    await say(bot_api, BEN, "/unfollow near-vote")
    answer = await say(bot_api, BEN, "/timeline")
    assert answer.startswith("Nothing upcoming on your timeline")
    assert bot_api.api.uploads("sendPhoto", BEN) == []


async def test_export_sends_an_ics_with_the_chats_deadlines(
    herald: HeraldBot, bot_api: ServedAPI
) -> None:
    await say(bot_api, ADA, "/start")
    await say(bot_api, ADA, "/unfollow near-vote")
    await say(bot_api, ADA, "/add in 3 days 17:00 Comment period closes")
    confirm = dict(bot_api.api.buttons(bot_api.api.sent(ADA)[-1]))["Confirm"]
    await bot_api.api.press(ADA, confirm)
    await bot_api.api.wait_for(
        lambda: any(c.method == "editMessageText" for c in bot_api.api.calls)
    )
    params = await upload(bot_api, ADA, "/export", "sendDocument")
    document = params["document"]
    assert isinstance(document, Upload)
    assert document.filename == "herald-deadlines.ics"
    calendar = icalendar.Calendar.from_ical(document.body)
    events = [c for c in calendar.walk("VEVENT")]
    assert sorted(str(e["SUMMARY"]) for e in events) == ["Comment period closes", "Far summit"]
    assert all(e.walk("VALARM") for e in events if str(e["SUMMARY"]) == "Far summit")
    assert str(params["caption"]).startswith("2 deadlines with their reminders.")


def test_timeline_of_fifty_deadlines_renders_quickly_enough_to_record() -> None:
    """Draws 50 rows and records the time taken (not asserted: the machine may be loaded)."""
    now = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)
    items = [
        TimelineItem(
            f"Deadline {i} with a fairly long title", now + timedelta(days=3 * i + 1), i % 2 == 0
        )
        for i in range(50)
    ]
    started, cpu = time.perf_counter(), time.process_time()
    png = timeline_png(items, "Europe/London", now)
    print(
        f"timeline of 50: {time.perf_counter() - started:.2f} s wall, "
        f"{time.process_time() - cpu:.2f} s CPU, {len(png):,} bytes"
    )
    width, height = png_size(io.BytesIO(png).getvalue())
    assert width == WIDTH_PX and height > 50 * 60
