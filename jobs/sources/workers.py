"""Worker processes that fetch, parse and match sources: the CPU-heavy half of a news cycle.

The poller's process keeps the store and the schedule. Each worker runs its own event loop
with its own `Fetcher` (so its own connection pools) and the compiled topics, and answers a
check with the fetch's outcome and the parsed, matched feed: bodies never cross processes.
The poller holds the global and per-host limits itself and gives each check to the worker
with the fewest checks in hand, so one busy host (every Google News search is on one) never
leaves a worker idle.

A worker imports only what a check needs (fetch, parse, match): not the store, whose
SQLAlchemy and pydantic would cost each worker some 30 MB of memory for nothing.

Two one-way pipes per worker: checks go in on one, answers come back on the other, written by
a thread of the worker so its event loop never blocks on a full pipe (and neither process
can wait on the other forever). If a worker dies, its checks fail with `WorkersGone` and the
poller checks sources in its own process from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any, cast

from jobs.sources.digest import Body, ParsedFeed, digest_body
from jobs.sources.fetch import PER_HOST_LIMIT, Fetcher, FetchResult, HostLimiter, host_key
from jobs.sources.match import Matcher
from jobs.sources.parse import ParseError

log = logging.getLogger(__name__)

# One worker: with it the poller's own process (which stores, in a thread) has the other core
# of a two-core machine, and a cold cycle takes about a fifth longer than with two
# (docs/benchmarks.md, feeds), while each worker costs 50 MB of RSS (scale).
MAX_WORKERS = 1
# Checks waiting in one worker's pipe at most; more wait in the poller (a full pipe would
# block the poller's event loop).
MAX_QUEUED_PER_WORKER = 64
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 5.0
GC_THRESHOLD = 10_000  # allocations between young-generation collections (CPython: 700)

Outcome = tuple[FetchResult, "ParsedFeed | ParseError | None"]


def default_workers() -> int:
    """One worker per core, at most MAX_WORKERS."""
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


class WorkersGone(Exception):
    """The worker that had the check died; check it somewhere else."""


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """One source to check, as the worker needs it."""

    url: str
    etag: str | None
    last_modified: str | None
    trusted: bool
    kind: str
    select: str | None
    now: datetime | None = None  # for dates in the feed; None: when the body arrived


@dataclass(frozen=True, slots=True)
class _Failed:
    """A check that broke inside the worker (a bug): the poller reports it for the source."""

    message: str


# --- the worker process ------------------------------------------------------------------------


def main(checks_fd: int, answers_fd: int) -> None:
    """A worker process's entry (`python -c`, see `_WorkerProcess`): the settings come first
    on the checks pipe."""
    from bot.memory import limit_arenas

    limit_arenas()  # the resolver's threads would each grow an arena
    checks = Connection(checks_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    try:
        settings = checks.recv()
    except EOFError:  # the poller went away before saying anything
        return
    _serve(checks, answers, settings)


def _serve(checks: Connection, answers: Connection, settings: dict[str, Any]) -> None:
    """A worker's whole life: answer checks until told to stop or the poller goes away."""
    # A worker allocates tens of thousands of short-lived objects per feed, nearly all freed by
    # reference counting; collecting cycles less often saves several per cent of its CPU.
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    asyncio.run(_Worker(checks, answers, settings).serve())


class _Worker:
    def __init__(self, checks: Connection, answers: Connection, settings: dict[str, Any]) -> None:
        self.checks = checks
        self.settings = settings
        self.matcher = Matcher({})
        self.outbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.writer = threading.Thread(target=self._write, args=(answers,), daemon=True)
        self.tasks: set[asyncio.Task[None]] = set()

    def _write(self, answers: Connection) -> None:
        while (message := self.outbox.get()) is not None:
            try:
                answers.send(message)
            except OSError:  # the poller is gone
                return

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.stopped: asyncio.Future[None] = loop.create_future()
        self.writer.start()
        async with Fetcher(**self.settings) as self.fetcher:
            loop.add_reader(self.checks.fileno(), self._read)
            try:
                await self.stopped
            finally:
                loop.remove_reader(self.checks.fileno())
                for task in list(self.tasks):
                    task.cancel()
                await asyncio.gather(*self.tasks, return_exceptions=True)
        self.outbox.put(None)
        self.writer.join(STOP_TIMEOUT_S)

    def _read(self) -> None:
        try:
            while self.checks.poll():
                message = self.checks.recv()
                if message[0] == "check":
                    task = asyncio.get_running_loop().create_task(self._check(*message[1:]))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                elif message[0] == "topics":
                    self.matcher = Matcher(message[1])
                    self.outbox.put(("ready", message[2]))
                elif message[0] == "stop":
                    self._stop()
                    return
        except (EOFError, OSError):  # the poller is gone
            self._stop()

    def _stop(self) -> None:
        if not self.stopped.done():
            self.stopped.set_result(None)

    async def _check(self, number: int, request: CheckRequest) -> None:
        try:
            outcome: object = await check_here(self.fetcher, self.matcher, request)
        except Exception as exc:  # a bug: reported for this source, the worker carries on
            log.exception("checking %s failed", request.url)
            outcome = _Failed(f"{type(exc).__name__}: {exc}"[:200])
        self.outbox.put((number, outcome))


async def check_here(fetcher: Fetcher, matcher: Matcher, request: CheckRequest) -> Outcome:
    """Fetch one source and digest what came back, in this process. The body is dropped."""
    result = await fetcher.fetch(
        request.url,
        etag=request.etag,
        last_modified=request.last_modified,
        trusted=request.trusted,
    )
    if not result.ok or result.body is None:
        return result, None
    body = Body(result.body, result.final_url, result.content_type, request.kind, request.select)
    digest: ParsedFeed | ParseError
    try:
        digest = digest_body(body, request.now or datetime.now(UTC), matcher)
    except ParseError as exc:
        digest = exc
    return replace(result, body=None), digest


# --- the poller's side -------------------------------------------------------------------------


class _WorkerProcess:
    """A worker started as a plain interpreter running `main`, with the two pipe ends it needs.

    Not multiprocessing's spawn: that also starts a resource tracker process (13 MB of RSS for
    nothing a worker uses) and re-imports the parent's main module in every worker (all of
    Herald, Telegram included, when run as the `herald` script). The poller runs threads and
    a database pool, so a worker is never forked from it.
    """

    def __init__(self, checks_fd: int, answers_fd: int) -> None:
        code = (
            "from bot.memory import skip_httpx_cli; skip_httpx_cli(); "
            f"from jobs.sources.workers import main; main({checks_fd}, {answers_fd})"
        )
        environment = dict(os.environ)
        # The same import path as this process (a checkout run from its directory, say).
        environment["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._popen = subprocess.Popen(  # noqa: S603 this interpreter, fixed code
            [sys.executable, "-c", code],
            pass_fds=(checks_fd, answers_fd),
            stdin=subprocess.DEVNULL,
            env=environment,
        )
        self.pid = self._popen.pid

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout_s: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout_s)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self._popen.terminate()


@dataclass
class _Handle:
    process: _WorkerProcess
    checks: Connection
    answers: Connection
    queued: asyncio.Semaphore
    waiting: dict[int, asyncio.Future[object]]
    topics_key: int | None = None
    alive: bool = True


class CheckWorkers:
    """`count` worker processes checking sources for one poller. Use in one event loop."""

    def __init__(self, count: int, settings: dict[str, Any]) -> None:
        self.count = count
        self._settings = settings
        self._global = asyncio.Semaphore(int(settings.get("max_concurrency", 16)))
        self._hosts = HostLimiter(int(settings.get("per_host_limit", PER_HOST_LIMIT)))
        self._workers: list[_Handle] = []
        self._numbers = itertools.count()
        self._ready: dict[int, asyncio.Future[object]] = {}
        self.broken = False

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self.count):
            checks_in, checks_out = os.pipe()
            answers_in, answers_out = os.pipe()
            try:
                process = _WorkerProcess(checks_in, answers_out)
            finally:
                os.close(checks_in)
                os.close(answers_out)
            checks = Connection(checks_out, readable=False)
            answers = Connection(answers_in, writable=False)
            checks.send(self._settings)
            handle = _Handle(process, checks, answers, asyncio.Semaphore(MAX_QUEUED_PER_WORKER), {})
            loop.add_reader(answers.fileno(), self._read, handle)
            self._workers.append(handle)

    def _read(self, handle: _Handle) -> None:
        try:
            while handle.answers.poll():
                number, outcome = handle.answers.recv()
                if number == "ready":
                    waiter = self._ready.pop(outcome, None)
                else:
                    waiter = handle.waiting.pop(number, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(outcome)
        except (EOFError, OSError):
            self._lost(handle)

    def _lost(self, handle: _Handle) -> None:
        """A worker died: fail what it had, and stop using workers at all."""
        if not handle.alive:
            return
        handle.alive = False
        self.broken = True
        log.error("a check worker died (exit code %s); checking in the poller from now on",
                  handle.process.exitcode)  # fmt: skip
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(handle.answers.fileno())
        for waiter in [*handle.waiting.values(), *self._ready.values()]:
            if not waiter.done():
                waiter.set_exception(WorkersGone())
        handle.waiting.clear()

    async def _topics(self, handle: _Handle, key: int, queries: dict[str, str]) -> None:
        """Send the topics if this worker does not have them yet, and wait until compiled."""
        if handle.topics_key == key:
            return
        handle.topics_key = key
        number = next(self._numbers)
        waiter = self._ready[number] = asyncio.get_running_loop().create_future()
        self._send(handle, ("topics", queries, number))
        await asyncio.wait_for(waiter, START_TIMEOUT_S)

    def _send(self, handle: _Handle, message: object) -> None:
        try:
            handle.checks.send(message)
        except OSError as exc:
            self._lost(handle)
            raise WorkersGone() from exc

    async def warm_up(self, key: int, queries: dict[str, str]) -> None:
        """Start the workers and compile the topics in each, before the first check."""
        if not self._workers:
            self._start()
        await asyncio.gather(*(self._topics(h, key, queries) for h in self._workers))

    async def check(self, request: CheckRequest, key: int, queries: dict[str, str]) -> Outcome:
        """Check one source in the least busy worker, within the global and per-host limits;
        raises WorkersGone."""
        if self.broken:
            raise WorkersGone()
        if not self._workers:
            self._start()
        async with self._hosts.hold(host_key(request.url)), self._global:
            handle = min(self._workers, key=lambda h: len(h.waiting))
            return await self._check_in(handle, request, key, queries)

    async def _check_in(
        self, handle: _Handle, request: CheckRequest, key: int, queries: dict[str, str]
    ) -> Outcome:
        await self._topics(handle, key, queries)
        async with handle.queued:
            if not handle.alive or self.broken:
                raise WorkersGone()
            number = next(self._numbers)
            waiter: asyncio.Future[object] = asyncio.get_running_loop().create_future()
            handle.waiting[number] = waiter
            try:
                self._send(handle, ("check", number, request))
                outcome = await waiter
            finally:
                handle.waiting.pop(number, None)
        if isinstance(outcome, _Failed):
            raise RuntimeError(outcome.message)
        # The worker answers a check only with check_here's Outcome, or _Failed (above).
        return cast(Outcome, outcome)

    def close(self) -> None:
        for handle in self._workers:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(handle.answers.fileno())
            with contextlib.suppress(OSError):
                handle.checks.send(("stop",))
        for handle in self._workers:
            handle.process.join(STOP_TIMEOUT_S)
            if handle.process.is_alive():
                handle.process.terminate()
                handle.process.join(STOP_TIMEOUT_S)
            handle.checks.close()
            handle.answers.close()
        self._workers.clear()
