"""/timeline and /export end to end: a PNG and an .ics sent through the fake Bot API."""

from __future__ import annotations

import io
import struct
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
import tornado.httpserver
import tornado.netutil
import tornado.web
from sqlmodel import col, select

from bot.domain.ssrf import GuardedTransport
from bot.interface.app import HeraldBot
from bot.render.timeline import WIDTH_PX, timeline_png
from bot.services.chat_calendars import MAX_CALENDARS_PER_CHAT, TimelineItem
from bot.store.db import session_scope
from bot.store.models import Deadline
from jobs.sources.fetch import Fetcher
from tests.fakebot import ServedAPI, Upload
from tests.helpers import LoopbackBackend, say
from tests.test_deadline_commands import ADA, BEN

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
def herald_config() -> str:
    return CONFIG


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


# --- /calendar: a chat subscribes to an ICS URL ------------------------------------------

TALKS_AT = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
VOTE_ON = (datetime.now(UTC) + timedelta(days=20)).date()
ICS = f"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//test//EN\r
BEGIN:VEVENT\r
UID:talks-1\r
DTSTART:{TALKS_AT:%Y%m%dT%H%M%SZ}\r
SUMMARY:Trade talks resume\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:vote-1\r
DTSTART;VALUE=DATE:{VOTE_ON:%Y%m%d}\r
SUMMARY:Parliament vote\r
END:VEVENT\r
END:VCALENDAR\r
""".encode()
PUBLIC = "93.184.216.34"  # a public address: the guard lets it through, the test diverts it


class _IcsHandler(tornado.web.RequestHandler):
    def initialize(self, served: dict[str, Any]) -> None:
        self.served = served

    def get(self) -> None:
        self.served["requests"] += 1
        self.set_header("Content-Type", "text/calendar")
        self.finish(self.served["body"])


@pytest.fixture
async def ics_port() -> AsyncIterator[tuple[int, dict[str, Any]]]:
    served: dict[str, Any] = {"body": ICS, "requests": 0}
    app = tornado.web.Application([(r"/cal\.ics", _IcsHandler, {"served": served})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    yield sockets[0].getsockname()[1], served
    server.stop()


def chat_deadline_titles(herald: HeraldBot, chat_id: int) -> list[tuple[str, str]]:
    with session_scope(herald.runtime.engine) as session:
        rows = session.exec(
            select(Deadline)
            .where(Deadline.owner_chat_id == chat_id, Deadline.origin == "calendar")
            .order_by(col(Deadline.due_at))
        ).all()
        return [(row.title, row.status) for row in rows]


async def test_calendar_add_list_refresh_and_remove(
    herald: HeraldBot, bot_api: ServedAPI, ics_port: tuple[int, dict[str, Any]]
) -> None:
    port, served = ics_port
    backend = LoopbackBackend()
    herald.runtime.fetcher = Fetcher(transport=GuardedTransport(inner=backend))
    url = f"http://{PUBLIC}:{port}/cal.ics"
    await say(bot_api, ADA, "/start")
    assert (await say(bot_api, ADA, "/calendar")).startswith("This chat subscribes to no calendar.")

    answer = await say(bot_api, ADA, f"/calendar add {url}")
    assert answer.startswith(f"📅 Subscribed to {url}: 2 events in the next year became")
    # (The leader's periodic refresh may also have run by now: it reads the same URL.)
    assert set(backend.pinned) == {PUBLIC} and served["requests"] >= 1
    assert chat_deadline_titles(herald, ADA) == [
        ("Trade talks resume", "active"),
        ("Parliament vote", "active"),
    ]
    listing = await say(bot_api, ADA, "/deadlines")
    assert "Trade talks resume" in listing and "Parliament vote" in listing
    # Another chat sees none of them: they are this chat's own.
    await say(bot_api, BEN, "/start")
    assert "Trade talks resume" not in await say(bot_api, BEN, "/deadlines")

    # The leader's periodic refresh applies changes: a moved event moves, a dropped one goes.
    moved = TALKS_AT + timedelta(days=1)
    served["body"] = ICS.replace(
        f"{TALKS_AT:%Y%m%dT%H%M%SZ}".encode(), f"{moved:%Y%m%dT%H%M%SZ}".encode()
    ).replace(b"BEGIN:VEVENT\r\nUID:vote-1", b"BEGIN:VEVENT\r\nUID:vote-2")
    await herald.runtime.refresh_chat_calendars()
    # Followers (this chat) are told of the move, as for any calendar.
    await bot_api.api.wait_for(
        lambda: any("Deadline moved" in str(c.params["text"]) for c in bot_api.api.sent(ADA))
    )
    moved_alert = [
        str(c.params["text"])
        for c in bot_api.api.sent(ADA)
        if "Deadline moved" in str(c.params["text"])
    ]
    assert "Trade talks resume" in moved_alert[0] and "(+1 day)" in moved_alert[0]
    await bot_api.api.wait_for(
        lambda: any(
            "Deadline cancelled</b>: Parliament vote" in str(c.params["text"])
            for c in bot_api.api.sent(ADA)
        )
    )
    titles = chat_deadline_titles(herald, ADA)
    assert ("Parliament vote", "cancelled") in titles and ("Parliament vote", "active") in titles
    assert "1. " + url + " — 2 events, read " in await say(bot_api, ADA, "/calendar")

    assert (await say(bot_api, ADA, f"/calendar add {url}")).startswith("This chat already")
    removed = await say(bot_api, ADA, "/calendar remove 1")
    assert removed == f"Removed {url}; 2 deadlines from it were withdrawn."
    assert all(status == "cancelled" for _, status in chat_deadline_titles(herald, ADA))
    assert "Trade talks resume" not in await say(bot_api, ADA, "/deadlines")


async def test_calendar_add_refuses_local_addresses_and_limits_the_count(
    herald: HeraldBot, bot_api: ServedAPI, ics_port: tuple[int, dict[str, Any]]
) -> None:
    port, served = ics_port
    herald.runtime.fetcher = Fetcher(transport=GuardedTransport(inner=LoopbackBackend()))
    await say(bot_api, ADA, "/start")
    for url in (f"http://127.0.0.1:{port}/cal.ics", "http://169.254.169.254/latest", "file:///x"):
        answer = await say(bot_api, ADA, f"/calendar add {url}")
        assert " is refused: " in answer and answer.endswith("Nothing was added.")
    assert served["requests"] == 0
    assert (await say(bot_api, ADA, "/calendar")).startswith("This chat subscribes to no calendar.")
    assert (await say(bot_api, ADA, "/calendar add")).startswith("Use /calendar add &lt;url&gt;")

    for n in range(MAX_CALENDARS_PER_CHAT):
        await say(bot_api, ADA, f"/calendar add http://{PUBLIC}:{port}/cal.ics?n={n}")
    refused = await say(bot_api, ADA, f"/calendar add http://{PUBLIC}:{port}/cal.ics?n=99")
    assert refused.startswith(f"This chat already has {MAX_CALENDARS_PER_CHAT} calendars")

    # In a group only its admins subscribe it.
    group_answer = await say(
        bot_api, -100999, f"/calendar add http://{PUBLIC}:{port}/cal.ics", chat_type="group"
    )
    assert group_answer == "Only this group's admins can change its deadlines and settings."
