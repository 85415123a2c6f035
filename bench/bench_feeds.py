"""Benchmark one news cycle over 1,000 sources: cold (all new) and warm (all 304).

Run from the repository root: `.venv/bin/python -m bench.bench_feeds` (needs nginx:
`apt-get install -y nginx-light`). 1,000 generated 50-item RSS and Atom files (30–60 KB, every
item unique) are served by nginx, with its own config on a free port of 127.0.0.1, 127.0.0.2…
(one address per host group: real sources are spread over many hosts, and the fetcher limits
connections per host). The whole pipeline runs against a fresh SQLite store: fetch, parse,
dedup, store, match 100 topics, and write news alerts for one chat following every topic.
The baseline is a sequential loop of `httpx.get` + `feedparser.parse` over the same 1,000
sources. This machine's two cores are shared and its speed wanders (by ±20 % within minutes,
several-fold between hours), so the cold and warm cycles run three times each, the floors are
judged on the median, and the baseline runs in three parts, one after each cold cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import feedparser
import httpx
import psutil  # type: ignore[import-untyped]
from sqlalchemy import func, update
from sqlmodel import col, select

from bench._report import write_section
from bench.bench_match import FILLER, Vocabulary, make_items, make_queries
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Alert, Chat, Item, ItemTopic, Source, Topic, TopicSubscription
from jobs.sources.fetch import Fetcher
from jobs.sources.match import Document
from jobs.sources.poll import Poller
from jobs.sources.workers import default_workers

SEED = 20260709
SOURCE_COUNT = 1_000
ITEMS_PER_FEED = 50
TOPIC_COUNT = 100
HOST_GROUPS = 8  # 127.0.0.1 … 127.0.0.8
RUNS = 3
CONCURRENCY_LEVELS = (4, 8, 16, 32)
WORKER_COUNTS = (0, 1)  # compared with the default (2 on this machine)
CHOSEN_CONCURRENCY = 16  # the Fetcher default (MAX_CONCURRENCY)
FLOOR_COLD_S = 10.0
FLOOR_WARM_S = 3.0
FLOOR_SPEEDUP = 10.0
NGINX_CONF = """
worker_processes 1;
daemon off;
master_process on;
user root;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    types {{ application/rss+xml xml; }}
    server {{
        {listen}
        root {root}/www;
        etag on;
    }}
}}
"""


def _paragraph(vocab: Vocabulary, rng: random.Random) -> str:
    return " ".join(rng.choices(FILLER, k=6) + vocab.sample(rng.randint(4, 40))).capitalize()


def feed_body(number: int, vocab: Vocabulary, docs: list[Document]) -> bytes:
    """A 50-item RSS (even numbers) or Atom (odd) document; ids unique across all feeds.

    Titles and first paragraphs are bench_match's synthetic news items (so topics match as
    often as there); more paragraphs of the same vocabulary bring the file to 30–60 KB.
    """
    rng = vocab.rng
    start = datetime(2026, 6, 1, tzinfo=UTC)
    parts = []
    for index, doc in enumerate(docs):
        when = start - timedelta(minutes=17 * index + number)
        more = f"<p>{_paragraph(vocab, rng)}</p>"
        title, summary = escape(doc.title), escape(f"<p>{doc.summary}</p>{more}")
        link = escape(f"{doc.url}?utm_source=rss&n={number}-{index}")
        if number % 2 == 0:
            parts.append(
                f"<item><title>{title}</title><link>{link}</link>"
                f'<guid isPermaLink="false">s{number}-{index}</guid>'
                f"<pubDate>{when:%a, %d %b %Y %H:%M:%S} GMT</pubDate>"
                f"<description>{summary}</description></item>"
            )
        else:
            parts.append(
                f'<entry><title>{title}</title><link href="{link}"/>'
                f"<id>tag:news.test,2026:{number}:{index}</id><updated>{when.isoformat()}</updated>"
                f'<summary type="html">{summary}</summary></entry>'
            )
    if number % 2 == 0:
        head = '<rss version="2.0"><channel><title>Feed</title><link>https://news.test/</link>'
        tail = "</channel></rss>"
    else:
        head, tail = '<feed xmlns="http://www.w3.org/2005/Atom"><title>Feed</title>', "</feed>"
    return f'<?xml version="1.0" encoding="utf-8"?>{head}{"".join(parts)}{tail}'.encode()


@dataclass(frozen=True)
class Cycle:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    ok: int
    new: int
    not_modified: int
    alerts: int


def _peak_rss_mb() -> float:
    """This process's peak RSS plus the largest of its digest workers' current RSS."""
    workers = [p for p in psutil.Process().children() if p.name() != "nginx"]
    largest = max((p.memory_info().rss for p in workers), default=0)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + largest / 2**20


def _cpu_s() -> float:
    """CPU seconds of this process and its digest workers (nginx excluded)."""
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children():
        with contextlib.suppress(psutil.Error):
            if child.name() != "nginx":
                total += sum(child.cpu_times()[:2])
    return total


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Nginx:
    """nginx serving `www/` from a private prefix, on one port of several loopback addresses."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = _free_port()
        (root / "tmp").mkdir()
        listen = " ".join(f"listen 127.0.0.{h + 1}:{self.port};" for h in range(HOST_GROUPS))
        (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, listen=listen))
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, number: int) -> str:
        return f"http://127.0.0.{number % HOST_GROUPS + 1}:{self.port}/f{number}.xml"

    def __enter__(self) -> Nginx:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([nginx, "-p", str(self.root), "-c", "nginx.conf"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url(0), timeout=1).raise_for_status()
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not start; see {self.root}/error.log")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def prepare_store(url: str, nginx: Nginx, queries: dict[str, str]) -> Any:
    engine = make_engine(url)
    migrate(engine)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        session.add(Chat(id=1, kind="private"))
        for number in range(SOURCE_COUNT):
            url_n = nginx.url(number)
            session.add(Source(key=f"feed:{url_n}", kind="feed", url=url_n, next_check_at=now))
        session.flush()
        for slug, query in queries.items():
            topic = Topic(slug=slug, title=slug, query=query)
            session.add(topic)
            session.flush()
            assert topic.id is not None
            session.add(TopicSubscription(chat_id=1, topic_id=topic.id))
        # Not a first fetch: the cold cycle runs the whole path, alerts included.
        session.execute(update(Source).values(baseline_done=True))
    return engine


async def run_cycle(engine: Any, concurrency: int, workers: int | None = None) -> Cycle:
    with session_scope(engine) as session:
        session.execute(update(Source).values(next_check_at=datetime.now(UTC)))
    async with Fetcher(max_concurrency=concurrency) as fetcher:
        chosen = default_workers() if workers is None else workers
        poller = Poller(engine, fetcher, workers=chosen)
        await poller.warm_up()
        wall, cpu = time.perf_counter(), _cpu_s()
        reports = await poller.run_due(datetime.now(UTC) + timedelta(seconds=1))
        cpu_s, wall_s = _cpu_s() - cpu, time.perf_counter() - wall
        await poller.aclose()
    return Cycle(
        wall_s,
        cpu_s,
        _peak_rss_mb(),
        sum(r.ok for r in reports),
        sum(r.new for r in reports),
        sum(r.not_modified for r in reports),
        sum(r.alerts for r in reports),
    )


def naive_baseline(nginx: Nginx, part: int) -> tuple[float, int]:
    """Sequential httpx.get + feedparser.parse over one of RUNS equal parts of the sources;
    returns (seconds, entries). Run between the cold cycles, so that both sample the same
    stretch of this machine's wandering speed."""
    started = time.perf_counter()
    entries = 0
    for number in range(SOURCE_COUNT)[part::RUNS]:
        response = httpx.get(nginx.url(number))
        entries += len(feedparser.parse(response.content).entries)
    return time.perf_counter() - started, entries


def median(cycles: list[Cycle]) -> Cycle:
    return sorted(cycles, key=lambda c: c.wall_s)[len(cycles) // 2]


def _cycle_row(name: str, cycle: Cycle) -> str:
    return (
        f"| {name} | {cycle.wall_s:.2f} | {cycle.cpu_s:.2f} | {cycle.peak_rss_mb:.0f} "
        f"| {cycle.ok} | {cycle.new} | {cycle.not_modified} | {cycle.alerts} |"
    )


def main() -> None:
    vocab = Vocabulary(random.Random(SEED))
    with tempfile.TemporaryDirectory(prefix="herald-bench-feeds-") as temp:
        root = Path(temp)
        os.chmod(root, 0o755)  # noqa: S103 nginx workers, another user, must read it
        (root / "www").mkdir()
        sizes = []
        for number in range(SOURCE_COUNT):
            body = feed_body(number, vocab, make_items(vocab, ITEMS_PER_FEED))
            sizes.append(len(body))
            (root / "www" / f"f{number}.xml").write_bytes(body)
        print(f"{SOURCE_COUNT} feeds, {min(sizes) / 1000:.0f}–{max(sizes) / 1000:.0f} KB")
        queries = make_queries(vocab, TOPIC_COUNT)
        with Nginx(root) as nginx:
            colds = []
            naive_s, naive_entries = 0.0, 0
            for run in range(RUNS):
                engine = prepare_store(f"sqlite:///{root / f'cold{run}.db'}", nginx, queries)
                colds.append(asyncio.run(run_cycle(engine, CHOSEN_CONCURRENCY)))
                print(_cycle_row(f"cold {run + 1}", colds[-1]), flush=True)
                if run < RUNS - 1:
                    engine.dispose()
                part_s, part_entries = naive_baseline(nginx, run)
                naive_s, naive_entries = naive_s + part_s, naive_entries + part_entries
                print(f"naive baseline, part {run + 1}: {part_s:.1f} s", flush=True)
            warms = []
            for run in range(RUNS):
                warms.append(asyncio.run(run_cycle(engine, CHOSEN_CONCURRENCY)))
                print(_cycle_row(f"warm {run + 1}", warms[-1]), flush=True)
            with session_scope(engine) as session:
                stored = session.exec(select(func.count(col(Item.id)))).one()
                matched = session.exec(select(func.count(col(ItemTopic.item_id)))).one()
                alerts = session.exec(select(func.count(col(Alert.id)))).one()
            levels = []
            for level in CONCURRENCY_LEVELS:
                warm_n = asyncio.run(run_cycle(engine, level))
                levels.append((level, warm_n))
                print(f"warm at {level}: {warm_n.wall_s:.2f} s", flush=True)
            engine.dispose()
            by_workers = []
            for count in WORKER_COUNTS:
                engine = prepare_store(f"sqlite:///{root / f'w{count}.db'}", nginx, queries)
                by_workers.append(
                    (count, asyncio.run(run_cycle(engine, CHOSEN_CONCURRENCY, workers=count)))
                )
                print(_cycle_row(f"cold, workers={count}", by_workers[-1][1]), flush=True)
                engine.dispose()
        counts = (stored, matched, alerts)
        report(colds, warms, by_workers, levels, naive_s, naive_entries, counts, sizes)


def report(
    colds: list[Cycle],
    warms: list[Cycle],
    by_workers: list[tuple[int, Cycle]],
    levels: list[tuple[int, Cycle]],
    naive_s: float,
    naive_entries: int,
    counts: tuple[int, int, int],
    sizes: list[int],
) -> None:
    cold, warm = median(colds), median(warms)
    speedup = naive_s / cold.wall_s
    floors = {
        f"cold ≤ {FLOOR_COLD_S:g} s": cold.wall_s <= FLOOR_COLD_S,
        f"cold ≥ {FLOOR_SPEEDUP:g}× the baseline": speedup >= FLOOR_SPEEDUP,
        f"warm ≤ {FLOOR_WARM_S:g} s": warm.wall_s <= FLOOR_WARM_S,
        "every source fetched in every cycle": all(c.ok == SOURCE_COUNT for c in [*colds, *warms]),
        f"all {SOURCE_COUNT * ITEMS_PER_FEED} items new once": all(
            c.new == SOURCE_COUNT * ITEMS_PER_FEED for c in colds
        )
        and all(w.new == 0 for w in warms),
    }
    for name, met in floors.items():
        print(f"{'PASS' if met else 'FAIL'}: {name}")
    level_rows = "\n".join(
        f"| {level} | {cycle.wall_s:.2f} | {cycle.cpu_s:.2f} |" for level, cycle in levels
    )
    cycle_rows = "\n".join(
        [_cycle_row(f"cold {n + 1} (all 200)", c) for n, c in enumerate(colds)]
        + [_cycle_row(f"warm {n + 1} (all 304)", c) for n, c in enumerate(warms)]
        + [_cycle_row(f"cold, {w} check worker(s)", c) for w, c in by_workers]
    )
    stored, matched, alerts = counts
    body = f"""
{SOURCE_COUNT} sources: {ITEMS_PER_FEED}-item RSS and Atom files of
{min(sizes) / 1000:.0f}–{max(sizes) / 1000:.0f} KB (seed {SEED}) served by nginx on
127.0.0.1–127.0.0.{HOST_GROUPS} (one port); {TOPIC_COUNT} topics (bench_match's generator), one chat following them all;
fresh SQLite store (WAL). The cycle is `Poller.run_due`: fetch, parse, dedup against the store,
store, match, write news alerts. Fetcher: `max_concurrency={CHOSEN_CONCURRENCY}`, 2 per host;
fetching, parsing and matching in {default_workers()} check worker process(es)
(`default_workers()`), the store in a thread of the poller's process.
CPU is this process's and its workers' (nginx excluded); peak RSS is this process's maximum so
far plus its largest worker's. Load average when the run ended: {os.getloadavg()[0]:.2f}.

| cycle | wall s | CPU s | peak RSS MB | sources ok | new items | 304 | alerts written |
| --- | --- | --- | --- | --- | --- | --- | --- |
{cycle_rows}

Median cold cycle: **{cold.wall_s:.2f} s**; median warm cycle: **{warm.wall_s:.2f} s**.
Stored after a cold cycle: {stored} items, {matched} item–topic matches, {alerts} alerts.

Naive baseline (sequential `httpx.get` + `feedparser.parse`, all {SOURCE_COUNT} sources,
{naive_entries} entries, in {RUNS} parts run between the cold cycles): **{naive_s:.1f} s**. Median cold cycle's speed-up over it:
**{speedup:.1f}×** (and it does more: dedup, store, match, alerts).

Client concurrency (`max_concurrency`), warm cycle (all 304, so fetching is all there is):

| max_concurrency | wall s | CPU s |
| --- | --- | --- |
{level_rows}

Floors: {"; ".join(f"{name}: {'met' if met else 'NOT met'}" for name, met in floors.items())}.
"""
    write_section(
        "feeds", "News cycle over 1,000 sources", ".venv/bin/python -m bench.bench_feeds", body
    )


if __name__ == "__main__":
    main()
