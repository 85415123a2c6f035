"""Parse, key and match one fetched body: the poller's CPU-heavy step, run in worker processes.

Parsing and matching need no database, so they can use another core: `DigestPool` sends
bodies to spawned worker processes (each keeps the compiled Matcher of the current topics)
and falls back to this process when it has no workers or they broke.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

from jobs.sources.dedup import item_key
from jobs.sources.match import Document, Matcher
from jobs.sources.parse import FeedData, parse_feed
from jobs.sources.parse import Item as ParsedItem

log = logging.getLogger(__name__)
MAX_WORKERS = 2
WARM_UP_FEED = b"<rss><channel><title>t</title><item><title>x</title></item></channel></rss>"


@dataclass(frozen=True, slots=True)
class Body:
    """A fetched body and how to read it."""

    body: bytes
    url: str
    content_type: str | None
    kind: str
    select: str | None


@dataclass(frozen=True, slots=True)
class Digest:
    """A parsed body: its title, item count, and each distinct item with the topics it matches."""

    title: str
    parsed: int
    items: tuple[tuple[str, ParsedItem, tuple[str, ...]], ...]


def keyed_items(feed: FeedData) -> dict[str, ParsedItem]:
    """Items by identity key, the first of any repeated key kept, in feed order."""
    keyed: dict[str, ParsedItem] = {}
    for item in feed.items:
        keyed.setdefault(item_key(item), item)
    return keyed


def digest_body(body: Body, now: datetime, matcher: Matcher) -> Digest:
    """Parse (raises ParseError), key and match one body."""
    feed = parse_feed(
        body.body,
        url=body.url,
        content_type=body.content_type,
        kind=body.kind,
        select=body.select,
        now=now,
    )
    items = tuple(
        (key, item, tuple(matcher.match(Document(item.title, item.summary, item.link or ""))))
        for key, item in keyed_items(feed).items()
    )
    return Digest(feed.title, len(feed.items), items)


_worker_matcher: tuple[int, Matcher] | None = None


def _digest_in_worker(
    body: Body, now: datetime, queries_key: int, queries: dict[str, str]
) -> Digest:
    global _worker_matcher
    if _worker_matcher is None or _worker_matcher[0] != queries_key:
        _worker_matcher = (queries_key, Matcher(queries))
    return digest_body(body, now, _worker_matcher[1])


def default_workers() -> int:
    """One worker per core beyond the first (the event loop and the store keep one busy)."""
    return max(0, min(MAX_WORKERS, (os.cpu_count() or 1) - 1))


class DigestPool:
    """Digests bodies in `workers` spawned processes (0: in this process)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor | None:
        if self.workers and self._executor is None:
            # Spawned, not forked: the parent runs an event loop, threads and a DB pool.
            context = multiprocessing.get_context("spawn")
            self._executor = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._executor

    async def digest(
        self,
        body: Body,
        now: datetime,
        matcher: Matcher,
        queries_key: int,
        queries: dict[str, str],
    ) -> Digest:
        pool = self._pool()
        if pool is None:
            return digest_body(body, now, matcher)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                pool, _digest_in_worker, body, now, queries_key, queries
            )
        except BrokenProcessPool:
            log.exception("digest workers broke; digesting in this process from now on")
            self.close()
            self.workers = 0
            return digest_body(body, now, matcher)

    async def warm_up(self, now: datetime, queries_key: int, queries: dict[str, str]) -> None:
        """Start the workers and compile the topics in each, before the first real body."""
        pool = self._pool()
        if pool is None:
            return
        loop = asyncio.get_running_loop()
        sample = Body(WARM_UP_FEED, "http://warm.up/", None, "feed", None)
        await asyncio.gather(
            *(
                loop.run_in_executor(pool, _digest_in_worker, sample, now, queries_key, queries)
                for _ in range(self.workers * 2)
            )
        )

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
