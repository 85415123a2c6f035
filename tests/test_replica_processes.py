"""Two real `herald run` processes on PostgreSQL: the leader dies or loses its lock connection
during a fan-out while reminders fall due.

The fan-out is 400 alerts, struck after 120: enough that the strike lands mid fan-out with
sends in flight and most of it left for the survivor, while each test stays under a minute
(each alert costs a send and a shared-limit slot on PostgreSQL; 1,000 took some 40 s of it).

Afterwards nothing is lost, no reminder is doubled, at most one message is repeated per kill,
the follower took over within 15 s, only the leader polled Telegram, and the log of leadership
changes (stamped by each replica) shows that the two never led at once.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineSpec
from bot.store.db import make_engine, migrate, session_scope
from bot.store.leader import APPLICATION_NAME
from bot.store.models import Chat
from tests.fakebot import FakeBotAPI, ServedAPI
from tests.helpers import alert_statuses, enqueue_fan_out
from tests.replica_harness import (
    Replica,
    calls_by,
    lead_intervals,
    next_leader,
    overlaps,
    serve_with_tokens,
    start_replica,
)

FAN_OUT = 400
REMINDERS = 20
REMINDER_CHAT0 = 5000
FIRST_REMINDER_S = 14  # after the test starts; both replicas are up by then on a quiet machine
REMINDER_EVERY_S = 0.4
KILL_AFTER = 120  # fan-out messages received before the leader is struck
TAKEOVER_S = 15.0
FENCE_S = 5.0
CONFIG = """\
timezone: UTC
subscribe_new_chats: none
delivery:
  global_per_second: 1000
  private_interval_s: 0
  group_window_s: 0
  lease_s: 2
"""


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgres"):
        pytest.skip("several replicas need PostgreSQL (SQLite runs one process)")
    return database_url


@pytest.fixture
async def api() -> AsyncIterator[ServedAPI]:
    served = serve_with_tokens(FakeBotAPI())
    yield served
    served.server.stop()


def _prepare(database_url: str, start: datetime) -> None:
    """Schema, the fan-out's chats, and deadlines whose one-day reminders fall due soon."""
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        session.add_all([Chat(id=chat_id) for chat_id in range(1, FAN_OUT + 1)])
        for n in range(REMINDERS):
            session.add(Chat(id=REMINDER_CHAT0 + n))
        session.flush()
        for n in range(REMINDERS):
            fire_at = start + timedelta(seconds=FIRST_REMINDER_S + n * REMINDER_EVERY_S)
            spec = DeadlineSpec(
                slug=f"due-{n}",
                title=f"Deadline {n}",
                due_at=fire_at + timedelta(days=1),
                timezone="UTC",
                remind=("1d",),
            )
            deadline = deadline_ops.create(
                session, spec, origin="chat", owner_chat_id=None, actor="test"
            )
            deadline_ops.follow(session, REMINDER_CHAT0 + n, deadline)
    engine.dispose()


def _terminate_lock_connection(database_url: str, pid: int) -> int:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        count = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = :name"
            ),
            {"name": f"{APPLICATION_NAME}:{pid}"},
        ).scalar()
    engine.dispose()
    return int(count or 0)


async def _until(
    api: FakeBotAPI, condition: Callable[[], bool], timeout_s: float, what: str
) -> None:
    """Wait for a condition on what the fake API received (checked on every call it gets)."""
    try:
        await api.wait_for(condition, timeout_s)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


async def _all_sent(database_url: str, timeout_s: float) -> None:
    """Wait until every alert row is sent; the store is read in a thread, so the fake API
    (on this event loop) keeps answering meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (statuses := await asyncio.to_thread(alert_statuses, database_url)) != {
        "sent": FAN_OUT + REMINDERS
    }:
        if loop.time() > deadline:
            raise AssertionError(f"alerts not all sent: {statuses}")
        await asyncio.sleep(0.5)


def _fan_out_received(api: FakeBotAPI) -> int:
    return sum(1 for c in api.sent() if 1 <= int(c.params["chat_id"]) <= FAN_OUT)


def _reminders_received(api: FakeBotAPI) -> int:
    return sum(1 for c in api.sent() if int(c.params["chat_id"]) >= REMINDER_CHAT0)


async def _strike_the_leader(
    database_url: str, api: ServedAPI, tmp_path: Path, strike: Callable[[Replica], None]
) -> tuple[Replica, Replica, float]:
    """Run two replicas; strike the leader mid fan-out; return (struck, other, takeover s)."""
    _prepare(database_url, datetime.now(UTC))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    # Started together (each takes seconds to start): whichever takes the lock leads.
    replicas = [await start_replica(name, config, database_url, api.base_url) for name in "AB"]
    try:
        for replica in replicas:
            await replica.wait_line("Herald is running", 60)
        leaders = [replica for replica in replicas if replica.leading]
        assert len(leaders) == 1, [r.changes for r in replicas]
        first = leaders[0]
        second = next(replica for replica in replicas if replica is not first)
        await _until(api.api, lambda: _reminders_received(api.api) > 0, 90, "the first reminder")
        await asyncio.to_thread(enqueue_fan_out, database_url, range(1, FAN_OUT + 1))
        await _until(api.api, lambda: _fan_out_received(api.api) >= KILL_AFTER, 90, "the fan-out")
        struck_at = time.time()
        strike(first)
        _, taken_at = await next_leader(replicas, struck_at, TAKEOVER_S + 5)
        takeover_s = taken_at - struck_at
        await _all_sent(database_url, 120)
    finally:
        for replica in replicas:
            await replica.stop()
    return first, second, takeover_s


def _check_delivery(api: FakeBotAPI, kills: int) -> None:
    received = collections.Counter(int(c.params["chat_id"]) for c in api.sent())
    expected = set(range(1, FAN_OUT + 1)) | set(range(REMINDER_CHAT0, REMINDER_CHAT0 + REMINDERS))
    assert set(received) == expected  # nothing lost
    extra = {chat: count - 1 for chat, count in received.items() if count > 1}
    assert sum(extra.values()) <= kills, extra  # at most the message in flight at each kill


def _check_fencing(first: Replica, second: Replica) -> None:
    intervals = lead_intervals([first, second])
    assert overlaps(intervals) == [], intervals


def _check_only_leaders_polled(api: FakeBotAPI, first: Replica, second: Replica) -> None:
    """getUpdates came only from a replica that led at the time (one poll may be in flight)."""
    slack_s = 1.0
    for replica in (first, second):
        periods = [(s, e) for s, e, name in lead_intervals([replica])]
        for call in calls_by(api, replica.token, "getUpdates"):
            assert any(s - slack_s <= call.at <= e + slack_s for s, e in periods), (
                replica.name,
                call.at,
                periods,
            )


async def test_sigkill_of_the_leader_during_a_fan_out_and_due_reminders(
    postgres_url: str, api: ServedAPI, tmp_path: Path
) -> None:
    first, second, takeover_s = await _strike_the_leader(
        postgres_url, api, tmp_path, lambda leader: leader.kill()
    )
    assert takeover_s <= TAKEOVER_S
    assert [c.what for c in second.changes][:1] == ["acquired"]  # the follower took over
    _check_delivery(api.api, kills=1)
    _check_fencing(first, second)
    _check_only_leaders_polled(api.api, first, second)


async def test_terminated_lock_connection_fences_the_leader(
    postgres_url: str, api: ServedAPI, tmp_path: Path
) -> None:
    struck: list[float] = []

    def terminate(leader: Replica) -> None:
        struck.append(time.time())
        assert _terminate_lock_connection(postgres_url, leader.pid) == 1

    first, second, takeover_s = await _strike_the_leader(postgres_url, api, tmp_path, terminate)
    lost = [c for c in first.changes if c.what == "lost"]
    assert lost and lost[0].at - struck[0] <= FENCE_S  # stepped down within 5 s
    assert takeover_s <= TAKEOVER_S
    assert any("stopped polling Telegram" in line for _, line in first.lines)
    _check_delivery(api.api, kills=0)
    _check_fencing(first, second)
    _check_only_leaders_polled(api.api, first, second)
