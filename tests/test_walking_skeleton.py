"""End to end through a fake Bot API on 127.0.0.1: /start, /deadlines, and one reminder pushed once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlmodel import select

from bot.config import Config, parse_config
from bot.interface.app import HeraldBot, build_application
from bot.runtime import Runtime
from bot.store.db import session_scope
from bot.store.models import Alert
from tests.fakebot import ServedAPI

CHAT = 5551
TOKEN = "123456:TEST-TOKEN"


def config_with_deadline(due: datetime) -> Config:
    return parse_config(
        f"""
timezone: Europe/London
deadlines:
  - id: truce-expiry
    title: Tariff truce expiry
    due: "{due.strftime("%Y-%m-%dT%H:%M:%S")}"
    timezone: UTC
    remind: [0]
  - id: uk-us-trade-deal
    title: UK–US trade deal deadline
    due: 2025-07-09
topics:
  - id: rare-earths
    title: Rare earths
    query: '"rare earth"'
"""
    )


async def start_herald(config: Config, database_url: str) -> HeraldBot:
    runtime = Runtime.create(config, database_url)
    herald = HeraldBot(runtime, build_application(runtime, TOKEN))
    await herald.start(polling=True)
    return herald


def texts(served: ServedAPI, chat_id: int) -> list[str]:
    return [str(c.params["text"]) for c in served.api.sent(chat_id)]


async def test_start_follows_the_config_then_deadlines_lists_upcoming_before_passed(
    bot_api: ServedAPI, database_url: str
) -> None:
    due = datetime.now(UTC) + timedelta(days=3, hours=2)
    herald = await start_herald(config_with_deadline(due), database_url)
    try:
        await bot_api.api.push_text(CHAT, "/start")
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 1)
        assert "You now follow 2 deadlines and 1 topic from" in texts(bot_api, CHAT)[0]

        await bot_api.api.push_text(CHAT, "/deadlines")
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 2)
        listing = texts(bot_api, CHAT)[1]
        assert "Tariff truce expiry" in listing
        assert "(in 3 days)" in listing
        assert "Recently passed" in listing
        assert "UK–US trade deal deadline</s> — Wed 9 Jul 2025 (passed," in listing
        assert listing.index("Tariff truce expiry") < listing.index("Recently passed")

        await bot_api.api.push_text(CHAT, "/help")
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 3)
        assert "/deadlines" in texts(bot_api, CHAT)[2]
        commands = [c for c in bot_api.api.calls if c.method == "setMyCommands"]
        assert {"start", "help", "deadlines"} <= {
            c["command"] for c in commands[0].params["commands"]
        }
    finally:
        await herald.stop()


async def test_reminder_pushed_on_time_exactly_once_across_restarts(
    bot_api: ServedAPI, database_url: str
) -> None:
    """Started, stopped, started again an hour before the deadline: the push comes at the due
    time (not before, at most a few seconds after), once, and a third start sends nothing."""
    due = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    config = config_with_deadline(due)
    with time_machine.travel(due - timedelta(days=1), tick=True) as clock:
        herald = await start_herald(config, database_url)
        try:
            await bot_api.api.push_text(CHAT, "/start")
            await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 1)
        finally:
            await herald.stop()

        clock.move_to(due - timedelta(hours=1))  # the restart, well before the deadline
        herald = await start_herald(config, database_url)
        try:
            [job] = [j for j in herald.runtime.scheduler.get_jobs() if j.id.startswith("deadline:")]
            assert job.next_run_time == due
            assert texts(bot_api, CHAT)[1:] == []
            clock.move_to(due - timedelta(seconds=1))
            herald.runtime.scheduler.wakeup()  # its timer was set an hour away
            await bot_api.api.wait_for(
                lambda: any("Deadline reached" in t for t in texts(bot_api, CHAT)), 10
            )
            push = next(
                c for c in bot_api.api.sent(CHAT) if "Deadline reached" in str(c.params["text"])
            )
            assert due.timestamp() <= push.at <= due.timestamp() + 3.0
            assert "Tariff truce expiry" in str(push.params["text"])
        finally:
            await herald.stop()

        clock.move_to(due + timedelta(minutes=10))  # restart after: nothing is sent again
        herald = await start_herald(config, database_url)
        try:
            assert await herald.delivery.deliver_due() == 0
        finally:
            await herald.stop()
    pushes = [t for t in texts(bot_api, CHAT) if "Deadline reached" in t]
    assert len(pushes) == 1
    engine = Runtime.create(config, database_url).engine
    with session_scope(engine) as session:
        alerts = session.exec(select(Alert)).all()
        assert [(a.kind, a.status, a.attempts) for a in alerts] == [("deadline_reached", "sent", 1)]
    engine.dispose()


async def test_handler_error_is_reported_without_traceback(
    bot_api: ServedAPI, database_url: str
) -> None:
    due = datetime.now(UTC) + timedelta(days=1)
    herald = await start_herald(config_with_deadline(due), database_url)
    try:
        herald.runtime.engine.dispose()
        await bot_api.api.push_text(CHAT, "/start")
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 1)
        broken = herald.runtime.engine
        herald.runtime.engine = Runtime.create(
            config_with_deadline(due), "sqlite:////nonexistent/dir/x.db"
        ).engine
        await bot_api.api.push_text(CHAT, "/deadlines")
        await bot_api.api.wait_for(lambda: len(bot_api.api.sent(CHAT)) == 2)
        answer = texts(bot_api, CHAT)[1]
        assert answer == "Sorry, something went wrong on our side. Please try again in a moment."
        herald.runtime.engine = broken
    finally:
        await herald.stop()
