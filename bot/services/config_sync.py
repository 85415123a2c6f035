"""Bring the store in line with config.yaml at start-up: config deadlines and topics by id."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.config import Config, DeadlineConfig
from bot.domain.offsets import due_from_date, local_to_utc
from bot.domain.recurrence import next_after
from bot.services import chats
from bot.services import deadlines as deadline_ops
from bot.services.deadlines import DeadlineSpec, visible_to
from bot.store.models import Deadline, DeadlineChange, Topic, TopicSubscription, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncReport:
    created: int
    updated: int
    retired: int
    alerts: int
    changed_ids: tuple[int, ...]


def spec_from_config(
    item: DeadlineConfig, default_zone: str, now: datetime | None = None
) -> DeadlineSpec:
    zone = item.timezone or default_zone
    local, all_day = item.due_local(default_zone)
    if all_day:
        due = due_from_date(local.date(), zone)
    else:
        due = local_to_utc(local.replace(tzinfo=None), zone)
    rule_start = None
    if item.repeat:
        rule_start = due
        moment = (now or utcnow()) - timedelta(microseconds=1)
        due = next_after(item.repeat, start_utc=due, zone=zone, after=moment) or due
    return DeadlineSpec(
        slug=item.id,
        title=item.title,
        due_at=due,
        timezone=zone,
        all_day=all_day,
        remind=tuple(item.remind),
        keywords=tuple(item.keywords),
        url=item.url,
        description=item.description,
        rule=item.repeat,
        rule_start=rule_start,
    )


def sync_config(session: Session, config: Config) -> SyncReport:
    """Create new config deadlines, apply edits (a move is announced), retire removed ones."""
    existing = {
        d.slug: d for d in session.exec(select(Deadline).where(Deadline.origin == "config"))
    }
    created = updated = alerts = 0
    changed: list[int] = []
    for item in config.deadlines:
        spec = spec_from_config(item, config.timezone)
        current = existing.pop(item.id, None)
        if current is None:
            clash = session.exec(
                select(Deadline).where(Deadline.slug == item.id, visible_to(None))
            ).first()
            if clash is not None:
                log.warning(
                    "config deadline %r skipped: a %s deadline uses that id", item.id, clash.origin
                )
                continue
            deadline = deadline_ops.create(
                session, spec, origin="config", owner_chat_id=None, actor="config"
            )
            created += 1
        else:
            deadline = current
            alerts += _apply_edits(session, deadline, spec)
            updated += 1
        assert deadline.id is not None
        changed.append(deadline.id)
    retired = 0
    for stale in existing.values():
        if stale.status == "active":
            stale.status = "cancelled"
            session.add(stale)
            assert stale.id is not None
            session.add(DeadlineChange(deadline_id=stale.id, kind="retired", actor="config"))
            changed.append(stale.id)
            retired += 1
    _sync_topics(session, config)
    session.flush()
    chats.follow_config_items(session, chats.auto_follow_chat_ids(session))
    return SyncReport(created, updated, retired, alerts, tuple(changed))


def _schedule_changed(deadline: Deadline, spec: DeadlineSpec) -> bool:
    """A repeating deadline moves when its rule or anchor changes, not as occurrences pass."""
    if spec.rule or deadline.rule:
        return (deadline.rule, deadline.rule_start) != (spec.rule, spec.rule_start)
    return deadline.due_at != spec.due_at


def _apply_edits(session: Session, deadline: Deadline, spec: DeadlineSpec) -> int:
    alerts = 0
    if deadline.status != "active":
        deadline.status = "active"
    if _schedule_changed(deadline, spec):
        alerts += deadline_ops.move(
            session, deadline, spec.due_at, all_day=spec.all_day, actor="config"
        )
    deadline.rule = spec.rule
    deadline.rule_start = spec.rule_start
    if deadline.title != spec.title:
        alerts += deadline_ops.rename(session, deadline, spec.title, actor="config")
    deadline.timezone = spec.timezone
    deadline.all_day = spec.all_day
    deadline.remind = list(spec.remind)
    deadline.keywords = list(spec.keywords)
    deadline.url = spec.url
    deadline.description = spec.description
    session.add(deadline)
    return alerts


def _sync_topics(session: Session, config: Config) -> None:
    existing = {t.slug: t for t in session.exec(select(Topic).where(Topic.origin == "config"))}
    for item in config.topics:
        topic = existing.pop(item.id, None)
        if topic is None:
            global_topic = select(Topic).where(
                Topic.slug == item.id, col(Topic.owner_chat_id).is_(None)
            )
            if session.exec(global_topic).first() is not None:
                continue
            topic = Topic(slug=item.id, title=item.title, query=item.query, origin="config")
        topic.title = item.title
        topic.query = item.query
        session.add(topic)
    for stale in existing.values():
        for sub in session.exec(
            select(TopicSubscription).where(TopicSubscription.topic_id == stale.id)
        ):
            session.delete(sub)
        session.delete(stale)
