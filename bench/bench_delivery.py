"""Delivery under Telegram's limits: a 10,000-chat fan-out, a naive baseline, and alert latency.

Run from the repository root: `.venv/bin/python -m bench.bench_delivery` (about 8 minutes;
`--chats 1000` for a quick run). The fake Bot API (tests/fake_limited_api.py) runs on
127.0.0.1 in its own thread and answers 429 with `retry_after` whenever a send breaks
Telegram's limits (30 a second overall, one a second per private chat, 20 a minute per group).
It writes its figures into its own section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select
from telegram import Bot
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ExtBot

from bench._report import write_section
from bot.config import DeliveryConfig
from bot.delivery import DeliveryWorker, outcome_of
from bot.services.outbox import NewAlert, OutboxSignal, enqueue
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Alert, Chat
from tests.fake_limited_api import LimitStats, serve_in_process

COMMAND = ".venv/bin/python -m bench.bench_delivery"
DEFAULT_CHATS = 10_000
DEFAULT_SIDE_CHATS = 2_000
GROUP_EVERY = 20  # one chat in 20 is a group (negative id)
NAIVE_CONCURRENCY = 8
LATENCY_SAMPLES = 200
POLL_SAMPLES = 20
FLOOR_PER_S = 28.5
LATENCY_P99_CEILING_MS = 200.0
RUN_TIMEOUT_S = 3600.0
TOKEN = "1:BENCH"
PAYLOAD: dict[str, Any] = {
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


@dataclass(frozen=True)
class RunFigures:
    """One fan-out: what arrived, how fast, and how often the fake said 429."""

    chats: int
    delivered: int  # distinct chats that got the message
    duplicates: int
    too_many: int
    sustained_per_s: float  # accepted sends between the first and the last, per second
    to_last_s: float  # from start to the last accepted send
    max_in_one_s: int  # most accepted sends in any one-second window

    @property
    def lost(self) -> int:
        return self.chats - self.delivered


def chat_ids(count: int) -> list[int]:
    return [-n if n % GROUP_EVERY == 0 else n for n in range(1, count + 1)]


def max_in_window(times: Sequence[float], window_s: float = 1.0) -> int:
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


def figures(stats: LimitStats, chats: int, started: float) -> RunFigures:
    times = sorted(stats.accepted_at)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return RunFigures(
        chats=chats,
        delivered=len(stats.delivered),
        duplicates=sum(n - 1 for n in stats.delivered.values()),
        too_many=stats.too_many,
        sustained_per_s=(len(times) - 1) / span if span else 0.0,
        to_last_s=times[-1] - started if times else 0.0,
        max_in_one_s=max_in_window(times),
    )


def count_sent(engine: Any, alert_id: int | None = None) -> int:
    query = select(func.count()).select_from(Alert).where(col(Alert.status) == "sent")
    if alert_id is not None:
        query = query.where(col(Alert.id) == alert_id)
    with session_scope(engine) as session:
        return int(session.exec(query).one())


def fresh_store(directory: Path, name: str, ids: Sequence[int]) -> Any:
    engine = make_engine(f"sqlite:///{directory / name}.db")
    migrate(engine)
    with session_scope(engine) as session:
        session.add_all([Chat(id=i, kind="private" if i > 0 else "group") for i in ids])
    return engine


def make_bot(base_url: str, limiter: bool) -> Bot:
    if limiter:  # as bot/interface/app.py wires it: PTB's limiter as a safety net only
        return ExtBot(TOKEN, base_url=base_url, rate_limiter=AIORateLimiter(max_retries=0))
    return Bot(TOKEN, base_url=base_url)


async def herald_fan_out(directory: Path, chats: int, *, limiter: bool) -> RunFigures:
    """Herald's worker with default pacing sends one alert to every chat."""
    served = serve_in_process()
    ids = chat_ids(chats)
    engine = fresh_store(directory, f"herald-{chats}-{limiter}", ids)
    bot = make_bot(served.base_url, limiter)
    await bot.initialize()
    outbox = OutboxSignal()
    worker = DeliveryWorker(engine, bot, outbox, DeliveryConfig(), "Europe/London")
    with session_scope(engine) as session:
        enqueue(session, [NewAlert(i, "fan-out", "reminder", PAYLOAD) for i in ids])
    started = time.monotonic()
    worker.start()
    outbox.notify()
    deadline = started + RUN_TIMEOUT_S
    while count_sent(engine) < chats and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await worker.stop()
    unsent = chats - count_sent(engine)
    result = figures(served.stats(), chats, started)
    await bot.shutdown()
    served.stop()
    engine.dispose()
    if unsent:
        print(f"  {unsent} alerts not marked sent", file=sys.stderr)
    return result


async def naive_fan_out(chats: int) -> RunFigures:
    """The baseline: send_message to every chat, 8 at a time, no pacing; on 429, wait and retry."""
    served = serve_in_process()
    bot = Bot(TOKEN, base_url=served.base_url)
    await bot.initialize()
    gate = asyncio.Semaphore(NAIVE_CONCURRENCY)

    async def send(chat_id: int) -> None:
        async with gate:
            while True:
                try:
                    await bot.send_message(chat_id, "UK–US trade deal deadline in 1 day")
                    return
                except RetryAfter as exc:
                    await asyncio.sleep(outcome_of(exc, 1).retry_after_s or 1.0)

    started = time.monotonic()
    await asyncio.gather(*(send(i) for i in chat_ids(chats)))
    result = figures(served.stats(), chats, started)
    await bot.shutdown()
    served.stop()
    return result


async def latency(directory: Path, samples: int, *, notify: bool) -> list[float]:
    """Milliseconds from writing an alert row (queue empty) to its sendMessage at the fake."""
    served = serve_in_process()
    ids = list(range(1, samples + 1))
    engine = fresh_store(directory, f"latency-{notify}", ids)
    bot = make_bot(served.base_url, limiter=False)
    await bot.initialize()
    outbox = OutboxSignal()
    worker = DeliveryWorker(engine, bot, outbox, DeliveryConfig(), "Europe/London")
    worker.start()
    written: list[float] = []
    for chat_id in ids:
        await asyncio.sleep(0.05)  # the queue is empty and the pacer idle before each write
        written.append(time.monotonic())
        with session_scope(engine) as session:
            enqueue(session, [NewAlert(chat_id, "latency", "reminder", PAYLOAD, priority=0)])
        if notify:
            outbox.notify()
        while not count_sent(engine, chat_id):  # alert ids follow chat ids here
            await asyncio.sleep(0.002)
    await worker.stop()
    arrived = served.stats().accepted_at  # the fake's clock is the same monotonic clock
    delays = [(at - at_write) * 1000 for at, at_write in zip(arrived, written, strict=True)]
    await bot.shutdown()
    served.stop()
    engine.dispose()
    return delays


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(name: str, run: RunFigures) -> str:
    return (
        f"| {name} | {run.chats:,} | {run.sustained_per_s:.2f} | {run.to_last_s:.1f} s "
        f"| {run.too_many:,} | {run.max_in_one_s} | {run.lost} | {run.duplicates} |"
    )


def report(
    main: RunFigures,
    rss_mib: float,
    side: Sequence[tuple[str, RunFigures]],
    pushed: Sequence[float],
    polled: Sequence[float],
) -> str:
    met = main.sustained_per_s >= FLOOR_PER_S and main.lost == 0
    p99 = percentile(pushed, 0.99)
    lines = [
        f"One reminder fanned out to {main.chats:,} chats (one in {GROUP_EVERY} a group) "
        "through the fake Bot API on 127.0.0.1 (its own process), which answers 429 with `retry_after` "
        "whenever a send breaks Telegram's limits (30 in any second, 5 ms of tolerance). Herald "
        "runs with its default pacing (30/s overall less 1 % for jitter, 1/s per chat, 20/min "
        "per group) on a SQLite store, sending through a plain PTB `Bot`; the second row adds "
        "PTB's `AIORateLimiter`.",
        "",
        "| run | chats | sustained msg/s | to last delivery | 429s | most in any 1 s "
        "| lost | duplicates |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        row("Herald worker", main),
        *(row(name, run) for name, run in side),
        "",
        f"Peak RSS of the benchmark process after the {main.chats:,}-chat run (worker, "
        f"store and PTB; the fake API runs in a process of its own): {rss_mib:.0f} MiB.",
        "",
        f"Floor ≥ {FLOOR_PER_S} msg/s with zero lost: **{'met' if met else 'NOT MET'}**.",
        "",
        "Delay from writing an alert row (empty queue) to its `sendMessage` at the fake:",
        "",
        "| path | samples | p50 | p99 | max |",
        "| --- | --- | --- | --- | --- |",
        f"| writer in the same process (calls `OutboxSignal.notify`, as jobs do) | "
        f"{len(pushed)} | {percentile(pushed, 0.5):.1f} ms | {p99:.1f} ms "
        f"| {max(pushed):.1f} ms |",
        f"| writer elsewhere (no signal; the worker polls every 1 s) | {len(polled)} "
        f"| {percentile(polled, 0.5):.1f} ms | {percentile(polled, 0.99):.1f} ms "
        f"| {max(polled):.1f} ms |",
        "",
        f"Ceiling p99 ≤ {LATENCY_P99_CEILING_MS:.0f} ms (same-process path): "
        f"**{'met' if p99 <= LATENCY_P99_CEILING_MS else 'NOT MET'}**.",
    ]
    return "\n".join(lines)


async def run(chats: int, side_chats: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        print(f"Herald worker, {chats:,} chats …", flush=True)
        main = await herald_fan_out(directory, chats, limiter=False)
        rss = peak_rss_mib()
        print(f"  {main}", flush=True)
        side: list[tuple[str, RunFigures]] = []
        print(f"Herald worker with AIORateLimiter, {side_chats:,} chats …", flush=True)
        side.append(
            (
                "Herald worker + PTB `AIORateLimiter(max_retries=0)` (an optional safety net, off by default)",
                await herald_fan_out(directory, side_chats, limiter=True),
            )
        )
        print(f"  {side[-1][1]}", flush=True)
        print(f"Naive baseline, {side_chats:,} chats …", flush=True)
        side.append(
            (
                f"naive: send_message ×{NAIVE_CONCURRENCY} concurrent, sleep on 429",
                await naive_fan_out(side_chats),
            )
        )
        print(f"  {side[-1][1]}", flush=True)
        print("Latency …", flush=True)
        pushed = await latency(directory, LATENCY_SAMPLES, notify=True)
        polled = await latency(directory, POLL_SAMPLES, notify=False)
    return report(main, rss, side, pushed, polled)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=DEFAULT_CHATS)
    parser.add_argument(
        "--side-chats",
        type=int,
        default=None,
        help=f"chats for the baseline and the no-limiter run (default min(chats, "
        f"{DEFAULT_SIDE_CHATS}))",
    )
    args = parser.parse_args(argv)
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # one line per request
    side_chats = args.side_chats or min(args.chats, DEFAULT_SIDE_CHATS)
    body = asyncio.run(run(args.chats, side_chats))
    print(body)
    command = COMMAND if args.chats == DEFAULT_CHATS else f"{COMMAND} --chats {args.chats}"
    write_section("delivery", "Alert delivery under Telegram's limits", command, body)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
