"""Scale and memory: a running Herald with 6,000 sources and 10,000 chats over several cycles.

Run from the repository root: `.venv/bin/python -m bench.bench_scale [--cycles 3]` (about 40
minutes; needs nginx: `apt-get install -y nginx-light`). 6,000 generated feeds (as in
bench_chat) served by nginx on 127.0.0.1–127.0.0.8 are config sources, each polled every
10 minutes; 10,000 private chats are registered in the SQLite store before start, each
following every config deadline and topic (what `/start` does by default); `herald run` takes
updates from the fake Bot API in this process.

The same run against an older commit's code gives the comparison: export the commit
(`git archive REV | tar -x -C DIR`), run `... --checkout DIR --save before.json`, then the
current code with `--before before.json` (its figures are reported beside the current ones).

Measured from outside: the RSS of Herald's whole process tree (main process and check
workers) every half second, and each check's start from nginx's access log (how late a check
started: its gap to the previous one minus `every` and the largest jitter; a tick is 5 s). The cold cycle (all sources due
at start, every feed new) runs first; then `--cycles` steady cycles (304s, each source checked
`every` after its last check). A cycle ends when every source has been checked since it began.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from bench._report import write_section
from bench.bench_chat import (
    SEED,
    RssWatch,
    TimedBotAPI,
    generate_feeds,
    reuse_feeds,
    write_config,
)
from bench.bench_feeds import Nginx, _free_port
from bot.config import load_config
from bot.services import chats
from bot.services.config_sync import sync_config
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Chat
from jobs.sources.fetch import JITTER_FRACTION
from jobs.sources.poll import TICK_S
from tests.replica_harness import ROOT, serve_with_tokens, start_replica

COMMAND = ".venv/bin/python -m bench.bench_scale"
SOURCE_COUNT = 6_000
CHAT_COUNT = 10_000
FLOOR_RSS_MB = 200.0


def _seconds(every: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(float(every[:-1]) * units[every[-1]])


def register_chats(db_url: str, config: Path, count: int) -> float:
    """Chats that said /start: each follows every config deadline and topic. Seconds taken
    to subscribe them all (`chats.follow_config_items`, as Herald's start-up does)."""
    engine = make_engine(db_url)
    migrate(engine)
    with session_scope(engine) as session:
        sync_config(session, load_config(config))
    rows = [{"id": 10_000 + n, "kind": "private", "auto_follow": True} for n in range(count)]
    with engine.begin() as connection:
        connection.execute(insert(Chat), rows)
    started = time.perf_counter()
    with session_scope(engine) as session:
        chats.follow_config_items(session, chats.auto_follow_chat_ids(session))
    took_s = time.perf_counter() - started
    engine.dispose()
    return took_s


class LoggedNginx(Nginx):
    """bench_feeds' nginx, logging every request's time and path (how checks are timed: the
    store is not read from outside while Herald runs)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        conf = root / "nginx.conf"
        logged = f"log_format t '$msec $uri'; access_log {root}/access.log t buffer=64k flush=1s;"
        conf.write_text(conf.read_text().replace("access_log off;", logged))
        self.log = root / "access.log"
        self._offset = 0
        self.fetches: dict[str, list[float]] = {}

    def read_log(self) -> None:
        if not self.log.exists():
            return
        with self.log.open("rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode().splitlines():
            at, uri = line.split(" ", 1)
            self.fetches.setdefault(uri, []).append(float(at))

    def checked_at_least(self, times: int) -> int:
        return sum(1 for fetched in self.fetches.values() if len(fetched) >= times)


def _excess(fetches: dict[str, list[float]], number: int, every_s: int) -> float:
    """The largest (gap between a source's check `number` and the one before) − every − the
    largest jitter, over all sources: an upper bound of how late check `number` started (it
    also counts the previous check's own fetch and store time). 0 for the cold cycle."""
    if number == 0:
        return 0.0
    allowance = every_s * (1 + JITTER_FRACTION)
    return max(f[number] - f[number - 1] - allowance for f in fetches.values())


LATENESS = "herald_source_check_lateness_seconds"


async def lateness_buckets(listen: str) -> dict[float, float] | None:
    """Herald's own lateness histogram from its /metrics: cumulative count per upper bound
    (inf: all); None if this Herald has no such metric (older code)."""
    try:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://{listen}/metrics", timeout=30)
    except httpx.HTTPError:
        return None
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(answer.text):
        if family.name == LATENESS:
            for sample in family.samples:
                if sample.name == f"{LATENESS}_bucket":
                    buckets[float(sample.labels["le"])] = sample.value
    return buckets or None


def late_in_cycle(
    before: dict[float, float] | None, after: dict[float, float] | None
) -> tuple[int, int, float] | None:
    """(checks started in the cycle, those later than one tick, the upper bound of the worst
    bucket that holds any) from two scrapes of the histogram."""
    if after is None:
        return None
    added = {le: count - (before or {}).get(le, 0.0) for le, count in after.items()}
    total = added[float("inf")]
    beyond_tick = total - added.get(float(TICK_S), 0.0)
    worst = min((le for le, count in added.items() if count == total), default=float("inf"))
    return int(total), int(beyond_tick), worst


async def measure(
    root: Path,
    every: str,
    cycles: int,
    checkout: Path,
    startup_limit_s: float,
    feeds: Path | None = None,
    cycle_limit_s: float = 1800.0,
) -> dict[str, Any]:
    www = root / "www"
    started = time.perf_counter()
    if reuse_feeds(www, feeds) is None:
        www.mkdir()
        generate_feeds(www, SOURCE_COUNT, SEED)
    print(f"{SOURCE_COUNT} feeds in {time.perf_counter() - started:.0f} s", flush=True)
    db_url = f"sqlite:///{root / 'herald.db'}"
    with LoggedNginx(root) as nginx:
        config = root / "config.yaml"
        write_config(config, nginx, SOURCE_COUNT, every)
        follow_s = register_chats(db_url, config, CHAT_COUNT)
        print(f"{CHAT_COUNT} chats following every config item in {follow_s:.1f} s", flush=True)
        api = TimedBotAPI()
        served = serve_with_tokens(api)
        started_at = time.time()
        listen = f"127.0.0.1:{_free_port()}"  # the HTTP server on, as by default
        replica = await start_replica(
            "scale", config, db_url, served.base_url, checkout=checkout, HERALD_LISTEN=listen
        )
        watch = RssWatch(replica.pid)
        watcher = asyncio.create_task(watch.run(0.5))
        results = []
        try:
            startup_s: float | None = None
            try:
                await api.wait_for(
                    lambda: any(c.method == "getUpdates" for c in api.calls), startup_limit_s
                )
                startup_s = time.time() - started_at
            except TimeoutError:  # reported as such: the code under test could not start
                print(f"no getUpdates within {startup_limit_s:.0f} s", flush=True)
                cycles = -1
            scraped = await lateness_buckets(listen)
            for number in range(cycles + 1):
                began_t = time.time()
                peak_before, watch.peak_mb = watch.peak_mb, 0.0
                while (done := nginx.checked_at_least(number + 1)) < SOURCE_COUNT:
                    if replica.process.returncode is not None:
                        raise RuntimeError(f"herald exited: {replica.tail()}")
                    if time.time() - began_t > cycle_limit_s:
                        break
                    await asyncio.sleep(0.5)
                    nginx.read_log()
                name = "cold" if number == 0 else f"steady {number}"
                if done < SOURCE_COUNT:  # reported as such; the later cycles are not run
                    name += f" (not done: {done} of {SOURCE_COUNT} checked)"
                excess = (
                    _excess(nginx.fetches, number, _seconds(every))
                    if number == 0 or (done == SOURCE_COUNT)
                    else float("nan")
                )
                wall_s = time.time() - began_t
                now_scraped = await lateness_buckets(listen)
                late = late_in_cycle(scraped, now_scraped)
                scraped = now_scraped
                results.append((name, wall_s, watch.peak_mb, excess, late))
                watch.peak_mb = max(peak_before, watch.peak_mb)
                print(
                    f"{name}: {wall_s:.0f} s, peak {results[-1][2]:.0f} MB "
                    f"(largest main {watch.peak_main_mb:.0f}, child {watch.peak_child_mb:.0f}), "
                    f"worst excess {excess:.1f} s, measured lateness {late}",
                    flush=True,
                )
                if done < SOURCE_COUNT:
                    break
        except BaseException:
            print(replica.tail(60), flush=True)
            raise
        finally:
            watcher.cancel()
            await replica.stop()
            served.server.stop()
    overall = max([watch.peak_mb, *(r[2] for r in results)])
    return {
        "cycles": results,
        "peak_mb": overall,
        "end_rss_mb": watch.samples[-1][1] if watch.samples else 0.0,
        "load": os.getloadavg(),
        "every": every,
        "startup_s": startup_s,
        "startup_limit_s": startup_limit_s,
        "follow_s": follow_s,
        "peak_main_mb": watch.peak_main_mb,
        "peak_child_mb": watch.peak_child_mb,
    }


def _measured(late: list[Any] | None, cold: bool) -> str:
    """Herald's own figure for a cycle: checks later than one tick, and the worst bucket."""
    if late is None:
        return "not measured"
    total, beyond_tick, worst = late
    bound = "> 3600" if worst == float("inf") else f"≤ {worst:g}"
    if cold:
        return f"{beyond_tick} of {total} (all due at start); worst {bound} s"
    return f"{beyond_tick} of {total}; worst {bound} s"


def _cycle_rows(result: dict[str, Any]) -> str:
    rows = []
    for name, wall, peak, excess, *rest in result["cycles"]:
        cold = name.startswith("cold")
        bound = "all due at start" if cold else f"{excess:.1f}"
        measured = _measured(rest[0] if rest else None, cold)
        rows.append(f"| {name} | {wall:.0f} | {peak:.0f} | {measured} | {bound} |")
    return "\n".join(rows)


def _worst_steady(result: dict[str, Any]) -> float:
    return max((row[3] for row in result["cycles"][1:]), default=0.0)


def _late_steady(result: dict[str, Any]) -> int | None:
    """Steady-cycle checks Herald measured later than one tick (None: not measured)."""
    counts = [row[4][1] for row in result["cycles"][1:] if len(row) > 4 and row[4] is not None]
    return sum(counts) if counts else None


def _steady_text(result: dict[str, Any]) -> str:
    if len(result["cycles"]) < 2:
        return "no steady cycle run"
    return f"worst steady lateness {_worst_steady(result):.1f} s"


def _startup(result: dict[str, Any]) -> str:
    if result["startup_s"] is None:
        return f"did not finish within {result['startup_limit_s']:.0f} s (no getUpdates)"
    return f"{result['startup_s']:.0f} s"


def _before(before: dict[str, Any] | None) -> str:
    if before is None:
        return ""
    return f"""
The same run on the code before ({before["label"]}), for comparison:

| cycle | wall s | peak RSS MB | checks later than one tick (Herald's histogram) | worst lateness s (nginx upper bound) |
| --- | --- | --- | --- | --- |
{_cycle_rows(before)}

Before: peak RSS of the tree **{before["peak_mb"]:.0f} MB** (largest single main process
{before["peak_main_mb"]:.0f} MB, largest check worker {before["peak_child_mb"]:.0f} MB),
{_steady_text(before)}, start-up {_startup(before)}.
"""


def _count(late: int | None) -> str:
    return "not measured" if late is None else str(late)


def report(result: dict[str, Any], before: dict[str, Any] | None) -> None:
    rows = _cycle_rows(result)
    worst_steady = _worst_steady(result)
    late_steady = _late_steady(result)
    rss_met = result["peak_mb"] <= FLOOR_RSS_MB
    # Herald's own measure when it has one; else the upper bound from nginx's log.
    late_met = late_steady == 0 if late_steady is not None else worst_steady <= TICK_S
    load = ", ".join(f"{x:.2f}" for x in result["load"])
    print(rows)
    print(f"{'PASS' if rss_met else 'FAIL'}: peak RSS ≤ {FLOOR_RSS_MB:g} MB")
    print(f"{'PASS' if late_met else 'FAIL'}: steady cycles never late by more than one tick")
    body = f"""
One `herald run` process (SQLite store, default check workers) with {SOURCE_COUNT} config
sources polled every **{result["every"]}**, 100 topics, 12 deadlines and {CHAT_COUNT:,}
registered private chats, each following every config deadline and topic ({CHAT_COUNT:,} ×
112 subscriptions, what `/start` gives by default; subscribing them all with
`chats.follow_config_items` took {result["follow_s"]:.1f} s before start). The cold cycle is
every source's first fetch (a baseline: stored, matched, no alert); the steady ones are all
304. Feeds and fake Bot API as in bench_chat.
Measured from outside: RSS of the whole process tree (main process and check workers), sampled
every 0.5 s; every check's start, from nginx's access log. A cycle ends when every source was
fetched once more. Lateness of a check (upper bound): its gap to the source's previous check −
`every` − the largest schedule jitter (10 % of `every`); this also counts the previous check's
own fetch and store time, so it over-states lateness. Measured by Herald itself: the
histogram `herald_source_check_lateness_seconds` (the moment the poller starts a check −
the source's `next_check_at`), scraped from `/metrics` at the end of each cycle: the checks
of the cycle in a bucket above one tick, and the upper bound of the worst bucket holding
any. A poller tick is {TICK_S} s. Machine
shared with other developers' tests; load average (1, 5, 15 min) at the end: {load}.

Start-up (process start to the first getUpdates): {_startup(result)}.

| cycle | wall s | peak RSS MB | checks later than one tick (Herald's histogram) | worst lateness s (nginx upper bound) |
| --- | --- | --- | --- | --- |
{rows}

Peak RSS of the process tree over the run: **{result["peak_mb"]:.0f} MB** (floor ≤
{FLOOR_RSS_MB:g} MB: {"met" if rss_met else "NOT met"}); the largest the main process alone
reached: {result["peak_main_mb"]:.0f} MB, a check worker: {result["peak_child_mb"]:.0f} MB.
Steady-cycle checks Herald measured later than one tick: **{_count(late_steady)}**; worst
lateness from nginx's log (upper bound): {worst_steady:.1f} s (floor: none later than one
tick, {TICK_S} s: {"met" if late_met else "NOT met"}). In the cold cycle every source is due
at once at start-up, so the cycle's length is its lateness.
{_before(before)}"""
    write_section("scale", "Scale and memory: 6,000 sources, 10,000 chats", COMMAND, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", default="10m")
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--checkout", type=Path, default=ROOT, help="run Herald from here")
    parser.add_argument("--label", default="", help="what --checkout holds (for --save)")
    parser.add_argument("--save", type=Path, help="write the figures here, not into the docs")
    parser.add_argument("--before", type=Path, help="figures saved by an earlier --save")
    parser.add_argument("--startup-limit", type=float, default=900.0, help="seconds")
    parser.add_argument("--feeds", type=Path, help="feeds generated by an earlier run (kept)")
    parser.add_argument("--cycle-limit", type=float, default=1800.0, help="seconds per cycle")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="herald-bench-scale-") as temp:
        root = Path(temp)
        os.chmod(root, 0o755)  # noqa: S103 nginx workers, another user, must read it
        result = asyncio.run(
            measure(
                root,
                args.every,
                args.cycles,
                args.checkout.resolve(),
                args.startup_limit,
                args.feeds,
                args.cycle_limit,
            )
        )
    if args.save is not None:
        args.save.write_text(json.dumps(result | {"label": args.label}), encoding="utf-8")
        print(_cycle_rows(result))
        return
    before = json.loads(args.before.read_text(encoding="utf-8")) if args.before else None
    report(result, before)


if __name__ == "__main__":
    main()
