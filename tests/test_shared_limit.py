"""The bot-wide rate limiter: one bucket for every replica and every call, 429s handled."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.delivery_policy.shared_limit import (
    LocalBucket,
    SharedBucket,
    SharedRateLimiter,
    pushing,
)
from bot.store.db import make_engine, migrate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_local_bucket_spaces_slots_and_a_pause_moves_them() -> None:
    clock = Clock()
    bucket = LocalBucket(10.0, clock)
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.0, 0.1, 0.2])
    clock.now += 1.0
    assert bucket.reserve() == 0.0  # idle capacity is not saved up: no burst after a pause
    bucket.pause(5.0)
    assert bucket.reserve() == pytest.approx(5.0)


async def _ok(calls: list[int]) -> dict[str, Any]:
    calls.append(1)
    return {"ok": True}


SLOW_RATE = 0.5  # one call per 2 s: slots far apart, so no assertion hinges on scheduling


def _recorded_sleep(slept: list[float]) -> Any:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return sleep


async def test_two_replicas_share_one_rate(database_url: str) -> None:
    """Two limiters on one PostgreSQL database (two replicas) hand out the slots of one."""
    if not database_url.startswith("postgres"):
        pytest.skip("the shared bucket is a PostgreSQL row; SQLite runs one process")
    engine = make_engine(database_url)
    migrate(engine)
    slept: list[float] = []
    first, second = (
        SharedRateLimiter(engine, SLOW_RATE, sleep=_recorded_sleep(slept)) for _ in range(2)
    )
    assert isinstance(first.bucket, SharedBucket)
    calls: list[int] = []
    per_replica = 5
    try:
        await asyncio.gather(
            *(
                limiter.process_request(_ok, (calls,), {}, "sendMessage", {"chat_id": n}, None)
                for n in range(per_replica)
                for limiter in (first, second)
            )
        )
    finally:
        engine.dispose()
    # One shared row: every call got its own slot, 2 s after the one before, whichever replica
    # took it. Two private buckets would have given each replica its own 0, 2, 4... waits.
    assert len(calls) == 2 * per_replica
    waits = sorted([0.0] * (2 * per_replica - len(slept)) + slept)
    expected = [k / SLOW_RATE for k in range(2 * per_replica)]
    assert waits == pytest.approx(expected, abs=0.5)


async def test_one_process_without_postgres_uses_its_own_bucket(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    slept: list[float] = []
    limiter = SharedRateLimiter(engine, SLOW_RATE, sleep=_recorded_sleep(slept))
    assert isinstance(limiter.bucket, LocalBucket)
    calls: list[int] = []
    await asyncio.gather(
        *(limiter.process_request(_ok, (calls,), {}, "editMessageText", {}, None) for _ in range(5))
    )
    assert len(calls) == 5
    waits = sorted([0.0] * (5 - len(slept)) + slept)
    assert waits == pytest.approx([k / SLOW_RATE for k in range(5)], abs=0.5)
    engine.dispose()


class Flaky:
    """Answers 429 (retry after `seconds`) `times` times, then succeeds."""

    def __init__(self, times: int, seconds: int = 2) -> None:
        self.times = times
        self.seconds = seconds
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.times:
            raise RetryAfter(timedelta(seconds=self.seconds))
        return {"ok": True}


def _limiter(tmp_path: Any, slept: list[float]) -> SharedRateLimiter:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    return SharedRateLimiter(engine, 1000.0, sleep=sleep)


async def test_a_429_on_a_reply_is_waited_out_and_the_reply_sent(tmp_path: Any) -> None:
    slept: list[float] = []
    limiter = _limiter(tmp_path, slept)
    flaky = Flaky(times=1, seconds=2)
    result = await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert result == {"ok": True} and flaky.calls == 2
    assert limiter.too_many == 1
    assert max(slept) == pytest.approx(2.0, abs=0.05)  # the next slot waits out retry_after


async def test_a_429_on_a_push_goes_back_to_the_delivery_worker(tmp_path: Any) -> None:
    slept: list[float] = []
    limiter = _limiter(tmp_path, slept)
    flaky = Flaky(times=1, seconds=3)
    with pushing(), pytest.raises(RetryAfter):
        await limiter.process_request(flaky, (), {}, "sendMessage", {"chat_id": 1}, None)
    assert flaky.calls == 1 and limiter.too_many == 1
    # ...and the bucket is paused for every other call meanwhile.
    await limiter.process_request(Flaky(0), (), {}, "answerCallbackQuery", {}, None)
    assert max(slept) == pytest.approx(3.0, abs=0.05)


async def test_reads_are_not_counted(tmp_path: Any) -> None:
    slept: list[float] = []
    limiter = _limiter(tmp_path, slept)
    limiter.bucket.pause(30.0)
    assert await limiter.process_request(Flaky(0), (), {}, "getUpdates", {}, None) == {"ok": True}
    assert slept == []
