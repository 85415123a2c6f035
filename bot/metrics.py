"""Every Prometheus metric Herald exports, and the one-line calls that record them.

The delivery worker, the poller and the reminder jobs call the small functions below; the
HTTP server (`bot.service`) renders `REGISTRY` at `/metrics`. The heartbeats
(`poll_pass`, `delivery_pass`) are also what `/readyz` reads. See docs/operations.md for
which of these to alert on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

REGISTRY = CollectorRegistry(auto_describe=True)

SOURCES_POLLED = Counter(
    "herald_sources_polled", "Source checks stored, by outcome", ["outcome"], registry=REGISTRY
)
ALERTS_QUEUED = Counter(
    "herald_alerts_queued", "Alerts written to the outbox, by kind", ["kind"], registry=REGISTRY
)
ALERTS_SENT = Counter(
    "herald_alerts_sent", "Alerts Telegram confirmed, by kind", ["kind"], registry=REGISTRY
)
ALERTS_FAILED = Counter(
    "herald_alerts_failed", "Alerts given up on, by kind", ["kind"], registry=REGISTRY
)
DELIVERY_DELAY = Histogram(
    "herald_delivery_delay_seconds",
    "From an alert's due time to Telegram's confirmation",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
REMINDER_LATENESS = Histogram(
    "herald_reminder_lateness_seconds",
    "From a reminder's fire time to the moment its alert was written",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
    registry=REGISTRY,
)
# A source check starts at the first poller tick (5 s) after it falls due, so up to one tick
# late is the design; the buckets around 5 s tell a late tick from a backlog.
SOURCE_CHECK_LATENESS = Histogram(
    "herald_source_check_lateness_seconds",
    "From the moment a source check fell due to the moment it started",
    buckets=(0.5, 1, 2.5, 5, 5.5, 6, 7.5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
FLOOD_WAITS = Counter(
    "herald_telegram_429", "429 Too Many Requests answers from Telegram", registry=REGISTRY
)
STORE_OK = Gauge(
    "herald_store_ok", "1 while the store is reachable and writable", registry=REGISTRY
)
LAST_POLL = Gauge(
    "herald_last_poll_pass_timestamp_seconds", "Unix time of the last poll pass", registry=REGISTRY
)
LAST_DELIVERY = Gauge(
    "herald_last_delivery_pass_timestamp_seconds",
    "Unix time of the last delivery pass",
    registry=REGISTRY,
)


@dataclass
class Heartbeats:
    """Monotonic times of the last passes, for `/readyz` (None: none yet)."""

    poll: float | None = None
    delivery: float | None = None


HEARTBEATS = Heartbeats()


def sources_checked(reports: Iterable[Any]) -> None:
    """One batch of stored source checks (`jobs.sources.poll.SourceReport`)."""
    for report in reports:
        SOURCES_POLLED.labels("ok" if report.ok else "failed").inc()


def alerts_queued(alerts: Sequence[Any], inserted: Collection[tuple[int, str]]) -> None:
    """Count the alerts of `alerts` (NewAlert) whose (chat_id, dedup_key) were inserted."""
    new = set(inserted)
    for alert in alerts:
        if (alert.chat_id, alert.dedup_key[:200]) in new:
            ALERTS_QUEUED.labels(alert.kind).inc()


def alerts_sent(kind: str, count: int, queued_at: datetime | None, now: datetime) -> None:
    ALERTS_SENT.labels(kind).inc(count)
    if queued_at is not None:
        DELIVERY_DELAY.observe(max((now - queued_at).total_seconds(), 0.0))


def alerts_failed(kind: str, count: int = 1) -> None:
    ALERTS_FAILED.labels(kind).inc(count)


def reminder_late(seconds: float) -> None:
    REMINDER_LATENESS.observe(max(seconds, 0.0))


def source_check_late(seconds: float) -> None:
    SOURCE_CHECK_LATENESS.observe(max(seconds, 0.0))


def flood_wait() -> None:
    FLOOD_WAITS.inc()


def store_ok(ok: bool) -> None:
    STORE_OK.set(1 if ok else 0)


def poll_pass() -> None:
    HEARTBEATS.poll = time.monotonic()
    LAST_POLL.set_to_current_time()


def delivery_pass() -> None:
    HEARTBEATS.delivery = time.monotonic()
    LAST_DELIVERY.set_to_current_time()


class StoreCollector(Collector):
    """Figures read from the store at each scrape, the same on every replica: rows ever
    created (the largest id, so `rate()` works and pruning does not lower it), topic
    matches, and the alerts due now and not yet sent."""

    def __init__(self, engine: Engine, leading: Callable[[], bool]) -> None:
        self.engine = engine
        self.leading = leading

    def collect(self) -> Iterator[Metric]:
        from bot.store.models import Alert, Item, ItemTopic, Story, utcnow

        yield GaugeMetricFamily(
            "herald_leader", "1 while this replica is the leader", value=1 if self.leading() else 0
        )
        try:
            with Session(self.engine) as session:
                figures = {
                    "items": session.execute(select(func.max(col(Item.id)))).scalar(),
                    "stories": session.execute(select(func.max(col(Story.id)))).scalar(),
                    "matches": session.execute(
                        select(func.count()).select_from(ItemTopic)
                    ).scalar(),
                    "depth": session.execute(
                        select(func.count())
                        .select_from(Alert)
                        .where(
                            col(Alert.status).in_(("pending", "sending")),
                            col(Alert.not_before) <= utcnow(),
                        )
                    ).scalar(),
                }
        except SQLAlchemyError:
            return  # the store is down: /readyz says so; the process figures still show
        yield GaugeMetricFamily(
            "herald_items", "News items stored (largest item id)", value=figures["items"] or 0
        )
        yield GaugeMetricFamily(
            "herald_stories", "Stories created (largest story id)", value=figures["stories"] or 0
        )
        yield GaugeMetricFamily(
            "herald_matches", "Topic matches stored", value=figures["matches"] or 0
        )
        yield GaugeMetricFamily(
            "herald_queue_depth", "Alerts due now and not yet sent", value=figures["depth"] or 0
        )


def registry_for(engine: Engine, leading: Callable[[], bool]) -> CollectorRegistry:
    """The process metrics plus the store's figures for this engine, for one `/metrics`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessMetrics())
    registry.register(StoreCollector(engine, leading))
    return registry


class _ProcessMetrics(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
