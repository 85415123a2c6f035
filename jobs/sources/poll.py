"""The news pipeline: due sources → fetch → parse → dedup → store → match → alerts.

`Poller.tick()` (run by one scheduler job every few seconds) starts a fetch for every source
whose `next_check_at` has come and returns at once; each fetch is handled in its own
transaction as soon as it completes, so a slow or broken source never delays the others.
Decisions (next check, back-off, failing, quiet) live in `jobs/sources/health.py`.

Fetches completing together are stored together: `jobs/sources/intake.py` takes a whole
batch in a few statements.

Extension point: `after_store` callables run in the same transaction right after a batch's
new items (not baseline ones), their topic matches and their news alerts are stored. A hook
may return the ids of items that must not alert on their own (a later copy of a story already
alerted): their alerts are withdrawn before the transaction commits. A hook that raises is
logged and its writes are rolled back (a savepoint); the items and alerts are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select as sql_select  # sqlmodel's takes at most four columns
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import memory, metrics
from bot.domain.query import QuerySyntaxError, parse_query
from bot.services.outbox import PRIORITY_NORMAL, NewAlert, OutboxSignal, enqueue
from bot.store.db import read_scope, session_scope
from bot.store.models import Source, Topic, utcnow
from jobs.sources import health
from jobs.sources.digest import ParsedFeed
from jobs.sources.fetch import Fetcher, FetchResult, SourceError, jitter_s
from jobs.sources.intake import AfterStore, Parsed, take_batch
from jobs.sources.match import Matcher
from jobs.sources.parse import FeedData, ParseError, parse_feed
from jobs.sources.storage import (
    MAX_LINK_CHARS,
    FollowersOnDemand,
    TopicRef,
    admin_chats,
    health_payload,
    recent_published,
)
from jobs.sources.workers import CheckRequest, CheckWorkers, WorkersGone, check_here

log = logging.getLogger(__name__)

TICK_S = 5
# A tick also starts the checks falling due within this much after it: a check due just after
# a tick would otherwise wait the whole next tick plus that tick's own delay (the scheduler's
# wake-up, the due query), a little over one tick. Starting one a few seconds early is nothing
# beside the schedule's jitter (10 % of `every`). Worst lateness: TICK_S - TICK_LEAD_S + delay.
TICK_LEAD_S = TICK_S / 2
MAX_STARTS_PER_TICK = 500  # the fetcher's own limits pace them; this bounds the task list
MAX_ERROR_CHARS = 500
RECENT_ITEMS_FOR_RHYTHM = 20
BATCH_SOURCES = 50  # fetches stored per transaction at most (the SQLite write lock is held)
# Checks completing within this window are stored together: fewer, larger transactions cost
# the store much less, and news waits at most this long for it. Checks completing while a
# batch is being stored form the next batch.
BATCH_WINDOW_S = 0.1
# Checks started and not yet stored, at most: when the store falls behind, checks wait to
# start, so parsed feeds never pile up in memory.
MAX_UNSTORED = 3 * BATCH_SOURCES
# Checks stored since malloc last gave freed memory back; when the poller falls idle after at
# least this many (a cold cycle's batches), it does so again (bot/memory.py).
GIVE_BACK_AFTER = 1000


@dataclass(frozen=True, slots=True)
class DueSource:
    """A snapshot of the Source row a fetch is made for."""

    id: int
    kind: str
    url: str
    select: str | None
    name: str | None
    trusted: bool
    every_s: int
    etag: str | None
    last_modified: str | None
    due_at: datetime | None = None  # the next_check_at it was found due by


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one check of one source did (`herald sources check` prints one per source)."""

    source_id: int
    url: str
    ok: bool
    error: str | None = None
    parsed: int = 0
    new: int = 0
    not_modified: bool = False
    alerts: int = 0


# DueSource's fields, in order, as Source columns.
DUE_COLUMNS = (
    col(Source.id),
    col(Source.kind),
    col(Source.url),
    col(Source.select),
    col(Source.name),
    col(Source.trusted),
    col(Source.every_s),
    col(Source.etag),
    col(Source.last_modified),
    col(Source.next_check_at),
)

Handled = tuple[DueSource, FetchResult, datetime, "ParsedFeed | ParseError | None"]
# A fetched source waiting to be stored, and the check that waits for its report.
_Ready = tuple[Handled, "asyncio.Future[SourceReport]"]


def read_feed(due: DueSource, result: FetchResult, now: datetime) -> FeedData:
    """Parse a fetched body as the source's kind; raises ParseError."""
    assert result.body is not None
    return parse_feed(
        result.body,
        url=result.final_url,
        content_type=result.content_type,
        kind=due.kind,
        select=due.select,
        now=now,
    )


class Poller:
    """Polls due sources through the shared Fetcher and turns new items into news alerts."""

    def __init__(
        self,
        engine: Engine,
        fetcher: Fetcher,
        *,
        admins: Sequence[int] = (),
        outbox: OutboxSignal | None = None,
        after_store: list[AfterStore] | None = None,
        failure_threshold: int = health.FAILURE_ALERT_THRESHOLD,
        rng: random.Random | None = None,
        workers: int = 0,
        max_unstored: int = MAX_UNSTORED,
    ) -> None:
        self.engine = engine
        self.fetcher = fetcher
        self.admins = tuple(admins)
        self.outbox = outbox
        # Kept by reference: hooks appended to the caller's list later are called too.
        self.after_store: list[AfterStore] = after_store if after_store is not None else []
        self.failure_threshold = failure_threshold
        self._rng = rng or random.Random()  # noqa: S311 schedule jitter, not a secret
        self._signature: tuple[tuple[int, str, str, str], ...] | None = None
        self._matcher = Matcher({})
        self._queries: dict[str, str] = {}
        # Fetching, parsing and matching in worker processes, unless the fetcher cannot be
        # copied into them (a test's transport) or none are wanted.
        settings = fetcher.settings if workers else None
        self._workers = CheckWorkers(workers, settings) if settings is not None else None
        self._topics: dict[str, TopicRef] = {}
        self._in_flight: set[int] = set()
        self._ready: list[_Ready] = []
        self._drain_handle: asyncio.Handle | None = None
        # Batches are stored in this thread, so the event loop stays free meanwhile: it keeps
        # the check workers fed (else they idle through every store) and answers chats.
        self._store_thread: ThreadPoolExecutor | None = None
        self._storing: asyncio.Task[None] | None = None
        self._unstored = asyncio.Semaphore(max_unstored)
        self._tasks: set[asyncio.Task[SourceReport]] = set()
        self._stored_since_give_back = 0

    # --- scheduling -------------------------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> int:
        """Start checks of the sources due by `now` + TICK_LEAD_S and not already being
        checked; return how many."""
        now = now or utcnow()
        metrics.poll_pass()
        self.refresh_topics()
        due = self.due_sources(now + timedelta(seconds=TICK_LEAD_S))
        for source in due:
            self._in_flight.add(source.id)
            task = asyncio.create_task(self._guarded_check(source))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(due)

    async def run_due(self, now: datetime | None = None) -> list[SourceReport]:
        """Check every due source and wait for all of them (tests, benchmarks)."""
        now = now or utcnow()
        self.refresh_topics()
        due = self.due_sources(now, limit=None)
        self._in_flight.update(s.id for s in due)
        return list(await asyncio.gather(*(self._guarded_check(s, now) for s in due)))

    async def warm_up(self) -> None:
        """Compile the topics and start the check workers (else the first checks wait)."""
        self.refresh_topics()
        if self._workers is not None:
            await self._workers.warm_up(hash(self._signature), self._queries)

    async def wait_idle(self) -> None:
        """Wait for the checks started by `tick` to finish."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._storing is not None:
            self._storing.cancel()
            await asyncio.gather(self._storing, return_exceptions=True)
        if self._workers is not None:
            self._workers.close()
        if self._store_thread is not None:
            self._store_thread.shutdown(wait=True)  # a batch being stored is finished
            self._store_thread = None

    def due_sources(
        self, now: datetime, limit: int | None = MAX_STARTS_PER_TICK
    ) -> list[DueSource]:
        """Active sources whose check time has come, not being checked, most overdue first.

        Called on the event loop every tick: it reads without waiting for SQLite's write lock
        (held while a batch is stored, a second or more in a cold cycle), and reads columns,
        not Source objects (thousands of them while a cold cycle's checks are in flight):
        either stalled chat replies (docs/benchmarks.md, chat).
        """
        statement = (
            sql_select(*DUE_COLUMNS)
            .where(col(Source.active), col(Source.next_check_at) <= now)
            .order_by(col(Source.next_check_at))
        )
        if limit is not None:
            statement = statement.limit(limit + len(self._in_flight))
        with read_scope(self.engine) as session:
            rows = session.execute(statement).all()
        due = [DueSource(*row) for row in rows if row[0] not in self._in_flight]
        return due if limit is None else due[:limit]

    async def _guarded_check(self, due: DueSource, now: datetime | None = None) -> SourceReport:
        try:
            return await self.check(due, now)
        except Exception as exc:  # a bug on one source must not stop the others
            log.exception("checking source %s failed", due.url, extra={"source": due.url})
            return SourceReport(due.id, due.url, ok=False, error=f"internal error: {exc}"[:200])
        finally:
            self._in_flight.discard(due.id)

    async def check(self, due: DueSource, now: datetime | None = None) -> SourceReport:
        """Fetch one source (conditionally), parse and match it, and store the outcome."""
        async with self._unstored:
            if due.due_at is not None:
                started = now or utcnow()
                metrics.source_check_late((started - due.due_at).total_seconds())
            request = CheckRequest(
                due.url, due.etag, due.last_modified, due.trusted, due.kind, due.select, now
            )
            outcome = None
            if self._workers is not None and not self._workers.broken:
                with contextlib.suppress(WorkersGone):
                    key = hash(self._signature)
                    outcome = await self._workers.check(request, key, self._queries)
            if outcome is None:
                outcome = await check_here(self.fetcher, self._matcher, request)
            result, digest = outcome
            future: asyncio.Future[SourceReport] = asyncio.get_running_loop().create_future()
            self._ready.append(((due, result, now or utcnow(), digest), future))
            self._want_drain()
            return await future

    def _want_drain(self) -> None:
        """Store the ready checks now if a batch is full or nothing else is coming, else when
        the batch window ends; while a batch is being stored, they wait for it to finish."""
        if self._storing is not None:
            return
        loop = asyncio.get_running_loop()
        still_fetching = len(self._in_flight) - len(self._ready)
        if len(self._ready) >= BATCH_SOURCES or still_fetching <= 0:
            if self._drain_handle is not None:
                self._drain_handle.cancel()
            self._drain_handle = loop.call_soon(self._start_drain)
        elif self._drain_handle is None:
            self._drain_handle = loop.call_later(BATCH_WINDOW_S, self._start_drain)

    def _start_drain(self) -> None:
        self._drain_handle = None
        if self._storing is None and self._ready:
            self._storing = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Store batches in the store thread while full ones are ready (or nothing else is
        coming); a smaller remainder waits for the batch window, as larger batches cost less."""
        loop = asyncio.get_running_loop()
        if self._store_thread is None:
            self._store_thread = ThreadPoolExecutor(1, thread_name_prefix="herald-store")
        try:
            while self._ready:
                batch = self._ready[:BATCH_SOURCES]
                del self._ready[:BATCH_SOURCES]
                await self._store_batch(loop, self._store_thread, batch)
                if len(self._ready) < BATCH_SOURCES and len(self._in_flight) > len(self._ready):
                    break
            if not self._in_flight and self._stored_since_give_back >= GIVE_BACK_AFTER:
                self._stored_since_give_back = 0
                await loop.run_in_executor(self._store_thread, memory.give_back)
        finally:
            self._storing = None
        if self._ready:
            self._want_drain()

    async def _store_batch(
        self, loop: asyncio.AbstractEventLoop, thread: ThreadPoolExecutor, batch: list[_Ready]
    ) -> None:
        """Store one batch in the store thread and answer each check waiting on it."""
        entries = [entry for entry, _ in batch]
        try:
            reports = await loop.run_in_executor(thread, self.store, entries)
        except BaseException as exc:  # never leave a check waiting forever
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            raise
        metrics.sources_checked(reports)
        self._stored_since_give_back += len(reports)
        if self.outbox is not None and any(r.alerts for r in reports):
            self.outbox.notify()
        for ((due, *_), future), report in zip(batch, reports, strict=True):
            self._in_flight.discard(due.id)
            if not future.done():
                future.set_result(report)

    # --- topics -----------------------------------------------------------------------------

    def refresh_topics(self) -> None:
        """Recompile the topics into one Matcher if they changed. Who follows them is read
        when a batch alerts (`FollowersOnDemand`), never kept between batches."""
        with read_scope(self.engine) as session:
            rows = session.exec(select(Topic.id, Topic.slug, Topic.title, Topic.query)).all()
        signature = tuple(sorted((int(i or 0), s, t, q) for i, s, t, q in rows))
        if signature == self._signature:
            return
        queries: dict[str, str] = {}
        topics: dict[str, TopicRef] = {}
        for topic_id, slug, title, query in signature:
            try:
                parse_query(query)
            except QuerySyntaxError as exc:
                log.warning("topic %s skipped: invalid query: %s", slug, exc.message)
                continue
            queries[slug] = query
            topics[slug] = TopicRef(topic_id, slug, title, query)
        self._matcher = Matcher(queries)
        self._queries = queries
        self._topics = topics
        self._signature = signature

    # --- handling a result ------------------------------------------------------------------

    def store(self, entries: Sequence[Handled]) -> list[SourceReport]:
        """Store what several fetches produced in one transaction; if that fails, each in its
        own, so that one bad source cannot lose the others' work. Runs in the store thread:
        it touches no event loop object."""
        try:
            with session_scope(self.engine) as session, session.no_autoflush:
                return self._handle_in(session, entries)
        except Exception as exc:
            if len(entries) == 1:
                log.exception("storing source %s failed", entries[0][0].url)
                due = entries[0][0]
                return [SourceReport(due.id, due.url, ok=False, error=f"internal error: {exc}")]
            return [report for entry in entries for report in self.store([entry])]

    def _handle_in(self, session: Session, entries: Sequence[Handled]) -> list[SourceReport]:
        ids = [due.id for due, *_ in entries]
        sources = {
            row.id: row for row in session.exec(select(Source).where(col(Source.id).in_(ids)))
        }
        reports: list[SourceReport] = []
        taking: list[tuple[int, Source, Parsed]] = []  # (report index, row, feed)
        for due, result, now, digest in entries:
            source = sources.get(due.id)
            if source is None or not source.active:
                reports.append(SourceReport(due.id, due.url, ok=False, error="source removed"))
                continue
            report = self._record_check(session, source, due, result, now, digest)
            if isinstance(report, Parsed):
                taking.append((len(reports), source, report))
                report = SourceReport(due.id, result.url, ok=True)
            reports.append(report)
        batch = [parsed for _, _, parsed in taking]
        following = FollowersOnDemand(session, utcnow())
        taken = take_batch(session, batch, self._topics, following, self.after_store)
        for (index, source, parsed), took in zip(taking, taken, strict=True):
            source.baseline_done = True
            if took.new:
                source.items_seen += took.new
                source.last_new_item_at = parsed.fetched_at
                source.quiet_reported = False
            else:
                self._check_quiet(session, source, parsed.fetched_at)
            reports[index] = replace(
                reports[index], parsed=parsed.digest.parsed, new=took.new, alerts=took.alerts
            )
        return reports

    def _record_check(
        self,
        session: Session,
        source: Source,
        due: DueSource,
        result: FetchResult,
        now: datetime,
        digest: ParsedFeed | ParseError | None,
    ) -> SourceReport | Parsed:
        """Record the check in the source's health; a parsed feed is returned to be taken in."""
        error: SourceError | None = result.error
        if isinstance(digest, ParseError):
            error, digest = digest, None
        if result.permanent_redirect_to:
            source.url = result.permanent_redirect_to[:MAX_LINK_CHARS]
        if error is not None:
            self._record_failure(session, source, error.message, result, now)
            return SourceReport(due.id, due.url, ok=False, error=error.message)
        self._record_success(session, source, result, now)
        if digest is None:
            self._check_quiet(session, source, now)
            return SourceReport(due.id, result.url, ok=True, not_modified=True)
        name = source.name or digest.title
        return Parsed(due.id, name, digest, now, baseline=not source.baseline_done)

    def _state(self, source: Source) -> health.HealthState:
        return health.HealthState(
            source.every_s, source.consecutive_failures, source.failing_reported
        )

    def _jitter(self, every_s: int) -> float:
        return jitter_s(every_s, rng=self._rng)

    def _record_failure(
        self, session: Session, source: Source, message: str, result: FetchResult, now: datetime
    ) -> None:
        decision = health.after_failure(
            self._state(source),
            now,
            retry_after_s=result.retry_after_s,
            threshold=self.failure_threshold,
            jitter_s=self._jitter(source.every_s),
        )
        source.last_checked_at = now
        source.last_error = message[:MAX_ERROR_CHARS]
        source.consecutive_failures = decision.consecutive_failures
        source.failing_reported = decision.failing_reported
        source.next_check_at = decision.next_check_at
        if decision.event == "failing":
            self._tell_admins(session, source, "failing", now)

    def _record_success(
        self, session: Session, source: Source, result: FetchResult, now: datetime
    ) -> None:
        decision = health.after_success(
            self._state(source),
            now,
            max_age_s=result.max_age_s,
            jitter_s=self._jitter(source.every_s),
        )
        source.last_checked_at = source.last_success_at = now
        source.last_error = None
        source.consecutive_failures = decision.consecutive_failures
        source.failing_reported = decision.failing_reported
        source.next_check_at = decision.next_check_at
        if result.etag or not result.not_modified:
            source.etag = result.etag[:500] if result.etag else None
        if result.last_modified or not result.not_modified:
            modified = result.last_modified
            source.last_modified = modified[:100] if modified else None
        if decision.event == "recovered":
            self._tell_admins(session, source, "recovered", now)

    # --- health alerts ----------------------------------------------------------------------

    def _check_quiet(self, session: Session, source: Source, now: datetime) -> None:
        if source.quiet_reported or not health.may_be_quiet(now, source.last_new_item_at):
            return
        dates = recent_published(session, source.id or 0, RECENT_ITEMS_FOR_RHYTHM)
        gap = health.usual_gap_s(dates)
        if health.is_quiet(now, source.last_new_item_at, gap, source.every_s):
            source.quiet_reported = True
            self._tell_admins(session, source, "quiet", now)

    def _tell_admins(self, session: Session, source: Source, state: str, now: datetime) -> None:
        chat_ids = admin_chats(session, self.admins)
        log.warning(
            "source %s is %s%s", source.name or source.url, state,
            f": {source.last_error}" if state == "failing" else "", extra={"source": source.url},
        )  # fmt: skip
        if not chat_ids:
            return
        payload = health_payload(source, state)
        key = f"source_health:{source.id}:{state}:{now.isoformat()}"
        enqueue(
            session,
            [NewAlert(c, key, "source_health", payload, PRIORITY_NORMAL) for c in chat_ids],
        )
        if self.outbox is not None:
            self.outbox.notify()
