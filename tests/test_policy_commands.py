"""/quiet, /mute, /unmute, /digest, /status and the Snooze button, through the real application."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.config import parse_config
from bot.interface.app import HeraldBot
from bot.render.common import format_moment
from bot.runtime import Runtime
from bot.services.outbox import NewAlert, enqueue
from bot.services.policy import snooze
from bot.store.db import session_scope
from bot.store.models import Alert, Chat, TopicSubscription, utcnow
from tests.fakebot import ServedAPI
from tests.helpers import RARE_EARTHS_TOPIC, config_text, say

LONDON = "Europe/London"

CHAT = 7001
GROUP = -7002
ADMIN = 99
MEMBER = 55
CONFIG = config_text(admins=[ADMIN], deadlines=(), topics=[RARE_EARTHS_TOPIC])


@pytest.fixture
def herald_config() -> str:
    return CONFIG


def stored(herald: HeraldBot, chat_id: int) -> Chat:
    with session_scope(herald.runtime.engine) as session:
        chat = session.get(Chat, chat_id)
        assert chat is not None
        return chat


async def test_quiet_hours_set_shown_refused_when_malformed_and_cleared(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, CHAT, "/start")
    assert await say(bot_api, CHAT, "/quiet") == (
        "No quiet hours are set: alerts arrive as they come. Set some with /quiet 22:00-07:00."
    )
    assert await say(bot_api, CHAT, "/quiet 22:00-07:00") == (
        "🌙 Quiet hours are now <b>22:00-07:00</b> (Europe/London time). "
        "Reminders and news wait until they end; a deadline within the hour still arrives."
    )
    assert (stored(herald, CHAT).quiet_start, stored(herald, CHAT).quiet_end) == ("22:00", "07:00")
    assert await say(bot_api, CHAT, "/quiet 25:00-07:00") == (
        "25:00 is not a time of day. Quiet hours look like 22:00-07:00 or 10pm-7am "
        '(start-end, your time), or "off".'
    )
    assert await say(bot_api, CHAT, "/quiet tonight") == (
        '"tonight" is not a time range. Quiet hours look like 22:00-07:00 or 10pm-7am '
        '(start-end, your time), or "off".'
    )
    assert stored(herald, CHAT).quiet_start == "22:00"
    # The forms /add reads work here too.
    assert "<b>23:30-06:00</b>" in await say(bot_api, CHAT, "/quiet 11:30pm to 6am")
    assert "<b>22:00-07:00</b>" in await say(bot_api, CHAT, "/quiet 10pm-7am")
    assert (stored(herald, CHAT).quiet_start, stored(herald, CHAT).quiet_end) == ("22:00", "07:00")
    assert (await say(bot_api, CHAT, "/quiet off")).startswith("Quiet hours are off")
    assert stored(herald, CHAT).quiet_start is None


async def test_mute_and_unmute_the_chat_and_a_topic(bot_api: ServedAPI, herald: HeraldBot) -> None:
    await say(bot_api, CHAT, "/start")
    before = utcnow()
    answer = await say(bot_api, CHAT, "/mute 3h")
    assert answer.startswith("🔕 Muted until <b>")
    muted_until = stored(herald, CHAT).muted_until
    assert muted_until is not None
    assert timedelta(hours=3) <= muted_until - before < timedelta(hours=3, seconds=5)
    assert await say(bot_api, CHAT, "/mute soon") == (
        '"soon" is not a duration. '
        "Give a duration like 30m, 3h, 2 hours, 2d, 1w or 1h30m (at most 366 days)."
    )
    assert stored(herald, CHAT).muted_until == muted_until
    assert (await say(bot_api, CHAT, "/unmute")).startswith("🔔 Unmuted: alerts arrive again.")
    assert stored(herald, CHAT).muted_until is None

    answer = await say(bot_api, CHAT, "/mute topic rare-earths 2d")
    assert answer.startswith("🔕 News on <code>rare-earths</code> is muted for 2 days, until <b>")
    with session_scope(herald.runtime.engine) as session:
        sub = session.exec(select(TopicSubscription)).one()
        assert sub.muted_until is not None and sub.muted_until - before >= timedelta(days=2)
    # Without a duration it says how long, and shows the year (a year ahead is not this year).
    answer = await say(bot_api, CHAT, "/mute topic rare-earths")
    next_year = (utcnow() + timedelta(days=366)).year
    assert "is muted for 366 days (no duration given; " in answer
    assert f" {next_year}, " in answer
    before = utcnow()
    assert (await say(bot_api, CHAT, "/mute 2 hours")).startswith("🔕 Muted until <b>")
    until = stored(herald, CHAT).muted_until
    assert until is not None and timedelta(hours=2) <= until - before < timedelta(
        hours=2, seconds=5
    )
    assert await say(bot_api, CHAT, "/mute topic chips") == (
        "This chat does not follow a topic <code>chips</code>. See /topics for the ids."
    )
    assert await say(bot_api, CHAT, "/unmute topic rare-earths") == (
        "🔔 News on <code>rare-earths</code> arrives again."
    )
    assert await say(bot_api, CHAT, "/unmute everything") == (
        "Use /unmute, or /unmute topic rare-earths."
    )


async def test_digest_and_group_admin_rule(bot_api: ServedAPI, herald: HeraldBot) -> None:
    bot_api.api.group_admins.add(ADMIN - 1)
    await say(bot_api, GROUP, "/start", user_id=ADMIN - 1, group=True)
    assert await say(bot_api, GROUP, "/digest hourly", user_id=MEMBER, group=True) == (
        "Only this group's admins can change its deadlines and settings."
    )
    assert stored(herald, GROUP).digest == "off"
    assert await say(bot_api, GROUP, "/digest", user_id=MEMBER, group=True) == (
        "No digest is set: news arrives as it comes. Try /digest daily 08:00."
    )
    answer = await say(bot_api, GROUP, "/digest daily 7:30", user_id=ADMIN - 1, group=True)
    assert answer.startswith("🗞 Your news digest is now <b>daily 07:30</b> (Europe/London time)")
    assert stored(herald, GROUP).digest == "daily 07:30"
    assert await say(bot_api, GROUP, "/digest weekly", user_id=ADMIN - 1, group=True) == (
        '"weekly" is not a digest setting. '
        'Digest is "off", "hourly" or "daily" with a time, e.g. daily 08:00 or daily 8am.'
    )


async def test_status_is_for_herald_admins_only(bot_api: ServedAPI, herald: HeraldBot) -> None:
    await say(bot_api, CHAT, "/start")
    with session_scope(herald.runtime.engine) as session:
        session.add(Chat(id=8001, active=False, inactive_reason="bot was blocked by the user"))
        enqueue(session, [NewAlert(CHAT, "f", "reminder", {}, not_before=utcnow() + timedelta(1))])
        session.execute(Alert.__table__.update().values(status="failed", last_error="Bad <x>"))  # type: ignore[attr-defined]
    assert (
        await say(bot_api, CHAT, "/status", user_id=MEMBER) == "Only Herald admins can see /status."
    )
    report = await say(bot_api, ADMIN, "/status")
    assert report.splitlines()[:4] == [
        "<b>Delivery status</b>",
        "Alerts: pending 0 · sending 0 · sent 0 · failed 1 · cancelled 0",
        "",
        "<b>Last failures</b> (1 in all)",
    ]
    assert "• #1 reminder to <code>7001</code>: Bad &lt;x&gt;" in report
    assert report.endswith(
        "<b>Inactive chats</b> (1)\n• <code>8001</code>: bot was blocked by the user"
    )


async def test_snooze_button_schedules_one_copy_of_the_reminder_an_hour_later(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, CHAT, "/start")
    with session_scope(herald.runtime.engine) as session:
        enqueue(
            session,
            [NewAlert(CHAT, "r", "reminder", {"slug": "x"}, not_before=utcnow() + timedelta(1))],
        )
        alert_id = session.exec(select(Alert.id)).one()
    before = utcnow()
    await bot_api.api.press(CHAT, f"sz:{alert_id}")
    await bot_api.api.wait_for(
        lambda: any(c.method == "answerCallbackQuery" for c in bot_api.api.calls), 5
    )
    after = utcnow()
    answer = next(c for c in bot_api.api.calls if c.method == "answerCallbackQuery")
    assert str(answer.params["text"]).startswith("Snoozed: I'll remind you again at ")
    with session_scope(herald.runtime.engine) as session:
        copy = session.exec(select(Alert).where(Alert.dedup_key == f"sz:{alert_id}")).one()
    assert copy.kind == "reminder" and copy.payload == {"slug": "x"}
    # An hour after the press: between an hour after it was sent and an hour after it was answered.
    assert before + timedelta(hours=1) <= copy.not_before <= after + timedelta(hours=1)

    await bot_api.api.press(CHAT, f"sz:{alert_id}")  # pressed again: still one copy
    await bot_api.api.wait_for(
        lambda: sum(c.method == "answerCallbackQuery" for c in bot_api.api.calls) == 2, 5
    )
    second = [c for c in bot_api.api.calls if c.method == "answerCallbackQuery"][1]
    assert second.params["text"] == answer.params["text"]
    with session_scope(herald.runtime.engine) as session:
        keys = session.exec(select(Alert.dedup_key).order_by(Alert.id)).all()  # type: ignore[arg-type]
    assert keys == ["r", f"sz:{alert_id}"]


def test_snooze_is_once_per_message_and_only_in_its_own_chat(database_url: str) -> None:
    runtime = Runtime.create(parse_config(CONFIG), database_url)
    runtime.prepare_store()
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    with session_scope(runtime.engine) as session:
        session.add(Chat(id=CHAT))
        enqueue(session, [NewAlert(CHAT, "r", "reminder", {"slug": "x"})])
    first = snooze(runtime.engine, CHAT, 1, now)
    again = snooze(runtime.engine, CHAT, 1, now + timedelta(minutes=5))
    assert first is not None and (first.created, first.until) == (True, now + timedelta(hours=1))
    assert again is not None and (again.created, again.until) == (False, now + timedelta(hours=1))
    assert snooze(runtime.engine, CHAT + 1, 1, now) is None
    assert snooze(runtime.engine, CHAT, 999, now) is None
    with session_scope(runtime.engine) as session:
        rows = session.exec(select(Alert).order_by(Alert.id)).all()  # type: ignore[arg-type]
        assert [(a.chat_id, a.dedup_key, a.status) for a in rows] == [
            (CHAT, "r", "pending"),
            (CHAT, "sz:1", "pending"),
        ]
        assert rows[1].not_before == now + timedelta(hours=1)
        assert (rows[1].kind, rows[1].payload) == ("reminder", {"slug": "x"})
    runtime.engine.dispose()


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        ("2026-12-06T22:00Z", "22:00 GMT today"),
        ("2026-12-07T09:00Z", "Mon 7 Dec, 09:00 GMT"),
        ("2027-12-07T09:00Z", "Tue 7 Dec 2027, 09:00 GMT"),
        ("2027-06-01T09:00Z", "Tue 1 Jun 2027, 10:00 BST"),
    ],
)
def test_times_show_their_date_unless_today_and_their_year_unless_this_year(
    moment: str, shown: str
) -> None:
    now = datetime.fromisoformat("2026-12-06T21:00+00:00")
    assert format_moment(datetime.fromisoformat(moment.replace("Z", "+00:00")), LONDON, now) == (
        shown
    )
