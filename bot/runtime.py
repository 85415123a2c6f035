"""The parts of a running Herald that know nothing of Telegram: store, scheduler, services."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from bot import memory
from bot.config import CalendarConfig, Config
from bot.services.config_sync import sync_config
from bot.services.deadlines import DeadlineService
from bot.services.outbox import OutboxSignal
from bot.services.sources import sync_sources
from bot.store.db import make_engine, migrate, session_scope
from bot.store.leader import Leadership, stamp
from bot.store.models import utcnow
from bot.store.notify import OutboxListener
from jobs.calendars import (
    CalendarSyncReport,
    chat_calendar_ids,
    refresh_calendar,
    refresh_chat_calendar,
)
from jobs.reminders import SYNC_EVERY_S, ReminderJobs
from jobs.signals.pipeline import NewsSignals
from jobs.sources.fetch import Fetcher, jitter_s
from jobs.sources.intake import AfterStore
from jobs.sources.poll import TICK_S, Poller
from jobs.sources.workers import default_workers

log = logging.getLogger(__name__)
CALENDAR_FIRST_RUN_S = 30  # first refresh within this many seconds of start-up
CHAT_CALENDARS_EVERY_S = 6 * 3600  # chat calendars (/calendar add) are refreshed this often
LEADER_RETRY_S = 5  # how often a follower replica tries to take the lead
# How often the leader checks it still holds the lock. A check that hangs gives up after the
# lock connection's timeouts (3 s), so a leader cut off steps down within 2 + 3 s, before the
# server drops its session (about 7 s) and a follower can take the lock (5 s more at most).
LEADER_CHECK_S = 2
# The lock can be free while its last holder still believes it leads: pg_terminate_backend
# frees it at once, and the old leader learns of it only at its next check (up to 2 s, plus
# 3 s if that check hangs). A follower that takes the lock waits this long before any leader
# work, so two replicas never lead at once; takeover stays within 5 + 6 = 11 s.
TAKEOVER_GRACE_S = LEADER_CHECK_S + 4
LEADER_JOB_PREFIXES = ("deadline:", "calendar:", "chat-calendars", "sources:poll", "reminders-sync")
LeadershipCallback = Callable[[bool], Awaitable[None]]


@dataclass
class Runtime:
    """Built once per process; handlers reach it through the application's bot_data."""

    config: Config
    engine: Engine
    outbox: OutboxSignal = field(default_factory=OutboxSignal)
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone=UTC))
    fetcher: Fetcher | None = None
    deadlines: DeadlineService = field(init=False)
    leadership: Leadership = field(init=False)
    listener: OutboxListener = field(init=False)
    _leading: bool = field(init=False, default=False)
    reminders: ReminderJobs = field(init=False)
    # Called after a poll stores new items (see docs/news.md); append before start_jobs().
    after_store: list[AfterStore] = field(default_factory=list)
    poller: Poller | None = None
    # Awaited with True when this replica takes the lead and False when it loses it (not at
    # start-up: read `leading` after start_jobs()).
    on_leadership: list[LeadershipCallback] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.deadlines = DeadlineService(self.engine, self.outbox)
        self.reminders = ReminderJobs(self.engine, self.scheduler, self.outbox)
        self.deadlines.on_change.append(self._refresh_if_leading)
        self.leadership = Leadership(self.engine)
        self.listener = OutboxListener(self.engine, self.outbox)
        # Stories, deadline links and deadline proposals from every batch of new items.
        self.after_store.append(NewsSignals(self.config.timezone, tuple(self.config.admins)))

    def _refresh_if_leading(self, deadline_id: int) -> None:
        """Reschedule after a change here; a follower's changes reach the leader by sync."""
        if self._leading:
            self.reminders.refresh(deadline_id)

    @classmethod
    def create(cls, config: Config, database_url: str | None = None) -> Runtime:
        return cls(config=config, engine=make_engine(database_url))

    def prepare_store(self) -> None:
        """Migrate the schema and bring config deadlines and topics into the store."""
        migrate(self.engine)
        with session_scope(self.engine) as session:
            report = sync_config(session, self.config)
        if report.alerts:
            self.outbox.notify()
        log.info(
            "config synced: %d deadlines created, %d updated, %d retired",
            report.created,
            report.updated,
            report.retired,
        )

    def start_jobs(self) -> None:
        """Start the scheduler; the leader rebuilds every job from the store, others wait.

        With several replicas on PostgreSQL only the holder of the leader lock runs the
        scheduled work; the others retry the lock and take over if the leader goes away.
        Every replica answers chats and delivers alerts, woken by PostgreSQL NOTIFY when
        any replica writes one.
        """
        self.listener.start()
        if not self._lead():
            self._follow()
        if not self.scheduler.running:
            self.scheduler.start()

    def _follow(self) -> None:
        self.scheduler.add_job(
            self._try_to_lead,
            IntervalTrigger(seconds=LEADER_RETRY_S),
            id="leadership",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )

    def news_poller(self) -> Poller:
        """The one poller of news sources, created on first use."""
        if self.poller is None:
            self.poller = Poller(
                self.engine,
                self.http(),
                admins=self.config.admins,
                outbox=self.outbox,
                after_store=self.after_store,
                workers=default_workers(),
            )
        return self.poller

    def start_polling(self) -> None:
        """Bring config sources into the store, then tick the poller every few seconds
        (the leader only: one replica fetches)."""
        with session_scope(self.engine) as session:
            report = sync_sources(session, self.config.sources, utcnow())
        log.info("sources synced: %d new, %d retired", report.created, report.retired)
        self.scheduler.add_job(
            self.news_poller().tick,
            IntervalTrigger(seconds=TICK_S),
            id="sources:poll",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    async def _try_to_lead(self) -> None:
        """The follower's periodic attempt, on the event loop like every other job."""
        try:
            # In a thread: reaching an unreachable database takes the connect timeout.
            acquired = await asyncio.to_thread(self.leadership.try_acquire)
            if acquired and not self._leading and not await self._outwait_old_leader():
                return
            if acquired and not self._leading:
                self._lead()
        except Exception:
            log.exception("could not check the leader lock; will try again")
            return
        if self._leading:
            await self._announce(True)

    async def _outwait_old_leader(self) -> bool:
        """Hold the lock for TAKEOVER_GRACE_S before leading; False if it was lost meanwhile."""
        if self.leadership.embedded:
            return True
        if self.scheduler.get_job("leadership") is not None:
            self.scheduler.remove_job("leadership")  # no second attempt while this one waits
        await asyncio.sleep(TAKEOVER_GRACE_S)
        reason = await asyncio.to_thread(self.leadership.check)
        if reason is None:
            return True
        log.warning("leader lock lost while waiting to lead: %s", reason)
        if self.scheduler.running:
            self._follow()
        return False

    async def _check_lead(self) -> None:
        """The leader's periodic check of its lock (fencing): step down as soon as it fails."""
        if not self._leading:
            return
        reason = await asyncio.to_thread(self.leadership.check)
        if reason is None or not self._leading:
            return
        self._step_down()
        log.warning("leadership lost at %s: %s; leader work stopped", stamp(), reason)
        await self._announce(False)
        if self.scheduler.running:
            self._follow()

    def _step_down(self) -> None:
        """Stop every job only the leader runs (reminders, calendars, sources, the sync)."""
        self._leading = False
        for job in self.scheduler.get_jobs():
            if job.id.startswith(LEADER_JOB_PREFIXES) or job.id == "leadership-check":
                job.remove()

    async def _announce(self, leading: bool) -> None:
        for callback in self.on_leadership:
            try:
                await callback(leading)
            except Exception:
                log.exception("a leadership-change callback failed")

    def _lead(self) -> bool:
        """Take the lead if free; on taking it, rebuild every job from the store."""
        if self._leading:
            return True
        if not self.leadership.try_acquire():
            return False
        self._leading = True
        log.info("leadership acquired at %s (pid %d)", stamp(), os.getpid())
        if self.scheduler.get_job("leadership") is not None:
            self.scheduler.remove_job("leadership")
        if not self.leadership.embedded:
            self.scheduler.add_job(
                self._check_lead,
                IntervalTrigger(seconds=LEADER_CHECK_S),
                id="leadership-check",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
        self.reminders.rebuild()
        self.scheduler.add_job(
            self.reminders.sync_changed_job,
            IntervalTrigger(seconds=SYNC_EVERY_S),
            id="reminders-sync",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        now = utcnow()
        for index, calendar in enumerate(self.config.calendars):
            self.scheduler.add_job(
                self.refresh_calendar,
                IntervalTrigger(seconds=calendar.every),
                args=[calendar],
                id=f"calendar:{index}",
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
                max_instances=1,
                next_run_time=now + timedelta(seconds=jitter_s(CALENDAR_FIRST_RUN_S)),
            )
        self.scheduler.add_job(
            self.refresh_chat_calendars,
            IntervalTrigger(seconds=CHAT_CALENDARS_EVERY_S),
            id="chat-calendars",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
            next_run_time=now + timedelta(seconds=jitter_s(CALENDAR_FIRST_RUN_S)),
        )
        self.start_polling()
        memory.give_back()  # the config read, the rebuild and the sync are done
        return True

    @property
    def leading(self) -> bool:
        return self._leading

    def http(self) -> Fetcher:
        """The one HTTP client for sources and calendars, created on first use."""
        if self.fetcher is None:
            self.fetcher = Fetcher()
        return self.fetcher

    async def refresh_calendar(self, calendar: CalendarConfig) -> CalendarSyncReport:
        """Refresh one calendar feed, then reschedule the deadlines it changed."""
        report = await refresh_calendar(self.engine, self.http(), calendar, self.config.timezone)
        for deadline_id in report.changed_ids:
            self.deadlines.changed(deadline_id, report.alerts)
        return report

    async def refresh_chat_calendar(self, calendar_id: int) -> CalendarSyncReport | None:
        """Refresh one chat's calendar (/calendar add), then reschedule what it changed."""
        report = await refresh_chat_calendar(
            self.engine, self.http(), calendar_id, self.config.timezone
        )
        for deadline_id in report.changed_ids if report else ():
            self.deadlines.changed(deadline_id, report.alerts if report else 0)
        return report

    async def refresh_chat_calendars(self) -> None:
        """The leader's periodic refresh of every chat calendar, one after the other."""
        for calendar_id in chat_calendar_ids(self.engine):
            try:
                await self.refresh_chat_calendar(calendar_id)
            except Exception:
                log.exception("chat calendar %d: refresh failed", calendar_id)

    def stop_jobs(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self._leading = False
        self.leadership.release()

    async def close(self) -> None:
        """Stop jobs and release the HTTP client and the database pool."""
        self.stop_jobs()
        self.leadership.dispose()
        await self.listener.stop()
        if self.poller is not None:
            await self.poller.aclose()
        if self.fetcher is not None:
            await self.fetcher.aclose()
            self.fetcher = None
        self.engine.dispose()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.admins
