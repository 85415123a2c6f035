"""Chat replies under load: `/deadlines` answered by a running Herald during the cold cycle of
6,000 sources, and idle for comparison.

Run from the repository root: `.venv/bin/python -m bench.bench_chat` (a few minutes; needs
nginx: `apt-get install -y nginx-light`). 6,000 generated 50-item feeds (bench_feeds' generator)
are served by nginx on 127.0.0.1–127.0.0.8; a `herald run` process (SQLite store, its HTTP
server on, the default check workers) has them all as config sources with 100 topics, and
takes its updates from a fake Bot API (tests/fakebot.py) in this process.

Measured from outside: a reply's latency runs from the moment getUpdates hands the update out
to the moment the reply's sendMessage reaches the fake, one `/deadlines` at a time, round-robin
over 20 chats (each of which said /start first, so no sample pays a chat's registration).
Samples run from start-up until every source has been checked once (the cold cycle: every
feed new, fetched, parsed, stored and matched), then the same number with nothing to poll
(idle: the next check is ten minutes away). Peak RSS of Herald's process tree is sampled too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
import yaml

from bench._report import write_section
from bench.bench_feeds import Nginx, _free_port, feed_body
from bench.bench_match import Vocabulary, make_items, make_queries
from tests.fakebot import FakeBotAPI
from tests.replica_harness import Replica, serve_with_tokens, start_replica

COMMAND = ".venv/bin/python -m bench.bench_chat"
SEED = 20261206
SOURCE_COUNT = int(os.environ.get("BENCH_SOURCES", "6000"))  # fewer for a quick check
ITEMS_PER_FEED = 50
TOPIC_COUNT = 100
CHATS = 20
PAUSE_S = 0.1  # between one reply and the next command
REPLY_TIMEOUT_S = 30.0
FLOOR_P99_MS = 300.0


class TimedBotAPI(FakeBotAPI):
    """The fake Bot API, noting when getUpdates first hands each update out."""

    handed_out: dict[int, float]

    def __init__(self) -> None:
        super().__init__()
        self.handed_out = {}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        updates = await super()._get_updates(params)
        now = time.time()
        for update in updates:
            self.handed_out.setdefault(int(update["update_id"]), now)
        return updates


def generate_feeds(www: Path, count: int, seed: int) -> tuple[int, int]:
    """Write `count` feeds into www/; return the smallest and largest size in bytes."""
    vocab = Vocabulary(random.Random(seed))
    sizes = []
    for number in range(count):
        body = feed_body(number, vocab, make_items(vocab, ITEMS_PER_FEED))
        sizes.append(len(body))
        (www / f"f{number}.xml").write_bytes(body)
    return min(sizes), max(sizes)


def write_config(path: Path, nginx: Nginx, count: int, every: str, **extra: Any) -> None:
    vocab = Vocabulary(random.Random(SEED + 1))
    config = {
        "timezone": "UTC",
        "subscribe_new_chats": "all",
        "commands_per_minute": 1000,
        "deadlines": [
            {"id": f"d{n}", "title": f"Deadline {n}", "due": f"2031-0{n % 9 + 1}-15 12:00"}
            for n in range(12)
        ],
        "topics": [
            {"id": slug, "title": slug, "query": query}
            for slug, query in make_queries(vocab, TOPIC_COUNT).items()
        ],
        "sources": [{"url": nginx.url(n), "every": every} for n in range(count)],
        **extra,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def checked_sources(metrics_url: str) -> int:
    """Source checks stored so far, read from Herald's /metrics (the store is left alone)."""
    try:
        body = httpx.get(metrics_url, timeout=5).text
    except httpx.HTTPError:
        return 0
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in body.splitlines()
            if line.startswith("herald_sources_polled_total")
        )
    )


def tree_rss(pid: int) -> list[float]:
    """RSS of a process and of each of its descendants, in MB (the process first)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return []
    sizes = []
    for process in processes:
        with contextlib.suppress(psutil.Error):
            sizes.append(process.memory_info().rss / 2**20)
    return sizes


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants, in MB."""
    return sum(tree_rss(pid))


@dataclass
class RssWatch:
    pid: int
    peak_mb: float = 0.0
    samples: list[tuple[float, float]] = field(default_factory=list)
    # The largest RSS seen of the main process, and of any one of its children (MB).
    peak_main_mb: float = 0.0
    peak_child_mb: float = 0.0

    async def run(self, every_s: float = 0.25) -> None:
        while True:
            sizes = tree_rss(self.pid)
            rss = sum(sizes)
            self.samples.append((time.time(), rss))
            self.peak_mb = max(self.peak_mb, rss)
            if sizes:
                self.peak_main_mb = max(self.peak_main_mb, sizes[0])
                self.peak_child_mb = max(self.peak_child_mb, *sizes[1:], 0.0)
            await asyncio.sleep(every_s)


def _reply_at(api: FakeBotAPI, chat_id: int, after: float) -> float | None:
    for call in reversed(api.calls):
        if call.at < after:
            return None
        if call.method == "sendMessage" and int(call.params.get("chat_id", 0)) == chat_id:
            return call.at
    return None


async def ask(api: TimedBotAPI, chat_id: int, command: str) -> float:
    """Send `command` from chat_id; milliseconds from hand-out to the reply at the fake."""
    await api.push_text(chat_id, command)
    update_id = int(api.updates[-1]["update_id"])
    await api.wait_for(lambda: update_id in api.handed_out, REPLY_TIMEOUT_S)
    handed = api.handed_out[update_id]
    await api.wait_for(lambda: _reply_at(api, chat_id, handed) is not None, REPLY_TIMEOUT_S)
    replied = _reply_at(api, chat_id, handed)
    assert replied is not None
    return (replied - handed) * 1000


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_row(name: str, values: list[float]) -> str:
    return (
        f"| {name} | {len(values)} | {statistics.median(values):.0f} "
        f"| {percentile(values, 0.95):.0f} | {percentile(values, 0.99):.0f} | {max(values):.0f} |"
    )


def reuse_feeds(www: Path, feeds: Path | None) -> tuple[int, int] | None:
    """Serve the feeds an earlier run generated (same seed, same files), if `feeds` has them
    all: www becomes a link to it. Their smallest and largest size, or None."""
    if feeds is None or len(files := list(feeds.glob("f*.xml"))) != SOURCE_COUNT:
        return None
    www.symlink_to(feeds.resolve())
    sizes = [file.stat().st_size for file in files]
    return min(sizes), max(sizes)


async def measure(root: Path, feeds: Path | None = None) -> dict[str, Any]:
    www = root / "www"
    started = time.perf_counter()
    if (sizes := reuse_feeds(www, feeds)) is None:
        www.mkdir()
        sizes = generate_feeds(www, SOURCE_COUNT, SEED)
    smallest, largest = sizes
    print(f"{SOURCE_COUNT} feeds in {time.perf_counter() - started:.0f} s", flush=True)
    with Nginx(root) as nginx:
        config = root / "config.yaml"
        write_config(config, nginx, SOURCE_COUNT, "10m")
        db_url = f"sqlite:///{root / 'herald.db'}"
        api = TimedBotAPI()
        served = serve_with_tokens(api)
        listen = f"127.0.0.1:{_free_port()}"
        replica = await start_replica("chat", config, db_url, served.base_url, HERALD_LISTEN=listen)
        watch = RssWatch(replica.pid)
        watcher = asyncio.create_task(watch.run())
        try:
            return await _phases(api, replica, f"http://{listen}/metrics", watch) | {
                "sizes": (smallest, largest)
            }
        except BaseException:
            print(replica.tail(60), flush=True)
            raise
        finally:
            watcher.cancel()
            await replica.stop()
            served.server.stop()


async def _phases(
    api: TimedBotAPI, replica: Replica, metrics_url: str, watch: RssWatch
) -> dict[str, Any]:
    await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls), 120)
    chats = [1_000 + n for n in range(CHATS)]
    for chat_id in chats:
        await ask(api, chat_id, "/start")
    checked_at_warm = checked_sources(metrics_url)
    cold: list[float] = []
    cycle_started = time.time()
    n = 0
    while (checked := checked_sources(metrics_url)) < SOURCE_COUNT:
        cold.append(await ask(api, chats[n % CHATS], "/deadlines"))
        n += 1
        if n % 25 == 0:
            print(f"cold: {len(cold)} samples, {checked} sources checked", flush=True)
        await asyncio.sleep(PAUSE_S)
        if time.time() - cycle_started > 1800:
            raise RuntimeError(f"cold cycle not done after 30 min: {replica.tail()}")
        if replica.process.returncode is not None:
            raise RuntimeError(f"herald exited: {replica.tail()}")
    cycle_s = time.time() - cycle_started
    cold_peak = watch.peak_mb
    idle: list[float] = []
    for i in range(max(len(cold), 100)):
        idle.append(await ask(api, chats[i % CHATS], "/deadlines"))
        await asyncio.sleep(PAUSE_S)
    return {
        "cold": cold,
        "idle": idle,
        "checked_before_samples": checked_at_warm,
        "cycle_s": cycle_s,
        "cold_peak_mb": cold_peak,
        "idle_rss_mb": tree_rss_mb(replica.pid),
        "load": os.getloadavg(),
    }


def report(result: dict[str, Any]) -> None:
    cold, idle = result["cold"], result["idle"]
    p99 = percentile(cold, 0.99)
    met = p99 <= FLOOR_P99_MS
    print(summary_row("cold", cold))
    print(summary_row("idle", idle))
    print(f"{'PASS' if met else 'FAIL'}: p99 during the cold cycle ≤ {FLOOR_P99_MS:g} ms")
    smallest, largest = result["sizes"]
    load = ", ".join(f"{x:.2f}" for x in result["load"])
    body = f"""
One `herald run` process (SQLite store, HTTP server on, default check workers) with
{SOURCE_COUNT} config sources ({ITEMS_PER_FEED}-item RSS/Atom files of
{smallest / 1000:.0f}–{largest / 1000:.0f} KB, seed {SEED}, served by nginx on
127.0.0.1–127.0.0.8), {TOPIC_COUNT} topics and 12 deadlines, taking updates by long polling
from the fake Bot API (tests/fakebot.py) in the benchmark's process. Latency: from getUpdates
handing the `/deadlines` update out to the reply's sendMessage reaching the fake; one command
at a time, {PAUSE_S * 1000:.0f} ms apart, round-robin over {CHATS} chats that said /start
before. "Cold" samples run from start-up until all {SOURCE_COUNT} sources were checked once
(first fetch of every feed: fetched, parsed, stored, matched; {result["checked_before_samples"]}
were already checked when sampling began); "idle" is the same process afterwards with nothing
due (the comparison baseline). Machine shared: another developer's mutation tests ran at low
priority; load average (1, 5, 15 min) at the end: {load}.

| phase | samples | p50 ms | p95 ms | p99 ms | max ms |
| --- | --- | --- | --- | --- | --- |
{summary_row("during the cold cycle", cold)}
{summary_row("idle", idle)}

Cold cycle: {result["cycle_s"]:.0f} s from the first sample to the last source checked.
Peak RSS of Herald's process tree (main process and check workers) during it:
{result["cold_peak_mb"]:.0f} MB; idle afterwards: {result["idle_rss_mb"]:.0f} MB.

Floor p99 ≤ {FLOOR_P99_MS:g} ms during the cold cycle: {"met" if met else "NOT met"}
(**{p99:.0f} ms**).
"""
    write_section("chat", "Chat replies during a cold cycle of 6,000 sources", COMMAND, body)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=Path, help="feeds generated by an earlier run (kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="herald-bench-chat-") as temp:
        root = Path(temp)
        os.chmod(root, 0o755)  # noqa: S103 nginx workers, another user, must read it
        result = asyncio.run(measure(root, args.feeds))
    report(result)


if __name__ == "__main__":
    main()
