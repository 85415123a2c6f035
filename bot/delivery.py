"""The delivery worker: the only code that pushes alerts; claims outbox rows and sends them.

One pass: read the due alerts (the first few of each chat), hold the ones a chat's quiet
hours, mute, digest or news grouping say must wait, let `FairQueue` pick the next ones, and
send them one at a time, each when `wait_turn` allows. An alert is claimed just before its
send (`status='sending'` with a lease in `not_before`) and marked sent as soon as Telegram
confirms it, before the next send starts. So a crash loses nothing (the lease expires and
the alert is sent again) and costs at most one duplicate: the one message in flight. Every
outcome goes through `retry.decide`. See docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as sql_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import ChatMigrated, RetryAfter, TelegramError, TimedOut

from bot import metrics, render
from bot.config import DeliveryConfig
from bot.delivery_policy import retry
from bot.delivery_policy.fair import PRIORITY_URGENT, FairQueue, PendingAlert
from bot.delivery_policy.pacing import Pacer, wait_turn
from bot.delivery_policy.quiet import (
    Digest,
    DigestKind,
    PolicyInputError,
    QuietHours,
    hold_until,
    next_digest_at,
    parse_digest,
    parse_quiet,
)
from bot.delivery_policy.shared_limit import SharedRateLimiter, pushes
from bot.delivery_policy.split import html_to_plain, split_message, split_plain
from bot.render.common import http_url
from bot.render.i18n import use_language
from bot.render.policy import snooze_label
from bot.services import chats, destinations
from bot.services.outbox import OutboxSignal
from bot.services.policy import SNOOZE_PREFIX
from bot.store.db import session_scope
from bot.store.models import (
    Alert,
    Chat,
    DeadlineSubscription,
    Topic,
    TopicSubscription,
    utcnow,
)

log = logging.getLogger(__name__)

IDLE_POLL_S = 1.0  # alerts written by another process are seen within this
PASS_ALERTS = 10  # chosen per pass: a third of a second at 30/s, so urgent ones wait little
CANDIDATE_ROWS = 200
POLICY_COLUMNS = (
    "id",
    "active",
    "timezone",
    "quiet_start",
    "quiet_end",
    "muted_until",
    "digest",
    "language",
)
PER_CHAT_CANDIDATES = 3
GROUP_MAX_ALERTS = 100
MAX_PART_WAITS = 3  # 429s waited out in the middle of a long message before giving up on it
HALT_PAUSE_S = 60.0
# Sends reach Telegram a few milliseconds early or late; pacing 1 % under the overall limit
# keeps any 30 of them more than a second apart even so (10 ms of slack a second at 30/s).
JITTER_MARGIN = 0.99
SPIN_S = 0.002  # the last part of a pacing wait is spent yielding, for punctual sends
# The pacer's overall rate when the bot's SharedRateLimiter holds it (per-chat limits stay).
UNPACED_RATE_PER_S = 1_000_000.0
NO_CHAT = 0  # never a Telegram chat id: asks the pacer about the limits all chats share
CLAIMABLE = ("pending", "sending")  # a 'sending' row whose lease expired is claimable again
NEWS_KIND = "news"
REMINDER_KIND = "reminder"
DEADLINE_REACHED_KIND = "deadline_reached"
ERROR_CHARS = 500
DIGEST_OFF = Digest(DigestKind.OFF)


def to_markup(buttons: tuple[tuple[render.Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Turn rendered buttons into a Telegram inline keyboard."""
    rows = [
        [
            InlineKeyboardButton(b.label, url=http_url(b.url))
            if b.url
            else InlineKeyboardButton(b.label, callback_data=b.data)
            for b in row
            if b.data or http_url(b.url)  # a link button only for http(s) URLs
        ]
        for row in buttons
        if row
    ]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


@dataclass(frozen=True)
class ChatPolicy:
    """A chat's delivery settings, read from its row."""

    zone: str
    quiet: QuietHours | None = None
    muted_until: datetime | None = None
    digest: Digest = DIGEST_OFF
    language: str | None = None  # what pushes are written in (bot.render.i18n)

    @classmethod
    def of_settings(
        cls,
        default_zone: str,
        timezone: str | None,
        quiet_start: str | None,
        quiet_end: str | None,
        muted_until: datetime | None,
        digest_text: str | None,
        language: str | None = None,
    ) -> ChatPolicy:
        """From a chat row's columns (see `POLICY_COLUMNS`)."""
        quiet = digest = None
        # A stored value the parsers reject (edited by hand) means "not set", never a crash.
        with contextlib.suppress(PolicyInputError):
            if quiet_start and quiet_end:
                quiet = parse_quiet(f"{quiet_start}-{quiet_end}")
        with contextlib.suppress(PolicyInputError):
            digest = parse_digest(digest_text or "off")
        return cls(timezone or default_zone, quiet, muted_until, digest or DIGEST_OFF, language)


@dataclass(frozen=True)
class Candidate:
    """A due alert and what deciding about it needs."""

    alert_id: int
    chat_id: int
    kind: str
    priority: int
    created_at: datetime
    active: bool
    policy: ChatPolicy


@dataclass(frozen=True)
class Delivery:
    """One message to send: one alert, or several news alerts coalesced into one message."""

    alert_ids: tuple[int, ...]
    chat_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    zone: str
    queued_at: datetime | None = None  # the oldest alert's created_at, for the delay metric
    language: str | None = None


def hold(candidate: Candidate, now: datetime, group_window_s: float) -> datetime | None:
    """Until when the alert must wait (UTC), or None if it may go now.

    Mute and quiet hours first (`quiet.hold_until`). Then news: a digest chat gets it in the
    first digest after the alert was written; otherwise the first news alert waits out the
    grouping window so that news arriving meanwhile goes in the same message.
    """
    policy = candidate.policy
    until = hold_until(
        now,
        policy.zone,
        policy.quiet,
        policy.muted_until,
        candidate.priority == PRIORITY_URGENT,
        deadline_reached=candidate.kind == DEADLINE_REACHED_KIND,
    )
    if until is not None or candidate.kind != NEWS_KIND:
        return until
    if policy.digest.kind is not DigestKind.OFF:
        slot = next_digest_at(candidate.created_at, policy.zone, policy.digest, policy.quiet)
        return slot if slot is not None and slot > now else None
    ready = candidate.created_at + timedelta(seconds=group_window_s)
    return ready if ready > now else None


def with_snooze(rendered: render.Rendered, alert_id: int) -> render.Rendered:
    """Add the Snooze 1 h button to a reminder, before Unfollow (Open, Snooze, Unfollow)."""
    snooze = render.Button(snooze_label(), data=f"{SNOOZE_PREFIX}{alert_id}")
    rows = list(rendered.buttons)
    if rows:
        first = list(rows[0])
        at = next((i for i, b in enumerate(first) if (b.data or "").startswith("unf:")), None)
        first.insert(len(first) if at is None else at, snooze)
        rows[0] = tuple(first)
    else:
        rows.append((snooze,))
    return render.Rendered(rendered.text, tuple(rows), rendered.preview)


def outcome_of(exc: Exception, attempt: int) -> retry.SendOutcome:
    """The plain facts of a failed send, for `retry.decide`."""
    error = type(exc).__name__
    if isinstance(exc, TimedOut) and exc.__cause__ is not None:
        error = type(exc.__cause__).__name__  # ConnectTimeout never left; ReadTimeout may have
    retry_after_s: float | None = None
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():  # an int here is deprecated in PTB 22.2; both work
            warnings.simplefilter("ignore")
            value = exc.retry_after
        retry_after_s = value if isinstance(value, int | float) else value.total_seconds()
    return retry.SendOutcome(
        error=error,
        description=exc.message if isinstance(exc, TelegramError) else str(exc),
        retry_after_s=retry_after_s,
        migrate_to_chat_id=exc.new_chat_id if isinstance(exc, ChatMigrated) else None,
        attempt=attempt,
    )


def _claimable(now: datetime) -> Any:
    # Spelled out rather than IN (...): an expanding IN cannot be used in an executemany.
    statuses = or_(*(col(Alert.status) == status for status in CLAIMABLE))
    return statuses & (col(Alert.not_before) <= now)


class DeliveryWorker:
    """Sends pending alerts, paced, retried, and marked; wakes on the outbox signal."""

    def __init__(
        self,
        engine: Engine,
        bot: Bot,
        outbox: OutboxSignal,
        settings: DeliveryConfig,
        default_zone: str,
        clock: Callable[[], datetime] = utcnow,
        *,
        pacer: Pacer | None = None,
        rng: random.Random | None = None,
        lease_s: float | None = None,
    ) -> None:
        self.engine = engine
        self.bot = bot
        self.outbox = outbox
        self.settings = settings
        self.default_zone = default_zone
        self.clock = clock
        # With the bot's shared limiter the overall rate is held there, for every replica and
        # every call; the pacer then keeps only the per-chat limits (nothing waited twice).
        shared = isinstance(getattr(bot, "rate_limiter", None), SharedRateLimiter)
        self.pacer = pacer or Pacer(
            UNPACED_RATE_PER_S if shared else settings.global_per_second * JITTER_MARGIN,
            settings.private_interval_s,
            settings.group_per_minute,
        )
        self.retry_policy = retry.RetryPolicy(max_attempts=settings.max_attempts)
        self.rng = rng or random.Random()  # noqa: S311 retry jitter, not a secret
        self.lease_s = lease_s if lease_s is not None else settings.lease_s
        self._fair = FairQueue()
        self._addresses: dict[int, destinations.Address] = {}  # forum topics' addresses
        self._cursor = 0  # chat id after which the next candidate read starts (round robin)
        self._idle_s = IDLE_POLL_S
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._prefetch: asyncio.Task[list[Candidate]] | None = None
        self._prefetched_without: set[int] = set()
        self.guard: Callable[[], bool] | None = None  # False: the store is faulty, pause

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="herald-delivery")

    async def stop(self) -> None:
        self._stopping.set()
        self.outbox.notify()
        if self._task is not None:
            await self._task
            self._task = None
        if self._prefetch is not None:  # let its thread finish before the engine goes
            with contextlib.suppress(Exception):
                await self._prefetch
            self._prefetch = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                handled = await self._pass(prefetch=True)
            except Exception:
                log.exception("delivery pass failed; retrying shortly")
                handled, self._idle_s = 0, IDLE_POLL_S
            if not handled and not self._stopping.is_set():
                await self.outbox.wait(self._idle_s)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, waking at once when the worker stops, and on time to the millisecond.

        The event loop wakes a little late; a late send is a lost slot under the pacer's
        overall rate, so the last couple of milliseconds are spent yielding instead.
        """
        if seconds <= SPIN_S:
            await asyncio.sleep(0)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds - SPIN_S)

    async def deliver_due(self) -> int:
        """Send one pass of due alerts; return how many alerts were sent or settled."""
        return await self._pass(prefetch=False)

    async def _pass(self, *, prefetch: bool) -> int:
        metrics.delivery_pass()
        if self.guard is not None and not self.guard():
            return 0
        paused_s = self.pacer.next_allowed(NO_CHAT) - self.pacer.now()
        if paused_s > IDLE_POLL_S:  # a long 429 or a halt: claim nothing until it is nearly over
            self._idle_s = min(paused_s - IDLE_POLL_S, IDLE_POLL_S)
            return 0
        now = self.clock()
        candidates = self._settle_policy(await self._take_candidates(now, prefetch), now)
        by_id = {c.alert_id: c for c in candidates}
        pending = [
            PendingAlert(c.alert_id, c.chat_id, c.priority, c.created_at) for c in by_id.values()
        ]
        chosen = self._fair.choose(pending, _ChatGate(self.pacer), PASS_ALERTS)
        self._idle_s = self._idle_wait(candidates) if not chosen else IDLE_POLL_S
        if prefetch and chosen:
            # Read the next pass's candidates in a thread while this pass sends: on a large
            # backlog the read takes longer than the gap between two sends.
            self._prefetched_without = {alert.id for alert in chosen}
            self._prefetch = asyncio.create_task(asyncio.to_thread(self._candidates, now))
        handled = 0
        for alert in chosen:
            # Claimed before the wait, so the database's pace does not shift the send times.
            delivery = self._claim(by_id[alert.id], self.clock())
            if delivery is None:
                continue
            await wait_turn(self.pacer, alert.chat_id, self._sleep)
            if self._stopping.is_set():
                self._release(delivery.alert_ids, self.clock(), refund=True, error=None)
                break
            handled += await self._send(delivery)
        return handled

    async def _take_candidates(self, now: datetime, prefetch: bool) -> list[Candidate]:
        task, self._prefetch = self._prefetch, None
        if task is None:
            return self._candidates(now)
        ready = await task
        if not prefetch:
            return self._candidates(now)
        # The read began before this pass's alerts were claimed: leave those out.
        return [c for c in ready if c.alert_id not in self._prefetched_without]

    def _idle_wait(self, candidates: Sequence[Candidate]) -> float:
        """Nothing could go now: sleep until the first chat the pacer will allow."""
        if not candidates:
            return IDLE_POLL_S
        now = self.pacer.now()
        soonest = min(self.pacer.next_allowed(c.chat_id) for c in candidates)
        return min(max(soonest - now, 0.001), IDLE_POLL_S)

    def _candidates(self, now: datetime) -> list[Candidate]:
        """The first few due alerts of each chat, chats after the cursor first."""
        rank = (
            func.row_number()
            .over(partition_by=col(Alert.chat_id), order_by=(col(Alert.priority), col(Alert.id)))
            .label("rank")
        )
        due = (
            sql_select(
                col(Alert.id),
                col(Alert.chat_id),
                col(Alert.kind),
                col(Alert.priority),
                col(Alert.created_at),
                rank,
            )
            .where(col(Alert.status).in_(CLAIMABLE), col(Alert.not_before) <= now)
            .subquery()
        )
        query = (
            sql_select(due.c.id, due.c.chat_id, due.c.kind, due.c.priority, due.c.created_at)
            .where(due.c.rank <= PER_CHAT_CANDIDATES)
            .order_by(due.c.priority, due.c.rank, due.c.chat_id <= self._cursor, due.c.chat_id)
            .limit(CANDIDATE_ROWS)
        )
        with session_scope(self.engine) as session:
            rows = session.execute(query).all()
            chat_ids = {row[1] for row in rows}
            # Columns, not Chat objects: building hundreds of ORM objects a pass costs more
            # than the queries.
            settings = session.execute(
                sql_select(*(col(getattr(Chat, name)) for name in POLICY_COLUMNS)).where(
                    col(Chat.id).in_(chat_ids)
                )
            ).all()
        policies = {
            chat_id: (active, ChatPolicy.of_settings(self.default_zone, *rest))
            for chat_id, active, *rest in settings
        }
        self._cursor = rows[-1][1] if len(rows) >= CANDIDATE_ROWS else 0
        return [
            Candidate(alert_id, chat_id, kind, priority, created_at, *policies[chat_id])
            for alert_id, chat_id, kind, priority, created_at in rows
            if chat_id in policies  # alerts of a chat never registered are never sent
        ]

    def _settle_policy(self, candidates: list[Candidate], now: datetime) -> list[Candidate]:
        """Cancel alerts of inactive chats, hold what must wait; return what may go now."""
        inactive = {c.chat_id for c in candidates if not c.active}
        holds: list[dict[str, Any]] = []
        ready: list[Candidate] = []
        for candidate in candidates:
            if candidate.chat_id in inactive:
                continue
            until = hold(candidate, now, self.settings.group_window_s)
            if until is None:
                ready.append(candidate)
            else:
                holds.append({"alert_id": candidate.alert_id, "until": until})
        if not inactive and not holds:
            return ready
        with session_scope(self.engine) as session:
            if holds:
                statement = (
                    update(Alert)
                    .where(col(Alert.id) == bindparam("alert_id"), _claimable(now))
                    .values(status="pending", not_before=bindparam("until"))
                )
                session.connection().execute(statement, holds)
            for chat_id in inactive:
                chat = session.get(Chat, chat_id)
                reason = chat.inactive_reason if chat else None
                _cancel_chat_alerts(session, chat_id, f"chat inactive: {reason}", now)
        return ready

    def _claim(self, candidate: Candidate, now: datetime) -> Delivery | None:
        """Mark the alert (or the chat's pending news) as being sent; None if taken meanwhile."""
        news = candidate.kind == NEWS_KIND
        query = select(Alert).order_by(col(Alert.id))
        if news:
            lease_ok = or_(col(Alert.status) == "pending", col(Alert.not_before) <= now)
            query = query.where(
                col(Alert.chat_id) == candidate.chat_id,
                col(Alert.kind) == NEWS_KIND,
                col(Alert.status).in_(CLAIMABLE),
                lease_ok,
            ).limit(GROUP_MAX_ALERTS)
        else:
            query = query.where(col(Alert.id) == candidate.alert_id, _claimable(now))
        with session_scope(self.engine) as session:
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.exec(query).all())
            if news:
                rows = _drop_muted_topics(session, rows, now)
            if not rows:
                return None
            for row in rows:
                row.status = "sending"
                row.attempts += 1
                row.not_before = now + timedelta(seconds=self.lease_s)
                session.add(row)
            ids = tuple(row.id for row in rows if row.id is not None)
            attempts = max(row.attempts for row in rows)
        kind, payload = _message_of(candidate, [dict(row.payload) for row in rows])
        policy = candidate.policy
        return Delivery(
            ids,
            candidate.chat_id,
            kind,
            payload,
            attempts,
            policy.zone,
            candidate.created_at,
            policy.language,
        )

    def _render(self, delivery: Delivery) -> render.Rendered:
        with use_language(delivery.language):
            rendered = render.alert(
                delivery.kind, dict(delivery.payload), delivery.zone, self.clock()
            )
            if delivery.kind == REMINDER_KIND:
                rendered = with_snooze(rendered, delivery.alert_ids[0])
        return rendered

    async def _send(self, delivery: Delivery) -> int:
        """Send one message (in parts if it must be), record the outcome; return alerts settled."""
        try:
            rendered = self._render(delivery)
        except Exception as exc:  # a payload no renderer can read must not block the queue
            log.exception("alert %s cannot render", delivery.alert_ids[0], extra=_fields(delivery))
            return self._record(delivery, retry.Fail(f"cannot render: {exc!r}"), None)
        html, parts = True, split_message(rendered.text)
        while True:
            outcome, message_id = await self._post(delivery, rendered, parts, html)
            decision = retry.decide(outcome, self.retry_policy, self.rng)
            if isinstance(decision, retry.Split) and html and len(parts) == 1:
                # Telegram counted differently from us: cut well below the limit.
                parts = split_message(rendered.text, len(rendered.text) // 2 + 1)
            elif isinstance(decision, retry.PlainText) and html:
                html, parts = False, split_plain(html_to_plain(rendered.text))
            else:
                break
        return self._record(delivery, decision, message_id)

    @pushes  # a 429 comes back here: this retry policy decides, not the rate limiter
    async def _post(
        self, delivery: Delivery, rendered: render.Rendered, parts: list[str], html: bool
    ) -> tuple[retry.SendOutcome, int | None]:
        """Send the parts in order (buttons on the last); the first message id stands for all.

        A 429 on a later part is waited out and that part resent here: going back to the
        first part would deliver the earlier ones twice.
        """
        first_id: int | None = None
        index = flood_waits = 0
        address = self._address(delivery.chat_id)
        while index < len(parts):
            if index:
                await wait_turn(self.pacer, delivery.chat_id, self._sleep)
            try:
                message = await self.bot.send_message(
                    chat_id=address.chat_id,
                    message_thread_id=address.thread_id,
                    text=parts[index],
                    parse_mode=ParseMode.HTML if html else None,
                    reply_markup=to_markup(rendered.buttons) if index == len(parts) - 1 else None,
                    link_preview_options=LinkPreviewOptions(
                        is_disabled=not (rendered.preview and len(parts) == 1)
                    ),
                )
            except Exception as exc:
                outcome = outcome_of(exc, delivery.attempts)
                if index and outcome.retry_after_s is not None and flood_waits < MAX_PART_WAITS:
                    flood_waits += 1
                    metrics.flood_wait()
                    self.pacer.pause_all(self.pacer.now() + outcome.retry_after_s)
                    continue
                return outcome, first_id
            first_id = message.message_id if first_id is None else first_id
            index += 1
        return retry.SendOutcome(attempt=delivery.attempts), first_id

    def _address(self, chat_id: int) -> destinations.Address:
        """Where on Telegram an alert's chat is: the chat itself, or a forum's topic."""
        if not destinations.is_topic(chat_id):
            return destinations.Address(chat_id)
        found = self._addresses.get(chat_id)
        if found is None:
            with session_scope(self.engine) as session:
                found = destinations.address(session, chat_id)
            # An unknown topic id is sent as is: Telegram's refusal then settles the alert.
            found = found or destinations.Address(chat_id)
            self._addresses[chat_id] = found  # a topic's address never changes
        return found

    def _record(self, delivery: Delivery, decision: retry.Decision, message_id: int | None) -> int:
        """Write what the decision means to the store (and the pacer); return alerts settled."""
        ids, chat_id = delivery.alert_ids, delivery.chat_id
        now = self.clock()
        match decision:
            case retry.Sent():
                self._update(
                    ids, status="sent", sent_at=now, message_id=message_id, last_error=None
                )
                metrics.alerts_sent(delivery.kind, len(ids), delivery.queued_at, now)
                return len(ids)
            case retry.RetryAfter(seconds=seconds):
                log.warning("429 from Telegram: all sends pause %.1f s", seconds)
                metrics.flood_wait()
                self.pacer.pause_all(self.pacer.now() + seconds)
                self._release(ids, now, refund=True, error=f"flood limit: retry after {seconds} s")
                return 0
            case retry.Backoff(seconds=seconds) | retry.Uncertain(seconds=seconds):
                error = f"{type(decision).__name__.lower()}: retry in {seconds:.1f} s"
                log.info("alert %s: %s", ids[0], error, extra=_fields(delivery))
                self._release(ids, now + timedelta(seconds=seconds), refund=False, error=error)
                return 0
            case retry.Deactivate(reason=reason):
                log.info("chat %s deactivated: %s", chat_id, reason, extra=_fields(delivery))
                with session_scope(self.engine) as session:
                    chats.deactivate(session, chat_id, reason)
                    _cancel_chat_alerts(session, chat_id, reason, None)
                return len(ids)
            case retry.Migrate(new_chat_id=new_id):
                self._migrate(chat_id, new_id, now)
                return 0
            case retry.Halt(reason=reason):
                log.error(
                    "Telegram refuses the bot itself (%s): check TELEGRAM_BOT_TOKEN and "
                    "TELEGRAM_API_URL; delivery paused %.0f s, alerts kept",
                    reason,
                    HALT_PAUSE_S,
                )
                self.pacer.pause_all(self.pacer.now() + HALT_PAUSE_S)
                self._release(ids, now, refund=True, error=f"halted: {reason}")
                return 0
            case retry.Fail(reason=reason):
                log.warning("alert %s failed: %s", ids[0], reason, extra=_fields(delivery))
                metrics.alerts_failed(delivery.kind, len(ids))
                self._update(ids, status="failed", last_error=reason[:ERROR_CHARS])
                return len(ids)
            case _:  # Split or PlainText that did not help
                reason = f"rejected even after {type(decision).__name__}"
                metrics.alerts_failed(delivery.kind, len(ids))
                self._update(ids, status="failed", last_error=reason)
                return len(ids)

    def _update(self, ids: tuple[int, ...], **values: Any) -> None:
        with session_scope(self.engine) as session:
            session.execute(update(Alert).where(col(Alert.id).in_(ids)).values(**values))

    def _release(
        self, ids: tuple[int, ...], at: datetime, *, refund: bool, error: str | None
    ) -> None:
        values: dict[str, Any] = {"status": "pending", "not_before": at, "last_error": error}
        if refund:
            values["attempts"] = col(Alert.attempts) - 1
        self._update(ids, **values)

    def _migrate(self, old_id: int, new_id: int, now: datetime) -> None:
        """A group became a supergroup: move the chat, its subscriptions and alerts, then resend."""
        with session_scope(self.engine) as session:
            old = session.get(Chat, old_id)
            if old is not None and session.get(Chat, new_id) is None:
                copied = old.model_dump(exclude={"id", "kind", "created_at"})
                session.add(Chat(id=new_id, kind="supergroup", **copied))
                session.flush()
            for table in (DeadlineSubscription, TopicSubscription):
                session.execute(
                    update(table).where(col(table.chat_id) == old_id).values(chat_id=new_id)
                )
            session.execute(
                update(Alert)
                .where(col(Alert.chat_id) == old_id, col(Alert.status).in_(CLAIMABLE))
                .values(chat_id=new_id, status="pending", not_before=now)
            )
            chats.deactivate(session, old_id, f"migrated to {new_id}")
        log.info("chat %s migrated to %s; its alerts will be sent there", old_id, new_id)


def _fields(delivery: Delivery) -> dict[str, Any]:
    """What JSON log lines name for a delivery (see bot.logs)."""
    return {"chat": delivery.chat_id, "alert_ids": list(delivery.alert_ids)}


class _ChatGate:
    """Ready when the chat's own limits allow a send no later than the shared limits do."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

    def ready(self, chat_id: int) -> bool:
        # The chat first: an unconstrained chat then reads an earlier clock than the shared one.
        chat_at = self.pacer.next_allowed(chat_id)
        return chat_at <= self.pacer.next_allowed(NO_CHAT)


def _message_of(candidate: Candidate, payloads: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """The message kind and payload for claimed rows: one alert, a news group or a digest."""
    digest = candidate.policy.digest
    if candidate.kind != NEWS_KIND:
        return candidate.kind, payloads[0]
    if digest.kind is not DigestKind.OFF:
        return "news_digest", {"items": payloads, "period": digest.kind.value}
    if len(payloads) == 1:
        return NEWS_KIND, payloads[0]
    return "news_group", {"items": payloads}


def _drop_muted_topics(session: Session, rows: list[Alert], now: datetime) -> list[Alert]:
    """Cancel news of topics the chat muted (`/mute topic`); return the others."""
    if not rows:
        return rows
    muted = set(
        session.exec(
            select(Topic.slug)
            .join(TopicSubscription, col(TopicSubscription.topic_id) == Topic.id)
            .where(
                col(TopicSubscription.chat_id) == rows[0].chat_id,
                col(TopicSubscription.muted_until) > now,
            )
        ).all()
    )
    if not muted:
        return rows
    kept = []
    for row in rows:
        if row.payload.get("topic_slug") in muted:
            row.status, row.last_error = "cancelled", "topic muted"
            session.add(row)
        else:
            kept.append(row)
    return kept


def _cancel_chat_alerts(session: Session, chat_id: int, reason: str, now: datetime | None) -> None:
    """Cancel a chat's unsent alerts (all of them, or only those not in flight when `now`)."""
    statement = update(Alert).where(col(Alert.chat_id) == chat_id)
    if now is None:
        statement = statement.where(col(Alert.status).in_(CLAIMABLE))
    else:
        statement = statement.where(
            or_(col(Alert.status) == "pending", col(Alert.not_before) <= now),
            col(Alert.status).in_(CLAIMABLE),
        )
    session.execute(statement.values(status="cancelled", last_error=reason[:ERROR_CHARS]))
