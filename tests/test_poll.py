"""The news pipeline: baseline, no repeats, 304s, back-off, health alerts, and delivery end to end."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import metrics
from bot.config import Config, parse_config
from bot.interface.app import HeraldBot, build_application
from bot.runtime import Runtime
from bot.services import chats
from bot.services.config_sync import sync_config
from bot.services.sources import sync_sources
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Alert, Item, ItemTopic, Source, TopicSubscription
from jobs.sources import health, poll
from jobs.sources.fetch import Fetcher
from jobs.sources.poll import Poller
from tests.fakebot import ServedAPI
from tests.feed_server import FeedServer, Route, rss
from tests.helpers import eventually, say

ADA, BEN, ADMIN = 9101, 9102, 9001
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = [("a1", "Tariff talks resume", T0 - timedelta(hours=2)), ("a2", "Weather is fine", T0)]
NEW = ("a3", "New tariff on steel", T0 + timedelta(hours=1))


def config_text(server: FeedServer, *paths: str) -> str:
    sources = "".join(f"  - url: {server.url(p)}\n    name: Feed {p}\n" for p in paths)
    return (
        f"admins: [{ADMIN}]\n"
        "delivery: {group_window_s: 0}\n"
        "topics:\n"
        "  - id: tariffs\n    title: Tariffs\n    query: tariff OR tariffs\n"
        f"sources:\n{sources}"
    )


# --- pure decisions -------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped() -> None:
    assert [health.backoff_s(600, n) for n in (0, 1, 2, 3)] == [600, 1200, 2400, 4800]
    assert health.backoff_s(600, 12) == health.MAX_DELAY_S
    assert health.failure_delay_s(60, 1, retry_after_s=3600) == 3600
    assert health.failure_delay_s(60, 1, retry_after_s=10**7) == health.MAX_DELAY_S
    assert health.success_delay_s(600, max_age_s=1800) == 1800
    assert health.success_delay_s(600, max_age_s=60) == 600


def test_failing_is_told_once_and_recovery_once() -> None:
    state = health.HealthState(every_s=600)
    events = []
    for _ in range(5):
        update = health.after_failure(state, T0, threshold=3)
        events.append(update.event)
        state = health.HealthState(600, update.consecutive_failures, update.failing_reported)
    assert events == [None, None, "failing", None, None]
    assert state.consecutive_failures == 5
    recovered = health.after_success(state, T0, max_age_s=None)
    assert (recovered.event, recovered.consecutive_failures) == ("recovered", 0)
    assert recovered.next_check_at == T0 + timedelta(seconds=600)
    assert health.after_success(health.HealthState(600), T0).event is None


def test_quiet_needs_a_known_rhythm_and_a_long_silence() -> None:
    hourly = [T0 - timedelta(hours=h) for h in range(10)]
    gap = health.usual_gap_s(hourly)
    assert gap == 3600
    assert health.usual_gap_s(hourly[:3]) is None
    assert not health.is_quiet(T0 + timedelta(days=1), T0, gap, 600)  # 2 days minimum
    assert health.is_quiet(T0 + timedelta(days=3), T0, gap, 600)
    assert not health.is_quiet(T0 + timedelta(days=30), T0, None, 600)


# --- the pipeline against a local feed server -----------------------------------------------


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def prepared(database_url: str, config: Config) -> Engine:
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        sync_config(session, config)
        sync_sources(session, config.sources, T0 - timedelta(minutes=1))
        for chat_id in (ADA, ADMIN):
            chats.register(session, chat_id, kind="private", title=None, auto_follow=True)
    return engine


@pytest.fixture(params=[0, 2], ids=["in-process", "check-workers"])
async def pipeline(
    server: FeedServer, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Engine, Poller, FeedServer]]:
    """The poller checking sources in its own process, and in two worker processes."""
    config = parse_config(config_text(server, "/a.xml", "/b.xml"))
    server.set("/a.xml", Route(body=rss(OLD), etag='"a-1"'))
    server.set("/b.xml", Route(body=rss([("b1", "Other tariff news", T0)])))
    engine = prepared(database_url, config)
    async with Fetcher() as fetcher:
        poller = Poller(engine, fetcher, admins=config.admins, workers=request.param)
        yield engine, poller, server
        await poller.aclose()
    engine.dispose()


def alerts(engine: Engine, kind: str = "news") -> list[Alert]:
    with session_scope(engine) as session:
        rows = session.exec(select(Alert).where(Alert.kind == kind).order_by(col(Alert.id))).all()
        return list(rows)


def source(engine: Engine, path: str, server: FeedServer) -> Source:
    with session_scope(engine) as session:
        found = session.exec(select(Source).where(Source.key == f"feed:{server.url(path)}")).one()
        return found


async def test_baseline_then_one_alert_then_no_repeats(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    engine, poller, server = pipeline
    first = await poller.run_due(T0)
    assert sorted((r.parsed, r.new, r.alerts) for r in first) == [(1, 1, 0), (2, 2, 0)]
    assert alerts(engine) == []  # the baseline alerts nothing
    with session_scope(engine) as session:
        assert len(session.exec(select(ItemTopic)).all()) == 2  # but /news can show it

    server.set("/a.xml", Route(body=rss([NEW, *OLD]), etag='"a-2"'))
    await poller.run_due(T0 + timedelta(hours=1))
    written = alerts(engine)
    assert sorted(a.chat_id for a in written) == [ADMIN, ADA]  # both follow the topic
    alert = next(a for a in written if a.chat_id == ADA)
    assert (alert.kind, alert.priority) == ("news", 2)
    assert alert.dedup_key.startswith("news:")
    assert alert.payload["title"] == "New tariff on steel"
    assert alert.payload["topic_slug"] == "tariffs"
    assert alert.payload["source"] == "Feed /a.xml"
    assert alert.payload["link"] == "https://news.test/a3"

    # Re-ordered and re-dated: the same items, nothing new.
    redated = [(g, t, w + timedelta(days=1)) for g, t, w in reversed([NEW, *OLD])]
    server.set("/a.xml", Route(body=rss(redated), etag='"a-3"'))
    reports = await poller.run_due(T0 + timedelta(hours=2))
    assert [(r.parsed, r.new) for r in reports if r.url.endswith("/a.xml")] == [(3, 0)]
    assert len(alerts(engine)) == 2


async def test_not_modified_sends_validators_and_changes_nothing(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    engine, poller, server = pipeline
    await poller.run_due(T0)
    server.requests.clear()
    [report] = [r for r in await poller.run_due(T0 + timedelta(hours=1)) if "/a.xml" in r.url]
    assert report.not_modified and report.ok and report.new == 0
    [(_, headers)] = [req for req in server.requests if req[0] == "/a.xml"]
    assert headers["If-None-Match"] == '"a-1"'
    stored = source(engine, "/a.xml", server)
    assert stored.etag == '"a-1"'
    assert stored.next_check_at > T0 + timedelta(hours=1)


async def test_failures_back_off_and_admins_are_told_once_each_way(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    engine, poller, server = pipeline
    await poller.run_due(T0)
    server.set("/a.xml", Route(status=500, body=b"oops"))
    now = T0
    delays = []
    for _ in range(4):
        now = source(engine, "/a.xml", server).next_check_at
        await poller.run_due(now)
        delays.append(source(engine, "/a.xml", server).next_check_at - now)
    stored = source(engine, "/a.xml", server)
    assert stored.consecutive_failures == 4
    assert stored.last_error == "HTTP 500 Internal Server Error"
    # Doubling from the 15-minute period (the jitter adds at most 10 %).
    assert [round(d.total_seconds() / 900) for d in delays] == [2, 4, 8, 16]
    [failing] = alerts(engine, "source_health")
    assert (failing.chat_id, failing.payload["state"], failing.payload["failures"]) == (
        ADMIN,
        "failing",
        3,
    )
    server.set("/a.xml", Route(body=rss(OLD)))
    await poller.run_due(stored.next_check_at)
    states = [a.payload["state"] for a in alerts(engine, "source_health")]
    assert states == ["failing", "recovered"]
    assert source(engine, "/a.xml", server).consecutive_failures == 0


async def test_malformed_feed_is_recorded_while_others_work(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    engine, poller, server = pipeline
    server.set("/a.xml", Route(body=b"<html><body>Moved to our new site</body></html>"))
    reports = {r.url.rsplit("/", 1)[1]: r for r in await poller.run_due(T0)}
    assert not reports["a.xml"].ok and reports["a.xml"].error is not None
    assert reports["b.xml"].ok and reports["b.xml"].new == 1
    stored = source(engine, "/a.xml", server)
    assert stored.consecutive_failures == 1 and stored.last_error == reports["a.xml"].error
    assert not stored.baseline_done


async def test_permanent_redirect_updates_the_url_and_muted_chats_get_nothing(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    engine, poller, server = pipeline
    await poller.run_due(T0)
    server.set("/a.xml", Route(status=301, headers={"Location": "/a2.xml"}))
    server.set("/a2.xml", Route(body=rss([NEW, *OLD])))
    with session_scope(engine) as session:
        for sub in session.exec(select(TopicSubscription)):
            sub.muted_until = T0 + timedelta(days=365) if sub.chat_id == ADA else None
            session.add(sub)
    await poller.run_due(T0 + timedelta(hours=1))
    assert source(engine, "/a.xml", server).url == server.url("/a2.xml")
    assert [a.chat_id for a in alerts(engine)] == [ADMIN]  # Ada muted the topic


async def test_after_store_hooks_get_new_items_in_the_same_transaction(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    engine, poller, server = pipeline
    seen: list[list[str]] = []

    def hook(session: Session, items: list[Item], now: datetime) -> None:
        seen.append([i.title for i in items])
        assert all(i.id is not None for i in items) and now == T0 + timedelta(hours=1)

    def broken(session: Session, items: list[Item], now: datetime) -> None:
        raise RuntimeError("hook bug")

    poller.after_store.extend([broken, hook])
    await poller.run_due(T0)
    assert seen == []  # not for the baseline
    server.set("/a.xml", Route(body=rss([NEW, *OLD])))
    await poller.run_due(T0 + timedelta(hours=1))
    assert seen == [["New tariff on steel"]]
    assert len(alerts(engine)) == 2  # a broken hook loses nothing


async def test_the_event_loop_runs_while_a_batch_is_stored(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    """Batches are stored in a thread: chats are answered and checks dispatched meanwhile."""
    engine, poller, server = pipeline
    await poller.run_due(T0)  # the baseline (hooks do not run for it)
    beat = threading.Event()
    beat_during_store: list[bool] = []

    def hook(session: Session, items: list[Item], now: datetime) -> None:
        beat.clear()
        beat_during_store.append(beat.wait(10))  # only the event loop sets it

    async def heartbeat() -> None:
        while True:
            beat.set()
            await asyncio.sleep(0.01)

    poller.after_store.append(hook)
    server.set("/a.xml", Route(body=rss([NEW, *OLD])))
    beating = asyncio.create_task(heartbeat())
    try:
        reports = await poller.run_due(T0 + timedelta(hours=1))
    finally:
        beating.cancel()
    assert beat_during_store == [True]
    assert sorted(r.new for r in reports) == [0, 1]
    assert len(alerts(engine)) == 2


async def test_closing_waits_for_the_batch_being_stored(
    pipeline: tuple[Engine, Poller, FeedServer],
) -> None:
    engine, poller, server = pipeline
    await poller.run_due(T0)
    entered, release = threading.Event(), threading.Event()

    def slow_hook(session: Session, items: list[Item], now: datetime) -> None:
        entered.set()
        release.wait(10)

    poller.after_store.append(slow_hook)
    server.set("/a.xml", Route(body=rss([NEW, *OLD])))
    cycle = asyncio.create_task(poller.run_due(T0 + timedelta(hours=1)))
    assert await asyncio.to_thread(entered.wait, 10)
    threading.Timer(0.2, release.set).start()  # after aclose has begun to wait
    await poller.aclose()
    await asyncio.gather(cycle, return_exceptions=True)
    assert release.is_set()
    with session_scope(engine) as session:  # the batch was committed, not lost
        titles = session.exec(select(Item.title)).all()
    assert "New tariff on steel" in titles
    assert len(alerts(engine)) == 2


async def test_checks_wait_to_start_while_the_store_is_behind(
    server: FeedServer, database_url: str
) -> None:
    config = parse_config(config_text(server, "/a.xml", "/b.xml"))
    server.set("/a.xml", Route(body=rss(OLD)))
    server.set("/b.xml", Route(body=rss([("b1", "Other tariff news", T0)])))
    engine = prepared(database_url, config)
    async with Fetcher() as fetcher:
        poller = Poller(engine, fetcher, max_unstored=1)
        await poller.run_due(T0)
        fetched_while_storing: list[int] = []
        release = threading.Event()

        def slow_hook(session: Session, items: list[Item], now: datetime) -> None:
            fetched_while_storing.append(len(server.requests))
            release.wait(10)

        poller.after_store.append(slow_hook)
        server.set("/a.xml", Route(body=rss([NEW, *OLD])))
        server.set("/b.xml", Route(body=rss([("b2", "More tariff news", T0), ("b1", "", T0)])))
        server.requests.clear()
        cycle = asyncio.create_task(poller.run_due(T0 + timedelta(hours=1)))
        while not fetched_while_storing:
            await asyncio.sleep(0.01)
        release.set()
        reports = await cycle
        await poller.aclose()
    # One check at a time unstored: the second source was fetched only after the first was
    # stored, and both were.
    assert fetched_while_storing == [1, 2]
    assert sorted(r.new for r in reports) == [1, 1]
    engine.dispose()


# --- end to end through the fake Bot API ----------------------------------------------------


async def test_new_item_is_delivered_once_to_a_following_chat(
    server: FeedServer, bot_api: ServedAPI, database_url: str
) -> None:
    server.set("/a.xml", Route(body=rss(OLD)))
    runtime = Runtime.create(parse_config(config_text(server, "/a.xml")), database_url)
    herald = HeraldBot(runtime, build_application(runtime, "1:T", rate_limiter=False))
    await herald.start(polling=True)
    try:
        await say(bot_api, BEN, "/start")
        poller = runtime.news_poller()
        await poller.wait_idle()
        await poller.run_due(datetime.now(UTC) + timedelta(hours=1))
        server.set("/a.xml", Route(body=rss([NEW, *OLD])))
        await poller.run_due(datetime.now(UTC) + timedelta(hours=2))
        api = bot_api.api
        await api.wait_for(
            lambda: any("https://news.test/a3" in str(c.params["text"]) for c in api.sent(BEN))
        )
        await poller.run_due(datetime.now(UTC) + timedelta(hours=3))

        def news_rows() -> list[tuple[str, int]]:
            with session_scope(runtime.engine) as session:
                query = select(Alert.status, Alert.attempts).where(
                    Alert.chat_id == BEN, Alert.kind == "news"
                )
                return [(status, attempts) for status, attempts in session.exec(query)]

        # One alert, sent once and settled; a further delivery pass finds nothing to send.
        await eventually(lambda: news_rows() == [("sent", 1)])
        assert await herald.delivery.deliver_due() == 0
        news = [c for c in api.sent(BEN) if "https://news.test/a3" in str(c.params["text"])]
        assert len(news) == 1
        assert (
            news[0]
            .params["text"]
            .startswith('📰 <a href="https://news.test/a3">New <b>tariff</b> on steel</a>')
        )
        assert api.buttons(news[0]) == [("Mute topic", "mt:tariffs")]
    finally:
        await herald.stop()


async def test_a_dead_check_worker_loses_no_check(server: FeedServer, database_url: str) -> None:
    config = parse_config(config_text(server, "/a.xml", "/b.xml"))
    server.set("/a.xml", Route(body=rss(OLD)))
    server.set("/b.xml", Route(body=rss([("b1", "Other tariff news", T0)])))
    engine = prepared(database_url, config)
    async with Fetcher() as fetcher:
        poller = Poller(engine, fetcher, workers=2)
        await poller.warm_up()
        assert poller._workers is not None
        for handle in poller._workers._workers:
            os.kill(handle.process.pid, signal.SIGKILL)
            handle.process.join(5)
        reports = await poller.run_due(T0)
        await poller.aclose()
    assert sorted((r.ok, r.new) for r in reports) == [(True, 1), (True, len(OLD))]
    engine.dispose()


async def test_a_tick_finds_due_sources_while_a_batch_holds_the_write_lock(
    server: FeedServer, database_url: str
) -> None:
    """The tick runs on the event loop: waiting there for SQLite's write lock (held while a
    batch is stored) stalled every chat reply for as long."""
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    config = parse_config(config_text(server, "/a.xml", "/b.xml"))
    engine = prepared(database_url, config)
    writer = engine.raw_connection()
    try:
        writer.execute("BEGIN IMMEDIATE")  # as a batch being stored does
        async with Fetcher() as fetcher:
            poller = Poller(engine, fetcher, admins=config.admins)
            started = time.monotonic()
            poller.refresh_topics()
            due = poller.due_sources(T0)
            waited_s = time.monotonic() - started
    finally:
        writer.rollback()
        writer.close()
        engine.dispose()
    assert sorted(d.url for d in due) == sorted(server.url(p) for p in ("/a.xml", "/b.xml"))
    assert waited_s < 2  # the busy timeout is 10 s


def _late_checks(le: str) -> float:
    """Source checks observed so far in the lateness histogram's bucket `le` (cumulative)."""
    value = metrics.REGISTRY.get_sample_value(
        "herald_source_check_lateness_seconds_bucket", {"le": le}
    )
    return value or 0.0


async def test_a_check_started_late_is_counted_in_the_lateness_bucket_of_its_delay(
    server: FeedServer, database_url: str
) -> None:
    """Lateness is the moment a tick starts the check minus the source's next_check_at: a
    source due at T0 − 1 min whose tick runs 7 s later than that lands in (6, 7.5]."""
    config = parse_config(config_text(server, "/a.xml"))
    server.set("/a.xml", Route(body=rss(OLD)))
    engine = prepared(database_url, config)  # next_check_at = T0 - 1 min
    due_at = T0 - timedelta(minutes=1)
    before = {le: _late_checks(le) for le in ("5.0", "6.0", "7.5", "+Inf")}
    async with Fetcher() as fetcher:
        poller = Poller(engine, fetcher)
        with time_machine.travel(due_at + timedelta(seconds=7), tick=False):
            assert await poller.tick() == 1
            await poller.wait_idle()
        await poller.aclose()
    engine.dispose()
    added = {le: _late_checks(le) - count for le, count in before.items()}
    assert added == {"5.0": 0, "6.0": 0, "7.5": 1, "+Inf": 1}


async def test_a_tick_starts_the_checks_due_within_half_a_tick_so_none_waits_a_whole_one(
    server: FeedServer, database_url: str
) -> None:
    """A check due just after a tick used to wait for the next one plus that tick's own delay:
    a little over one tick late. Due within TICK_LEAD_S of the tick: started by it."""
    config = parse_config(config_text(server, "/a.xml", "/b.xml"))
    server.set("/a.xml", Route(body=rss(OLD)))
    server.set("/b.xml", Route(body=rss(OLD)))
    engine = prepared(database_url, config)
    tick_at = T0 + timedelta(minutes=5)
    soon = tick_at + timedelta(seconds=poll.TICK_LEAD_S - 0.5)
    later = tick_at + timedelta(seconds=poll.TICK_LEAD_S + 0.5)
    with session_scope(engine) as session:
        for source in session.exec(select(Source)).all():
            source.next_check_at = soon if source.url.endswith("/a.xml") else later
            session.add(source)
    async with Fetcher() as fetcher:
        poller = Poller(engine, fetcher)
        with time_machine.travel(tick_at, tick=False):
            assert await poller.tick() == 1
            await poller.wait_idle()
        await poller.aclose()
    with Session(engine) as session:
        checked = {s.url: s.last_checked_at for s in session.exec(select(Source)).all()}
    engine.dispose()
    assert checked == {server.url("/a.xml"): tick_at, server.url("/b.xml"): None}
