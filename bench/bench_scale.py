"""Scale and memory: a running Herald with 6,000 sources and 10,000 chats over several cycles.

Run from the repository root: `.venv/bin/python -m bench.bench_scale [--every 1m] [--cycles 3]`
(several minutes; needs nginx: `apt-get install -y nginx-light`). 6,000 generated feeds (as in
bench_chat) served by nginx on 127.0.0.1–127.0.0.8 are config sources; 10,000 private chats
are registered in the SQLite store before start; `herald run` takes updates from the fake Bot
API in this process. To fit several full cycles into minutes, every source is polled every
`--every` (default 1m, the shortest Herald accepts) instead of the usual 10 minutes.

Measured from outside: the RSS of Herald's whole process tree (main process and check
workers) every half second, and each check's start from nginx's access log (how late a check
started: its gap to the previous one minus `every` and the largest jitter; a tick is 5 s). The cold cycle (all sources due
at start, every feed new) runs first; then `--cycles` steady cycles (304s, each source checked
`every` after its last check). A cycle ends when every source has been checked since it began.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench._report import write_section
from bench.bench_chat import (
    SEED,
    RssWatch,
    TimedBotAPI,
    generate_feeds,
    write_config,
)
from bench.bench_feeds import Nginx
from bot.store.db import make_engine, migrate
from bot.store.models import Chat
from jobs.sources.fetch import JITTER_FRACTION
from jobs.sources.poll import TICK_S
from tests.replica_harness import serve_with_tokens, start_replica

COMMAND = ".venv/bin/python -m bench.bench_scale"
SOURCE_COUNT = 6_000
CHAT_COUNT = 10_000
FLOOR_RSS_MB = 200.0


def _seconds(every: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(float(every[:-1]) * units[every[-1]])


def register_chats(db_url: str, count: int) -> None:
    engine = make_engine(db_url)
    migrate(engine)
    rows = [{"id": 10_000 + n, "kind": "private", "auto_follow": False} for n in range(count)]
    with engine.begin() as connection:
        connection.execute(insert(Chat), rows)
    engine.dispose()


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


async def measure(root: Path, every: str, cycles: int) -> dict[str, Any]:
    www = root / "www"
    www.mkdir()
    started = time.perf_counter()
    generate_feeds(www, SOURCE_COUNT, SEED)
    print(f"{SOURCE_COUNT} feeds in {time.perf_counter() - started:.0f} s", flush=True)
    db_url = f"sqlite:///{root / 'herald.db'}"
    register_chats(db_url, CHAT_COUNT)
    with LoggedNginx(root) as nginx:
        config = root / "config.yaml"
        write_config(config, nginx, SOURCE_COUNT, every)
        api = TimedBotAPI()
        served = serve_with_tokens(api)
        started_at = time.time()
        replica = await start_replica("scale", config, db_url, served.base_url)
        watch = RssWatch(replica.pid)
        watcher = asyncio.create_task(watch.run(0.5))
        results = []
        try:
            await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls), 900)
            startup_s = time.time() - started_at
            for number in range(cycles + 1):
                began_t = time.time()
                peak_before, watch.peak_mb = watch.peak_mb, 0.0
                while (done := nginx.checked_at_least(number + 1)) < SOURCE_COUNT:
                    if replica.process.returncode is not None:
                        raise RuntimeError(f"herald exited: {replica.tail()}")
                    if time.time() - began_t > 1800:
                        raise RuntimeError(f"cycle {number} not done: {done} checked")
                    await asyncio.sleep(0.5)
                    nginx.read_log()
                name = "cold" if number == 0 else f"steady {number}"
                excess = _excess(nginx.fetches, number, _seconds(every))
                results.append((name, time.time() - began_t, watch.peak_mb, excess))
                watch.peak_mb = max(peak_before, watch.peak_mb)
                print(
                    f"{name}: {results[-1][1]:.0f} s, peak {results[-1][2]:.0f} MB, "
                    f"worst excess {excess:.1f} s",
                    flush=True,
                )
        except BaseException:
            print(replica.tail(60), flush=True)
            raise
        finally:
            watcher.cancel()
            await replica.stop()
            served.server.stop()
    overall = max(r[2] for r in results)
    return {
        "cycles": results,
        "peak_mb": overall,
        "end_rss_mb": watch.samples[-1][1] if watch.samples else 0.0,
        "load": os.getloadavg(),
        "every": every,
        "startup_s": startup_s,
    }


def report(result: dict[str, Any]) -> None:
    rows = "\n".join(
        f"| {name} | {wall:.0f} | {peak:.0f} | {'all due at start' if name == 'cold' else f'{late:.1f}'} |"
        for name, wall, peak, late in result["cycles"]
    )
    steady = result["cycles"][1:]
    worst_steady = max((late for *_, late in steady), default=0.0)
    rss_met = result["peak_mb"] <= FLOOR_RSS_MB
    late_met = worst_steady <= TICK_S
    load = ", ".join(f"{x:.2f}" for x in result["load"])
    print(rows)
    print(f"{'PASS' if rss_met else 'FAIL'}: peak RSS ≤ {FLOOR_RSS_MB:g} MB")
    print(f"{'PASS' if late_met else 'FAIL'}: steady cycles never late by more than one tick")
    body = f"""
One `herald run` process (SQLite store, default check workers) with {SOURCE_COUNT} config
sources polled every **{result["every"]}** (shortened from 10 minutes so that the cycles fit
in minutes: each cycle does the same work as a 10-minute one, in a tenth of the time), 100
topics, 12 deadlines and {CHAT_COUNT:,} registered private chats (inserted into the store before
start with `auto_follow` off, so they follow nothing: at start-up Herald subscribes every
auto-following chat to every config item one row at a time, which with 10,000 chats and 112
items did not finish within two minutes; that is left out here), and no news alert is written: the cold cycle is every source's
first fetch, the steady ones are all 304). Feeds and fake Bot API as in bench_chat.
Measured from outside: RSS of the whole process tree (main process and check workers), sampled
every 0.5 s; every check's start, from nginx's access log. A cycle ends when every source was
fetched once more. Lateness of a check (upper bound): its gap to the source's previous check −
`every` − the largest schedule jitter (10 % of `every`); this also counts the previous check's
own fetch and store time, so it over-states lateness. A poller tick is {TICK_S} s. Machine shared: another
developer's mutation tests ran at low priority; load average (1, 5, 15 min) at the end: {load}.

Start-up (process start to the first getUpdates): {result["startup_s"]:.0f} s.

| cycle | wall s | peak RSS MB | worst lateness s (upper bound) |
| --- | --- | --- | --- |
{rows}

Peak RSS of the process tree over the run: **{result["peak_mb"]:.0f} MB** (floor ≤
{FLOOR_RSS_MB:g} MB: {"met" if rss_met else "NOT met"}). Worst lateness in the steady cycles
(upper bound): **{worst_steady:.1f} s** (floor ≤ one tick, {TICK_S} s: {"met" if late_met else "NOT met"});
in the cold cycle every source is due at once at start-up, so the cycle's length is its
lateness.
"""
    write_section("scale", "Scale and memory: 6,000 sources, 10,000 chats", COMMAND, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--every", default="1m")
    parser.add_argument("--cycles", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="herald-bench-scale-") as temp:
        root = Path(temp)
        os.chmod(root, 0o755)  # noqa: S103 nginx workers, another user, must read it
        result = asyncio.run(measure(root, args.every, args.cycles))
    report(result)


if __name__ == "__main__":
    main()
