"""Reminders: turn each deadline's due reminder times into alert rows, once, even across downtime.

Each active deadline has one scheduler job (fixed id, replaced on every change) that fires at
the deadline's next reminder time. Whatever fires, the work is the same: every reminder time in
(`reminded_until`, now] becomes alerts and `reminded_until` moves to now, in one transaction.
The store is the truth, so a lost, skipped or doubled job costs nothing: start-up and every
change rebuild the jobs, and the outbox's unique (chat, dedup_key) absorbs any replay.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select as sql_select  # sqlmodel's takes at most four columns
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import metrics
from bot.domain.offsets import Offset, fire_time, parse_offset
from bot.domain.recurrence import next_after
from bot.services.deadlines import changed_since, deadline_payload, reminder_prefix
from bot.services.outbox import PRIORITY_NORMAL, PRIORITY_URGENT, NewAlert, OutboxSignal, enqueue
from bot.store.db import session_scope
from bot.store.models import Chat, Deadline, DeadlineSubscription, utcnow

log = logging.getLogger(__name__)

# A reminder that fires more than this after its time is marked late when delivered.
LATE_AFTER_S = 60
# An urgent reminder: one whose deadline is this close when it fires.
URGENT_WITHIN_S = 3600
JOB_PREFIX = "deadline:"
DUE_OFFSET = Offset()
# A repeating deadline steps over at most this many fallen-due occurrences in one pass.
MAX_OCCURRENCES_PER_PASS = 500
# Changes seen by the periodic sync are looked up with this overlap (clock skew, slow commits).
SYNC_OVERLAP = timedelta(seconds=5)
SYNC_EVERY_S = 10
RETRY_S = 5  # a reminder pass that failed is tried again this soon
# Deadlines whose followers a rebuild holds in memory at once: all of them at once, with
# 10,000 chats following each, would be hundreds of thousands of rows.
REBUILD_CHUNK = 4


@dataclass(frozen=True)
class ReminderTime:
    """One reminder of one deadline occurrence, for the chats that chose that offset."""

    offset: Offset
    fire_at: datetime
    chat_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class Follower:
    chat_id: int
    remind: tuple[Offset, ...]
    since: datetime


def effective_offsets(
    deadline_remind: Iterable[str], chat_remind: Iterable[str] | None
) -> tuple[Offset, ...]:
    """A chat's offsets (its own, else the deadline's), always with the due time itself."""
    chosen = chat_remind if chat_remind is not None else deadline_remind
    offsets = {parse_offset(text) for text in chosen}
    offsets.add(DUE_OFFSET)
    return tuple(sorted(offsets, reverse=True))


def reminder_times(deadline: Deadline, followers: Iterable[Follower]) -> list[ReminderTime]:
    """All reminder times of the deadline's current occurrence, earliest first."""
    chats_by_offset: dict[Offset, set[int]] = defaultdict(set)
    for follower in followers:
        for offset in follower.remind:
            chats_by_offset[offset].add(follower.chat_id)
    times = [
        ReminderTime(
            offset, fire_time(deadline.due_at, offset, deadline.timezone), frozenset(chats)
        )
        for offset, chats in chats_by_offset.items()
    ]
    return sorted(times, key=lambda t: (t.fire_at, -t.offset.nominal_minutes))


def next_fire_at(times: Iterable[ReminderTime], after: datetime) -> datetime | None:
    """The first reminder time strictly after `after`, if any."""
    upcoming = [t.fire_at for t in times if t.fire_at > after]
    return min(upcoming) if upcoming else None


def reminder_key(deadline: Deadline, offset: Offset) -> str:
    """Dedup key of (deadline, occurrence, offset): the same reminder is one alert forever."""
    return reminder_prefix(deadline.id, deadline.due_at) + offset.text


@dataclass(frozen=True)
class DueReminders:
    """What one pass over a deadline produced."""

    alerts: list[NewAlert]
    missed: dict[int, list[dict[str, Any]]]  # chat_id -> reminders summed up as "while offline"


def due_reminders(deadline: Deadline, followers: list[Follower], now: datetime) -> DueReminders:
    """Decide which reminders in (reminded_until, now] are sent, sent late, or summed up.

    Pure: no I/O. A reminder more than LATE_AFTER_S old whose deadline is still ahead is sent
    once per chat (the latest missed offset; earlier missed ones are named in it). One whose
    deadline has passed is not sent alone but listed in the chat's "while offline" summary.
    """
    since = {f.chat_id: f.since for f in followers}
    window = [
        t for t in reminder_times(deadline, followers) if deadline.reminded_until < t.fire_at <= now
    ]
    late_cutoff = now - timedelta(seconds=LATE_AFTER_S)
    per_chat: dict[int, list[ReminderTime]] = defaultdict(list)
    for t in window:
        for chat_id in t.chat_ids:
            if t.fire_at > since[chat_id]:
                per_chat[chat_id].append(t)
    alerts: list[NewAlert] = []
    missed: dict[int, list[dict[str, Any]]] = {}
    deadline_passed_while_down = deadline.due_at < late_cutoff
    for chat_id, times in per_chat.items():
        late = [t for t in times if t.fire_at < late_cutoff]
        on_time = [t for t in times if t.fire_at >= late_cutoff]
        if late and deadline_passed_while_down:
            missed[chat_id] = [
                {**deadline_payload(deadline), "offset": t.offset.text} for t in late
            ]
        elif late:
            on_time.append(max(late, key=lambda t: t.fire_at))
        for t in on_time:
            alerts.append(_reminder_alert(deadline, chat_id, t, late, now))
    return DueReminders(alerts, missed)


def _reminder_alert(
    deadline: Deadline, chat_id: int, t: ReminderTime, late: list[ReminderTime], now: datetime
) -> NewAlert:
    is_late = t in late
    metrics.reminder_late((now - t.fire_at).total_seconds())
    payload = {**deadline_payload(deadline), "offset": t.offset.text, "late": is_late}
    if is_late and len(late) > 1:
        payload["missed_offsets"] = [x.offset.text for x in late if x is not t]
    reached = t.offset == DUE_OFFSET
    urgent = reached or (deadline.due_at - now).total_seconds() <= URGENT_WITHIN_S
    return NewAlert(
        chat_id=chat_id,
        dedup_key=reminder_key(deadline, t.offset),
        kind="deadline_reached" if reached else "reminder",
        payload=payload,
        priority=PRIORITY_URGENT if urgent else PRIORITY_NORMAL,
    )


def process(deadline: Deadline, followers: list[Follower], now: datetime) -> DueReminders:
    """Reminders due in (reminded_until, now], stepping a repeating deadline past each
    occurrence that has fallen due, so downtime across occurrences drops nothing silently.

    Mutates `deadline` (due_at, reminded_until); the caller stores it.
    """
    alerts: list[NewAlert] = []
    missed: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(MAX_OCCURRENCES_PER_PASS):
        due = due_reminders(deadline, followers, now)
        alerts.extend(due.alerts)
        for chat_id, items in due.missed.items():
            missed[chat_id].extend(items)
        if not (deadline.rule and deadline.rule_start and deadline.due_at <= now):
            break
        following = next_after(
            deadline.rule,
            start_utc=deadline.rule_start,
            zone=deadline.timezone,
            after=deadline.due_at,
        )
        if following is None:
            break
        deadline.due_at = following
    deadline.reminded_until = max(deadline.reminded_until, now)
    return DueReminders(alerts, dict(missed))


def offline_summary_alerts(
    missed: dict[int, list[dict[str, Any]]], now: datetime
) -> list[NewAlert]:
    """One "while Herald was offline" message per chat, listing what it missed."""
    key = f"offline:{int(now.timestamp())}"
    return [
        NewAlert(chat_id, key, "offline_summary", {"items": items}, PRIORITY_NORMAL)
        for chat_id, items in missed.items()
    ]


def load_followers(
    session: Session, deadline_ids: list[int] | None = None
) -> dict[int, list[Follower]]:
    """Active followers of each deadline (all deadlines when no ids are given).

    Columns, not subscription objects: the session would keep every object it loaded until
    the end of the transaction, some 1.5 KB each (10,000 chats following 12 deadlines took
    200 MB at start-up; docs/benchmarks.md, scale).
    """
    query = (
        sql_select(
            col(DeadlineSubscription.deadline_id),
            col(DeadlineSubscription.chat_id),
            col(DeadlineSubscription.remind),
            col(DeadlineSubscription.created_at),
            col(Deadline.remind),
        )
        .join(Deadline, col(Deadline.id) == DeadlineSubscription.deadline_id)
        .join(Chat, col(Chat.id) == DeadlineSubscription.chat_id)
        .where(col(Chat.active))
    )
    if deadline_ids is not None:
        query = query.where(col(DeadlineSubscription.deadline_id).in_(deadline_ids))
    followers: dict[int, list[Follower]] = defaultdict(list)
    cache: dict[tuple[tuple[str, ...], tuple[str, ...] | None], tuple[Offset, ...]] = {}
    for deadline_id, chat_id, chat_remind, created_at, deadline_remind in session.execute(query):
        key = (tuple(deadline_remind), tuple(chat_remind) if chat_remind is not None else None)
        if key not in cache:
            cache[key] = effective_offsets(key[0], key[1])
        followers[deadline_id].append(Follower(chat_id, cache[key], created_at))
    return followers


class ReminderJobs:
    """Keeps one APScheduler job per active deadline, derived from the store."""

    def __init__(
        self,
        engine: Engine,
        scheduler: AsyncIOScheduler,
        outbox: OutboxSignal,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.scheduler = scheduler
        self.outbox = outbox
        self.clock = clock
        self._synced_until = clock()
        self._rebuilt_at = self._synced_until  # changes before this are in the rebuild

    def rebuild(self) -> int:
        """Catch up on anything missed, then schedule every deadline's next reminder."""
        now = self.clock()
        self._synced_until = self._rebuilt_at = now
        scheduled = 0
        self._drop_all()
        with session_scope(self.engine) as session:
            deadlines = session.exec(select(Deadline).where(Deadline.status == "active")).all()
            missed: dict[int, list[dict[str, Any]]] = defaultdict(list)
            alerts: list[NewAlert] = []
            followers: dict[int, list[Follower]] = {}
            for index, deadline in enumerate(deadlines):
                assert deadline.id is not None
                if index % REBUILD_CHUNK == 0:  # a few deadlines' followers at a time
                    chunk = [d.id for d in deadlines[index : index + REBUILD_CHUNK] if d.id]
                    followers = load_followers(session, chunk)
                mine = followers.get(deadline.id, [])
                times = reminder_times(deadline, mine)
                if any(deadline.reminded_until < t.fire_at <= now for t in times) or (
                    deadline.rule and deadline.due_at <= now
                ):
                    due = process(deadline, mine, now)
                    alerts.extend(due.alerts)
                    for chat_id, items in due.missed.items():
                        missed[chat_id].extend(items)
                    session.add(deadline)
                    times = reminder_times(deadline, mine)
                upcoming = next_fire_at(times, now)
                if self._schedule(deadline.id, upcoming, fresh=True):
                    scheduled += 1
            alerts.extend(offline_summary_alerts(missed, now))
            created = enqueue(session, alerts)
        if created:
            self.outbox.notify()
        log.info("reminder jobs rebuilt: %d scheduled, %d alerts written", scheduled, created)
        return scheduled

    def sync_changed(self) -> int:
        """Refresh the deadlines changed since the last look (changes made by other replicas)."""
        now = self.clock()
        since = max(self._synced_until - SYNC_OVERLAP, self._rebuilt_at)
        with session_scope(self.engine) as session:
            changed = changed_since(session, since)
        self._synced_until = now
        for deadline_id in changed:
            self.refresh(deadline_id)
        return len(changed)

    def refresh(self, deadline_id: int) -> None:
        """Reschedule one deadline after a change (moved, followed, new offsets, cancelled)."""
        with session_scope(self.engine) as session:
            deadline = session.get(Deadline, deadline_id)
            if deadline is None or deadline.status != "active":
                self._schedule(deadline_id, None)
                return
            mine = load_followers(session, [deadline_id]).get(deadline_id, [])
            # From the watermark, not from now: a reminder time that has just passed but whose
            # job has not run yet must keep its job (it runs at once), or it would be lost.
            upcoming = next_fire_at(reminder_times(deadline, mine), deadline.reminded_until)
            self._schedule(deadline_id, upcoming)

    async def run(self, deadline_id: int) -> None:
        """The job body: write the reminders now due for this deadline, then schedule the next.

        If the store fails (locked, connection lost), the same work is retried shortly: a
        one-off job leaves the scheduler when it starts, so giving up would lose the reminder
        until the next start-up.
        """
        now = self.clock()
        try:
            created, upcoming = self._write_due(deadline_id, now)
        except Exception:
            log.exception(
                "reminders of deadline %s failed; retrying in %d s", deadline_id, RETRY_S,
                extra={"deadline": deadline_id},
            )  # fmt: skip
            self._schedule(deadline_id, now + timedelta(seconds=RETRY_S))
            return
        if created:
            self.outbox.notify()
        self._schedule(deadline_id, upcoming)

    def _write_due(self, deadline_id: int, now: datetime) -> tuple[int, datetime | None]:
        """One transaction: alerts for what is due, the watermark moved; the next fire time."""
        with session_scope(self.engine) as session:
            deadline = session.get(Deadline, deadline_id)
            if deadline is None or deadline.status != "active":
                return 0, None
            mine = load_followers(session, [deadline_id]).get(deadline_id, [])
            due = process(deadline, mine, now)
            created = enqueue(session, due.alerts + offline_summary_alerts(due.missed, now))
            session.add(deadline)
            return created, next_fire_at(reminder_times(deadline, mine), now)

    async def sync_changed_job(self) -> None:
        """The periodic sync as a coroutine, so it runs on the event loop with everything else."""
        try:
            self.sync_changed()
        except Exception:
            log.exception("reminder sync failed; the next one retries")

    def _drop_all(self) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX):
                job.remove()

    def _schedule(self, deadline_id: int, when: datetime | None, *, fresh: bool = False) -> bool:
        """Replace the deadline's job; `fresh` skips looking for an old one (after _drop_all)."""
        job_id = f"{JOB_PREFIX}{deadline_id}"
        if not fresh and (when is None or not self.scheduler.running):
            # Before start-up APScheduler queues jobs without replacing same-id ones: drop them.
            while self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
        if when is None:
            return False
        self.scheduler.add_job(
            self.run,
            trigger=DateTrigger(run_date=when),
            args=[deadline_id],
            id=job_id,
            name=job_id,
            replace_existing=True,
            misfire_grace_time=None,  # a late reminder is still a reminder: never skip it
            coalesce=True,
        )
        return True
