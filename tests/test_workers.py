"""Check workers: the same outcome as checking in the poller's process, and a dead worker's
checks done by the poller instead."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from jobs.sources.fetch import Fetcher, HTTPStatusError
from jobs.sources.match import Matcher
from jobs.sources.parse import ParseError
from jobs.sources.workers import CheckRequest, CheckWorkers, WorkersGone, check_here
from tests.sources_server import SourcesServer

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
QUERIES = {"first": "first", "stories": "story"}
PATHS = [
    "/feed.xml",
    "/feed.gz",
    "/status/500",
    "/status/429",
    "/malformed",
    "/loop",
    "/charset-wrong",
]


@pytest.fixture(scope="module")
def server() -> Iterator[SourcesServer]:
    with SourcesServer() as running:
        yield running


@pytest.fixture
async def workers() -> AsyncIterator[CheckWorkers]:
    async with Fetcher() as fetcher:
        assert fetcher.settings is not None
        pool = CheckWorkers(2, fetcher.settings)
        await pool.warm_up(1, QUERIES)
        yield pool
        pool.close()


def request(server: SourcesServer, path: str) -> CheckRequest:
    return CheckRequest(server.url(path), None, None, True, "feed", None, NOW)


def summary(outcome: tuple[object, object]) -> tuple[object, ...]:
    result, digest = outcome
    assert result.body is None  # type: ignore[attr-defined]  # bodies never travel back
    error = result.error  # type: ignore[attr-defined]
    facts = (result.status, result.etag, type(error), getattr(error, "message", None))  # type: ignore[attr-defined]
    if isinstance(digest, ParseError):
        return (*facts, "parse error", digest.message)
    return (*facts, digest)


async def test_workers_answer_as_the_poller_would(
    server: SourcesServer, workers: CheckWorkers
) -> None:
    matcher = Matcher(QUERIES)
    async with Fetcher() as fetcher:
        for path in PATHS:
            here = await check_here(fetcher, matcher, request(server, path))
            there = await workers.check(request(server, path), 1, QUERIES)
            assert summary(there) == summary(here), path
    first = await workers.check(request(server, "/feed.xml"), 1, QUERIES)
    assert [(key, slugs) for key, _, slugs in first[1].items] == [  # type: ignore[union-attr]
        ("guid:local-1", ("first", "stories")),
        ("guid:local-2", ("stories",)),
    ]
    failed = await workers.check(request(server, "/status/500"), 1, QUERIES)
    assert isinstance(failed[0].error, HTTPStatusError) and failed[0].error.status == 500


async def test_new_topics_reach_the_workers(server: SourcesServer, workers: CheckWorkers) -> None:
    _, digest = await workers.check(request(server, "/feed.xml"), 2, {"second": "second"})
    assert [slugs for _, _, slugs in digest.items] == [(), ("second",)]  # type: ignore[union-attr]


async def test_a_dead_worker_fails_its_checks_over(
    server: SourcesServer, workers: CheckWorkers
) -> None:
    for handle in workers._workers:
        os.kill(handle.process.pid, signal.SIGKILL)
        handle.process.join(5)
    with pytest.raises(WorkersGone):
        await workers.check(request(server, "/feed.xml"), 1, QUERIES)
    assert workers.broken
    with pytest.raises(WorkersGone):  # and stays so: the poller checks in its own process
        await workers.check(request(server, "/feed.xml"), 1, QUERIES)


@pytest.mark.parametrize(("max_concurrency", "per_host", "expected"), [(8, 2, 2), (1, 4, 1)])
async def test_limits_hold_across_workers_and_work_is_shared(
    server: SourcesServer, max_concurrency: int, per_host: int, expected: int
) -> None:
    """Two workers still open at most `per_host_limit` connections to one host, and a host's
    checks are not all left to one worker."""
    server.reset()
    urls = [f"/slow-headers?s=0.1&count=1&n={n}" for n in range(6)]
    async with Fetcher(max_concurrency=max_concurrency, per_host_limit=per_host) as fetcher:
        assert fetcher.settings is not None
        pool = CheckWorkers(2, fetcher.settings)
        await pool.warm_up(1, QUERIES)
        used: list[int] = []
        original = pool._check_in

        async def spy(handle, *args):  # type: ignore[no-untyped-def]
            used.append(pool._workers.index(handle))
            return await original(handle, *args)

        pool._check_in = spy  # type: ignore[method-assign]
        outcomes = await asyncio.gather(*(pool.check(request(server, u), 1, QUERIES) for u in urls))
        pool.close()
    assert [result.status for result, _ in outcomes] == [200] * 6
    assert server.max_active == expected
    assert set(used) == ({0, 1} if expected > 1 else {0})


def test_a_worker_imports_no_store_and_no_telegram() -> None:
    """What a worker process imports: a check needs no SQLAlchemy, pydantic or Telegram, and
    each would cost every worker tens of MB (docs/benchmarks.md, scale)."""
    code = (
        "import sys, jobs.sources.workers; "
        "print(' '.join(m for m in ('sqlalchemy', 'sqlmodel', 'pydantic', 'telegram', 'bot.store')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""
