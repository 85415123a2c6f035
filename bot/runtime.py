"""The parts of a running Herald that know nothing of Telegram: store, scheduler, services."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.services.config_sync import sync_config
from bot.services.deadlines import DeadlineService
from bot.services.outbox import OutboxSignal
from bot.store.db import make_engine, migrate, session_scope
from jobs.reminders import ReminderJobs

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Built once per process; handlers reach it through the application's bot_data."""

    config: Config
    engine: Engine
    outbox: OutboxSignal = field(default_factory=OutboxSignal)
    scheduler: AsyncIOScheduler = field(default_factory=lambda: AsyncIOScheduler(timezone=UTC))
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
        if not self.scheduler.running:
            self.scheduler.start()

    def stop_jobs(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.config.admins
