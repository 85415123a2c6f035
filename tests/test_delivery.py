"""The delivery worker against a fake Bot API: every send outcome, pacing order, and chat policy."""

from __future__ import annotations

import itertools
import random
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from telegram import Bot
from telegram.error import RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.config import DeliveryConfig
from bot.delivery import (
    JITTER_MARGIN,
    Candidate,
    ChatPolicy,
    DeliveryWorker,
    hold,
    outcome_of,
    with_snooze,
)
from bot.delivery_policy.pacing import Pacer
from bot.delivery_policy.quiet import Digest, DigestKind, QuietHours
from bot.render import Button, Rendered
from bot.services import chats
from bot.services.outbox import NewAlert, OutboxSignal, enqueue
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Alert, Chat, Topic, TopicSubscription, utcnow
from tests.fake_limited_api import LimitedBotAPI
from tests.fakebot import serve
from tests.helpers import FakeClock, outbox

# PTB itself warns while building a RetryAfter whose retry_after is a whole number.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

PRIVATE = 1001
OTHER = 1002
GROUP = -2001
FAST = DeliveryConfig(global_per_second=1000, private_interval_s=0, group_window_s=0)


def reminder(slug: str = "truce", title: str = "Tariff truce expiry") -> dict[str, Any]:
    return {
        "deadline_id": 1,
        "slug": slug,
        "title": title,
        "due_at": "2026-12-01T12:00:00+00:00",
        "timezone": "UTC",
        "all_day": False,
        "url": "https://example.org/truce",
        "offset": "1d",
        "late": False,
    }


def story(n: int, topic: str = "rare-earths") -> dict[str, Any]:
    return {
        "item_id": n,
        "title": f"Story {n}",
        "link": f"https://news.example/{n}",
        "source": "Wire",
        "published_at": None,
        "topic_slug": topic,
        "topic_title": "Rare earths",
        "more_sources": [],
        "deadline": None,
    }


@dataclass
class Env:
    api: LimitedBotAPI
    engine: Engine
    bot: Bot
    make: Callable[..., DeliveryWorker]

    def add(self, *alerts: NewAlert) -> None:
        with session_scope(self.engine) as session:
            enqueue(session, list(alerts))

    def alerts(self) -> list[Alert]:
        return outbox(self.engine)

    def chat(self, chat_id: int) -> Chat | None:
        with session_scope(self.engine) as session:
            return session.get(Chat, chat_id)

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [str(c.params["text"]) for c in self.api.sent(chat_id)]


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test: migrating takes half a second."""
    path = tmp_path_factory.mktemp("template") / "herald.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with engine.connect() as connection:  # outside a transaction, on the driver itself
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
async def env(database_url: str, migrated_sqlite: Path) -> AsyncIterator[Env]:
    api = LimitedBotAPI(limits=False)
    served = serve(api)
    if database_url.startswith("sqlite:///"):
        shutil.copyfile(migrated_sqlite, database_url.removeprefix("sqlite:///"))
    engine = make_engine(database_url)
    if not database_url.startswith("sqlite:///"):
        migrate(engine)
    with session_scope(engine) as session:
        for chat_id in (PRIVATE, OTHER, GROUP):
            session.add(Chat(id=chat_id, kind="private" if chat_id > 0 else "group"))
    bot = Bot("1:T", base_url=served.base_url, request=HTTPXRequest(read_timeout=0.5))
    await bot.initialize()

    def make(
        settings: DeliveryConfig = FAST,
        clock: Callable[[], datetime] = utcnow,
        pacer: Pacer | None = None,
    ) -> DeliveryWorker:
        return DeliveryWorker(
            engine,
            bot,
            OutboxSignal(),
            settings,
            "Europe/London",
            clock,
            pacer=pacer,
            rng=random.Random(7),
        )

    yield Env(api, engine, bot, make)
    await bot.shutdown()
    served.server.stop()
    engine.dispose()


def on_fake_clock(env: Env, settings: DeliveryConfig = FAST) -> tuple[DeliveryWorker, FakeClock]:
    """A worker whose pacing waits, and the fake API's limits, run on one fake clock."""
    clock = FakeClock()
    pacer = Pacer(
        settings.global_per_second * JITTER_MARGIN,
        settings.private_interval_s,
        settings.group_per_minute,
        clock,
    )
    worker = env.make(settings, pacer=pacer)
    worker._sleep = clock.sleep  # type: ignore[method-assign]
    env.api.clock = clock
    return worker, clock


async def run_until(
    worker: DeliveryWorker, clock: FakeClock, done: Callable[[], bool], passes: int = 50
) -> None:
    """What the worker's loop does, on the fake clock: a pass, or the idle wait it chose."""
    for _ in range(passes):
        if done():
            return
        if not await worker.deliver_due():
            await clock.sleep(max(worker._idle_s, 0.001))
    raise AssertionError("not done after {passes} passes")


async def drain(worker: DeliveryWorker, passes: int = 20) -> int:
    total = 0
    for _ in range(passes):
        total += await worker.deliver_due()
    return total


def fail(status: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


async def test_a_reminder_is_sent_once_marked_with_its_message_and_gets_a_snooze_button(
    env: Env,
) -> None:
    env.add(NewAlert(PRIVATE, "r1", "reminder", reminder()))
    worker = env.make()
    assert await worker.deliver_due() == 1
    assert await worker.deliver_due() == 0
    [call] = env.api.sent(PRIVATE)
    assert call.params["parse_mode"] == "HTML"
    [row] = call.params["reply_markup"]["inline_keyboard"]
    [alert] = env.alerts()
    assert [b["text"] for b in row] == ["Open", "Snooze 1 h", "Unfollow"]
    assert row[1]["callback_data"] == f"sz:{alert.id}"
    assert (alert.status, alert.attempts, alert.last_error) == ("sent", 1, None)
    assert alert.message_id is not None and alert.message_id > 10_000


async def test_urgent_alerts_go_first_and_a_backlog_does_not_hold_up_other_chats(env: Env) -> None:
    env.add(*[NewAlert(PRIVATE, f"n{i}", "reminder", reminder(title=f"B{i}")) for i in range(25)])
    env.add(NewAlert(OTHER, "o1", "reminder", reminder(title="Other chat")))
    env.add(NewAlert(GROUP, "u1", "deadline_reached", reminder(title="Urgent"), priority=0))
    await drain(env.make(), 30)
    titles = [t.split(": ", 1)[1].split("\n")[0] for t in env.texts()]
    assert titles[0].endswith(">Urgent</a>")
    assert any("Other chat" in t for t in titles[:3])
    assert len(titles) == 27


async def test_429_pauses_everything_exactly_retry_after_and_does_not_count_an_attempt(
    env: Env,
) -> None:
    env.api.fail_next.append(fail(429, "Too Many Requests: retry after 1", retry_after=1))
    env.add(NewAlert(PRIVATE, "r1", "reminder", reminder()))
    worker, clock = on_fake_clock(env)
    refused_at = clock.now
    assert await worker.deliver_due() == 0
    [alert] = env.alerts()
    assert (alert.status, alert.attempts) == ("pending", 0)
    assert worker.pacer.next_allowed(OTHER) == pytest.approx(refused_at + 1.0, abs=1e-6)
    assert await worker.deliver_due() == 1
    assert env.api.accepted_at == [pytest.approx(refused_at + 1.0, abs=1e-6)]
    assert len(env.api.sent(PRIVATE)) == 2  # the refused try, then the one sent
    assert [(a.status, a.attempts) for a in env.alerts()] == [("sent", 1)]


async def test_server_errors_back_off_then_fail_after_max_attempts(env: Env) -> None:
    env.api.fail_next.extend([fail(502, "Bad Gateway")] * 2)
    env.add(NewAlert(PRIVATE, "r1", "reminder", reminder()))
    now = [utcnow()]
    worker = env.make(DeliveryConfig(private_interval_s=0, max_attempts=2), lambda: now[0])
    await worker.deliver_due()
    [alert] = env.alerts()
    assert (alert.status, alert.attempts) == ("pending", 1)
    assert alert.last_error is not None and alert.last_error.startswith("backoff: retry in")
    assert now[0] < alert.not_before <= now[0] + timedelta(seconds=2)
    now[0] += timedelta(seconds=2)
    await worker.deliver_due()
    [alert] = env.alerts()
    assert (alert.status, alert.attempts) == ("failed", 2)
    assert alert.last_error == "gave up after 2 attempts: Bad Gateway"


async def test_a_blocked_chat_is_deactivated_its_alerts_cancelled_and_start_revives_it(
    env: Env,
) -> None:
    env.api.fail_next.append(fail(403, "Forbidden: bot was blocked by the user"))
    env.add(*[NewAlert(PRIVATE, f"r{i}", "reminder", reminder()) for i in range(3)])
    await drain(env.make(), 3)
    assert len(env.api.sent(PRIVATE)) == 1
    assert {(a.status, a.last_error) for a in env.alerts()} == {
        ("cancelled", "Forbidden: bot was blocked by the user")
    }
    chat = env.chat(PRIVATE)
    assert chat is not None and not chat.active
    env.add(NewAlert(PRIVATE, "later", "reminder", reminder()))
    await drain(env.make(), 2)
    assert env.alerts()[-1].status == "cancelled"
    with session_scope(env.engine) as session:
        assert chats.register(
            session, PRIVATE, kind="private", title=None, auto_follow=False
        ).reactivated
    env.add(NewAlert(PRIVATE, "after-start", "reminder", reminder()))
    await drain(env.make(), 2)
    assert env.alerts()[-1].status == "sent"


async def test_a_group_that_became_a_supergroup_moves_and_gets_the_alert_there(env: Env) -> None:
    with session_scope(env.engine) as session:
        session.add(Topic(id=1, slug="rare-earths", title="Rare earths", query="x"))
        session.flush()
        session.add(TopicSubscription(chat_id=GROUP, topic_id=1))
        chat = session.get(Chat, GROUP)
        assert chat is not None
        chat.timezone = "Asia/Tokyo"  # settings move with the chat
    env.api.fail_next.append(
        fail(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=-1009,
        )
    )
    env.add(NewAlert(GROUP, "r1", "reminder", reminder()))
    await drain(env.make(), 3)
    assert len(env.api.sent(-1009)) == 1
    [alert] = env.alerts()
    assert (alert.chat_id, alert.status) == (-1009, "sent")
    new, old = env.chat(-1009), env.chat(GROUP)
    assert new is not None and new.timezone == "Asia/Tokyo" and new.kind == "supergroup"
    assert old is not None and not old.active and old.inactive_reason == "migrated to -1009"
    with session_scope(env.engine) as session:
        assert session.exec(select(TopicSubscription.chat_id)).all() == [-1009]


async def test_a_long_message_goes_in_parts_marked_with_the_first(env: Env) -> None:
    env.add(NewAlert(PRIVATE, "long", "plain", {"text": "line of news\n" * 700}))
    await env.make().deliver_due()
    parts = env.texts(PRIVATE)
    assert len(parts) == 3
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == "line of news\n" * 700
    first, *rest = env.api.sent(PRIVATE)
    [alert] = env.alerts()
    assert alert.status == "sent"
    assert alert.message_id == first.result["message_id"]
    assert alert.message_id not in {call.result["message_id"] for call in rest}


async def test_a_429_between_parts_resends_only_the_refused_part(env: Env) -> None:
    env.api.limits = True  # the fake allows one message a second to a private chat
    env.add(NewAlert(PRIVATE, "long", "plain", {"text": "line of news\n" * 400}))
    worker, _ = on_fake_clock(env, DeliveryConfig(private_interval_s=0, group_window_s=0))
    await worker.deliver_due()
    assert (env.api.accepted, env.api.too_many) == (2, 1)
    first, second = env.api.sent(PRIVATE)  # the fake records only what it accepted
    assert "\n".join([first.params["text"], second.params["text"]]) == "line of news\n" * 400
    # Telegram said "retry after 1": the part waited that, plus at most one overall send slot.
    waited = env.api.accepted_at[1] - env.api.accepted_at[0]
    assert 1.0 <= waited <= 1.0 + 1 / (30 * JITTER_MARGIN) + 1e-6
    [alert] = env.alerts()
    assert (alert.status, alert.attempts) == ("sent", 1)


async def test_telegram_refusing_the_html_gets_plain_text(env: Env) -> None:
    env.api.fail_next.append(fail(400, "Bad Request: can't parse entities: unclosed tag"))
    env.add(NewAlert(PRIVATE, "r1", "reminder", reminder(title="A & B")))
    await env.make().deliver_due()
    html_try, plain = env.api.sent(PRIVATE)
    assert html_try.params["parse_mode"] == "HTML"
    assert "parse_mode" not in plain.params
    assert plain.params["text"].startswith(
        "⏰ Reminder (1 day before): A & B (https://example.org/truce)"
    )
    assert env.alerts()[0].status == "sent"


async def test_a_bad_token_halts_delivery_and_keeps_the_alert(env: Env) -> None:
    env.api.fail_next.append(fail(401, "Unauthorized"))
    env.add(NewAlert(PRIVATE, "r1", "reminder", reminder()))
    worker = env.make()
    assert await worker.deliver_due() == 0
    [alert] = env.alerts()
    assert (alert.status, alert.attempts, alert.last_error) == (
        "pending",
        0,
        "halted: Unauthorized",
    )
    assert worker.pacer.next_allowed(OTHER) - worker.pacer.now() > 59
    assert await worker.deliver_due() == 0  # nothing is claimed while halted
    assert len(env.api.sent(PRIVATE)) == 1
    assert env.alerts()[0].attempts == 0


async def test_a_read_timeout_is_resent_and_may_duplicate_once(env: Env) -> None:
    env.api.stall_next_s.append(1.0)
    env.add(NewAlert(PRIVATE, "r1", "reminder", reminder()))
    now = [utcnow()]
    worker = env.make(FAST, lambda: now[0])
    await worker.deliver_due()
    [alert] = env.alerts()
    assert alert.status == "pending"
    assert alert.last_error is not None and alert.last_error.startswith("uncertain: retry in")
    now[0] += timedelta(seconds=3)
    await worker.deliver_due()
    assert len(env.api.sent(PRIVATE)) == 2
    assert env.alerts()[0].status == "sent"
    now[0] += timedelta(minutes=10)
    assert await worker.deliver_due() == 0  # sent: the duplicate stays the only one
    assert len(env.api.sent(PRIVATE)) == 2


async def test_quiet_hours_hold_normal_alerts_until_they_end_and_let_urgent_ones_pass(
    env: Env,
) -> None:
    now = datetime(2027, 1, 15, 23, 0, tzinfo=UTC)  # 23:00 in London
    with session_scope(env.engine) as session:
        chat = session.get(Chat, PRIVATE)
        assert chat is not None
        chat.quiet_start, chat.quiet_end = "22:00", "07:00"
    env.add(
        NewAlert(PRIVATE, "normal", "reminder", reminder(title="Later")),
        NewAlert(PRIVATE, "urgent", "deadline_reached", reminder(title="Now"), priority=0),
    )
    await drain(env.make(FAST, lambda: now), 2)
    assert len(env.texts(PRIVATE)) == 1 and "Now" in env.texts(PRIVATE)[0]
    held = env.alerts()[0]
    assert (held.status, held.not_before) == ("pending", datetime(2027, 1, 16, 7, 0, tzinfo=UTC))


async def test_mute_holds_everything_but_deadline_reached(env: Env) -> None:
    until = utcnow() + timedelta(hours=3)
    with session_scope(env.engine) as session:
        chat = session.get(Chat, PRIVATE)
        assert chat is not None
        chat.muted_until = until
    env.add(
        NewAlert(PRIVATE, "urgent-reminder", "reminder", reminder(title="Soon"), priority=0),
        NewAlert(PRIVATE, "reached", "deadline_reached", reminder(title="Reached")),
    )
    await drain(env.make(), 2)
    assert ["Reached" in t for t in env.texts(PRIVATE)] == [True]
    held = env.alerts()[0]
    assert (held.status, held.not_before) == ("pending", until)


async def test_news_arriving_within_the_window_goes_as_one_message(env: Env) -> None:
    start = utcnow()
    now = [start]
    worker = env.make(DeliveryConfig(private_interval_s=0, group_window_s=60), lambda: now[0])
    env.add(NewAlert(PRIVATE, "s1", "news", story(1), priority=2))
    await worker.deliver_due()
    assert env.texts(PRIVATE) == []
    env.add(*[NewAlert(PRIVATE, f"s{n}", "news", story(n), priority=2) for n in (2, 3)])
    env.add(NewAlert(OTHER, "solo", "news", story(9), priority=2))
    now[0] = start + timedelta(seconds=61)
    await drain(worker, 3)
    [group] = env.api.sent(PRIVATE)
    assert group.params["text"].startswith("📰 <b>3 new stories on your topics</b>")
    assert group.params["link_preview_options"] == {"is_disabled": True}
    [solo] = env.api.sent(OTHER)
    assert solo.params["text"].startswith('📰 <b><a href="https://news.example/9">Story 9</a></b>')
    assert solo.params["link_preview_options"] == {"is_disabled": False}
    rows = [a for a in env.alerts() if a.chat_id == PRIVATE]
    assert {(a.status, a.message_id) for a in rows} == {("sent", rows[0].message_id)}


async def test_a_digest_chat_gets_its_news_in_one_message_at_the_hour(env: Env) -> None:
    with session_scope(env.engine) as session:
        chat = session.get(Chat, PRIVATE)
        assert chat is not None
        chat.digest, chat.timezone = "hourly", "UTC"
    env.add(*[NewAlert(PRIVATE, f"s{n}", "news", story(n), priority=2) for n in (1, 2)])
    env.add(NewAlert(PRIVATE, "r", "reminder", reminder()))
    created = env.alerts()[0].created_at
    next_hour = created.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    now = [created + timedelta(seconds=1)]
    worker = env.make(FAST, lambda: now[0])
    await drain(worker, 2)
    assert [t.startswith("⏰") for t in env.texts(PRIVATE)] == [True]
    assert {a.not_before for a in env.alerts() if a.kind == "news"} == {next_hour}
    now[0] = next_hour
    await drain(worker, 2)
    reminder_text, digest = env.texts(PRIVATE)  # the two stories went in one message
    assert reminder_text.startswith("⏰")
    assert digest.startswith("🗞 <b>Your hourly digest</b>: 2 stories")
    assert {a.status for a in env.alerts()} == {"sent"}


async def test_news_of_a_muted_topic_is_dropped_and_inactive_chats_get_nothing(env: Env) -> None:
    with session_scope(env.engine) as session:
        session.add(Topic(id=1, slug="rare-earths", title="Rare earths", query="x"))
        session.flush()
        session.add(
            TopicSubscription(chat_id=PRIVATE, topic_id=1, muted_until=utcnow() + timedelta(days=1))
        )
        chats.deactivate(session, OTHER, "kicked")
    env.add(
        NewAlert(PRIVATE, "muted", "news", story(1), priority=2),
        NewAlert(PRIVATE, "other-topic", "news", story(2, topic="chips"), priority=2),
        NewAlert(OTHER, "gone", "reminder", reminder()),
    )
    await drain(env.make(), 3)
    assert len(env.texts(PRIVATE)) == 1 and "Story 2" in env.texts(PRIVATE)[0]
    assert [(a.status, a.last_error) for a in env.alerts()] == [
        ("cancelled", "topic muted"),
        ("sent", None),
        ("cancelled", "chat inactive: kicked"),
    ]


async def test_a_payload_that_cannot_be_rendered_fails_without_blocking_others(env: Env) -> None:
    env.add(NewAlert(PRIVATE, "bad", "reminder", {"slug": "x"}))
    env.add(NewAlert(OTHER, "good", "reminder", reminder()))
    await drain(env.make(), 2)
    bad, good = env.alerts()
    assert bad.status == "failed" and bad.last_error is not None
    assert bad.last_error.startswith("cannot render: KeyError(")
    assert good.status == "sent"


async def test_pacing_keeps_private_chats_to_one_message_a_second(env: Env) -> None:
    env.add(*[NewAlert(PRIVATE, f"r{i}", "reminder", reminder()) for i in range(3)])
    env.add(NewAlert(OTHER, "o", "reminder", reminder()))
    worker, clock = on_fake_clock(env, DeliveryConfig(group_window_s=0))
    await run_until(worker, clock, lambda: len(env.api.sent()) == 4)
    times = env.api.accepted_at
    private = [
        t for t, c in zip(times, env.api.sent(), strict=True) if c.params["chat_id"] == PRIVATE
    ]
    assert [b - a for a, b in itertools.pairwise(private)] == [pytest.approx(1.0, abs=1e-6)] * 2
    assert times[1] - times[0] < 0.1  # the other chat did not wait for the first one


def test_outcomes_name_the_cause_of_a_timeout() -> None:
    timed_out = TimedOut()
    timed_out.__cause__ = httpx.ConnectTimeout("x")
    assert outcome_of(timed_out, 3).error == "ConnectTimeout"
    assert outcome_of(timed_out, 3).attempt == 3
    flood = outcome_of(RetryAfter(timedelta(seconds=7)), 1)
    assert (flood.error, flood.retry_after_s) == ("RetryAfter", 7.0)


def test_the_pacer_is_built_from_the_settings(env: Env) -> None:
    worker = env.make(DeliveryConfig(global_per_second=10, private_interval_s=2))
    assert isinstance(worker.pacer, Pacer)
    sent_at = worker.pacer.now()
    worker.pacer.record_send(PRIVATE, sent_at)
    assert worker.pacer.next_allowed(PRIVATE) - sent_at == pytest.approx(2.0, abs=1e-6)
    # 10 a second, paced 1 % under the limit for network jitter.
    assert worker.pacer.next_allowed(OTHER) - sent_at == pytest.approx(1 / 9.9, abs=1e-6)


def candidate(kind: str, priority: int, created: datetime, **policy: Any) -> Candidate:
    return Candidate(
        1, PRIVATE, kind, priority, created, True, ChatPolicy("Europe/London", **policy)
    )


def test_hold_decides_mute_quiet_digest_and_grouping() -> None:
    now = datetime(2027, 1, 15, 23, 0, tzinfo=UTC)
    quiet = QuietHours(time(22, 0), time(7, 0))
    morning = datetime(2027, 1, 16, 7, 0, tzinfo=UTC)
    muted = now + timedelta(hours=3)
    assert hold(candidate("reminder", 1, now, quiet=quiet), now, 60) == morning
    assert hold(candidate("reminder", 0, now, quiet=quiet), now, 60) is None
    assert hold(candidate("reminder", 0, now, muted_until=muted), now, 60) == muted
    assert hold(candidate("deadline_reached", 0, now, muted_until=muted), now, 60) is None
    hourly = Digest(DigestKind.HOURLY)
    assert hold(candidate("news", 2, now, digest=hourly), now, 60) == now + timedelta(hours=1)
    assert hold(candidate("news", 2, now - timedelta(hours=1), digest=hourly), now, 60) is None
    assert hold(candidate("news", 2, now), now, 60) == now + timedelta(seconds=60)
    assert hold(candidate("news", 2, now - timedelta(seconds=61)), now, 60) is None
    assert hold(candidate("news", 2, now), now, 0) is None


def test_the_snooze_button_sits_between_open_and_unfollow() -> None:
    rendered = Rendered("x", ((Button("Open", url="https://e.org"), Button("Unfollow", "unf:a")),))
    assert with_snooze(rendered, 7).buttons == (
        (
            Button("Open", url="https://e.org"),
            Button("Snooze 1 h", "sz:7"),
            Button("Unfollow", "unf:a"),
        ),
    )
    assert with_snooze(Rendered("x"), 8).buttons == ((Button("Snooze 1 h", "sz:8"),),)
