"""The parts of a running Herald that know nothing of Telegram: store, scheduler, services."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from bot.config import CalendarConfig, Config
from bot.services.config_sync import sync_config
from bot.services.deadlines import DeadlineService
from bot.services.outbox import OutboxSignal
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import utcnow
from jobs.calendars import CalendarSyncReport, refresh_calendar
from jobs.reminders import ReminderJobs
from jobs.sources.fetch import Fetcher, jitter_s

log = logging.getLogger(__name__)
CALENDAR_FIRST_RUN_S = 30  # first refresh within this many seconds of start-up


@dataclass
class Runtime:
    """Built once per process; handlers reach it through the application's bot_data."""

    config: Config
    engine: Engine
    outbox: OutboxSignal = field(default_factory=OutboxSignal)
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone=UTC))
    fetcher: Fetcher | None = None
    deadlines: DeadlineService = field(init=False)
    reminders: ReminderJobs = field(init=False)

    def __post_init__(self) -> None:
        self.deadlines = DeadlineService(self.engine, self.outbox)
        self.reminders = ReminderJobs(self.engine, self.scheduler, self.outbox)
        self.deadlines.on_change.append(self.reminders.refresh)

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
        """Rebuild every job from the store, then start the scheduler."""
        self.reminders.rebuild()
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
        if not self.scheduler.running:
            self.scheduler.start()

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

    def stop_jobs(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def close(self) -> None:
        """Stop jobs and release the HTTP client and the database pool."""
        self.stop_jobs()
        if self.fetcher is not None:
            await self.fetcher.aclose()
            self.fetcher = None
        self.engine.dispose()

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.admins
