"""The whole application: an alert pushed with its Snooze button, snoozed, then a blocked chat."""

from __future__ import annotations

from datetime import timedelta

from bot.config import parse_config
from bot.interface.app import HeraldBot, build_application
from bot.runtime import Runtime
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import session_scope
from bot.store.models import Chat, utcnow
from tests.fakebot import ServedAPI
from tests.helpers import outbox

CHAT = 6001
TOKEN = "123456:TEST-TOKEN"
CONFIG = "timezone: Europe/London\n"
REMINDER = {
    "deadline_id": 1,
    "slug": "uk-us-trade-deal",
    "title": "UK–US trade deal deadline",
    "due_at": "2026-12-09T17:00:00+00:00",
    "timezone": "Europe/London",
    "all_day": False,
    "url": "https://example.org/deal",
    "offset": "1d",
    "late": False,
}


def push(herald: HeraldBot, key: str) -> None:
    """What a job does: write the alert row, then wake the worker."""
    with session_scope(herald.runtime.engine) as session:
        enqueue(session, [NewAlert(CHAT, key, "reminder", REMINDER)])
    herald.runtime.outbox.notify()


async def test_push_snooze_block_and_come_back(bot_api: ServedAPI, database_url: str) -> None:
    runtime = Runtime.create(parse_config(CONFIG), database_url)
    herald = HeraldBot(runtime, build_application(runtime, TOKEN))
    await herald.start(polling=True)
    api = bot_api.api
    try:
        await api.push_text(CHAT, "/start")
        await api.wait_for(lambda: len(api.sent(CHAT)) == 1)

        push(herald, "r1")
        await api.wait_for(lambda: len(api.sent(CHAT)) == 2)
        reminder = api.sent(CHAT)[1]
        assert str(reminder.params["text"]).startswith("⏰ <b>Reminder</b> (1 day before): ")
        [buttons] = reminder.params["reply_markup"]["inline_keyboard"]
        assert [b["text"] for b in buttons] == ["Open", "Snooze 1 h", "Unfollow"]
        await api.wait_for(lambda: outbox(herald.runtime.engine)[0].status == "sent")
        [sent] = outbox(herald.runtime.engine)
        assert (sent.status, sent.message_id) == ("sent", 10_003)

        before = utcnow()
        await api.press(CHAT, buttons[1]["callback_data"], message_id=10_003)
        await api.wait_for(lambda: any(c.method == "answerCallbackQuery" for c in api.calls))
        snoozed = outbox(herald.runtime.engine)[1]
        assert (snoozed.dedup_key, snoozed.status) == (f"sz:{sent.id}", "pending")
        assert timedelta(minutes=59) < snoozed.not_before - before < timedelta(minutes=61)

        api.fail_next.append(
            (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"})
        )
        push(herald, "r2")
        await api.wait_for(lambda: len(api.sent(CHAT)) == 3)
        await api.wait_for(lambda: outbox(herald.runtime.engine)[2].status == "cancelled")
        assert [a.status for a in outbox(herald.runtime.engine)] == [
            "sent",
            "cancelled",
            "cancelled",
        ]
        with session_scope(runtime.engine) as session:
            chat = session.get(Chat, CHAT)
            assert chat is not None and not chat.active

        await api.push_text(CHAT, "/start")
        await api.wait_for(lambda: len(api.sent(CHAT)) == 4)
        assert str(api.sent(CHAT)[3].params["text"]).startswith("Welcome back!")
        push(herald, "r3")
        await api.wait_for(lambda: outbox(herald.runtime.engine)[3].status == "sent")
        assert len(api.sent(CHAT)) == 5
    finally:
        await herald.stop()
