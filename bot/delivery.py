"""The delivery worker: the only code that pushes alerts; claims outbox rows and sends them.

Claiming sets `status='sending'` with a lease (`not_before` moved ahead); a crash leaves the
row to be reclaimed when the lease expires, so an alert is never lost and a crash costs at
most one duplicate (the message in flight). See docs/delivery.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import col, select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import render
from bot.config import DeliveryConfig
from bot.services import chats
from bot.services.outbox import OutboxSignal
from bot.store.db import session_scope
from bot.store.models import Alert, Chat, DeadlineSubscription, TopicSubscription, utcnow

log = logging.getLogger(__name__)

CLAIM_BATCH = 50
LEASE_S = 300
IDLE_POLL_S = 1.0
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0


def to_markup(buttons: tuple[tuple[render.Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Turn rendered buttons into a Telegram inline keyboard."""
    rows = [
        [
            InlineKeyboardButton(b.label, url=b.url)
            if b.url
            else InlineKeyboardButton(b.label, callback_data=b.data)
            for b in row
        ]
        for row in buttons
        if row
    ]
    return InlineKeyboardMarkup(rows) if rows else None


@dataclass(frozen=True)
class Claimed:
    alert_id: int
    chat_id: int
    kind: str
    payload: dict[str, object]
    attempts: int
    zone: str


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
    ) -> None:
        self.engine = engine
        self.bot = bot
        self.outbox = outbox
        self.settings = settings
        self.default_zone = default_zone
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._last_global = 0.0
        self._last_by_chat: dict[int, float] = {}

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name="herald-delivery")

    async def stop(self) -> None:
        self._stopping.set()
        self.outbox.notify()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("delivery pass failed; retrying shortly")
                sent = 0
            if not sent and not self._stopping.is_set():
                await self.outbox.wait(IDLE_POLL_S)

    async def deliver_due(self) -> int:
        """Claim and send one batch; return how many alerts were handled."""
        batch = self._claim()
        for item in batch:
            if self._stopping.is_set():
                self._release(item.alert_id)
                continue
            await self._pace(item.chat_id)
            await self._send(item)
        return len(batch)

    def _claim(self) -> list[Claimed]:
        now = self.clock()
        with session_scope(self.engine) as session:
            query = (
                select(Alert, Chat)
                .join(Chat, col(Chat.id) == Alert.chat_id)
                .where(or_(col(Alert.status) == "pending", col(Alert.status) == "sending"))
                .where(col(Alert.not_before) <= now)
                .order_by(col(Alert.priority), col(Alert.id))
                .limit(CLAIM_BATCH)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=Alert)
            claimed: list[Claimed] = []
            for alert, chat in session.exec(query).all():
                assert alert.id is not None
                if not chat.active:
                    alert.status = "cancelled"
                    alert.last_error = f"chat inactive: {chat.inactive_reason}"
                    session.add(alert)
                    continue
                alert.status = "sending"
                alert.attempts += 1
                alert.not_before = now + timedelta(seconds=LEASE_S)
                session.add(alert)
                claimed.append(
                    Claimed(
                        alert.id,
                        alert.chat_id,
                        alert.kind,
                        dict(alert.payload),
                        alert.attempts,
                        chats.zone_of(chat, self.default_zone),
                    )
                )
        return claimed

    async def _pace(self, chat_id: int) -> None:
        loop = asyncio.get_running_loop()
        global_gap = 1.0 / self.settings.global_per_second
        chat_gap = (
            self.settings.private_interval_s
            if chat_id > 0
            else 60.0 / self.settings.group_per_minute
        )
        now = loop.time()
        wait = max(
            self._last_global + global_gap - now,
            self._last_by_chat.get(chat_id, -1e9) + chat_gap - now,
        )
        if wait > 0:
            await asyncio.sleep(wait)
        stamp = loop.time()
        self._last_global = stamp
        self._last_by_chat[chat_id] = stamp

    async def _send(self, item: Claimed) -> None:
        rendered = render.alert(item.kind, dict(item.payload), item.zone, self.clock())
        try:
            message = await self.bot.send_message(
                chat_id=item.chat_id,
                text=rendered.text,
                parse_mode=ParseMode.HTML,
                reply_markup=to_markup(rendered.buttons),
                link_preview_options=LinkPreviewOptions(is_disabled=not rendered.preview),
            )
        except RetryAfter as exc:
            delay = (
                exc.retry_after
                if isinstance(exc.retry_after, int | float)
                else exc.retry_after.total_seconds()
            )
            log.warning("429 from Telegram: pausing delivery %.1f s", delay)
            self._release(
                item.alert_id, not_before=self.clock() + timedelta(seconds=delay), refund=True
            )
            await asyncio.sleep(delay)
        except ChatMigrated as exc:
            self._migrate(item.chat_id, exc.new_chat_id, item.alert_id)
        except Forbidden as exc:
            self._deactivate(item, f"forbidden: {exc.message}")
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                self._deactivate(item, "chat not found")
            else:
                self._fail(item.alert_id, f"bad request: {exc.message}")
        except (TimedOut, NetworkError) as exc:
            self._retry_later(item, f"{type(exc).__name__}: {exc.message}")
        else:
            self._mark_sent(item.alert_id, message.message_id)

    def _mark_sent(self, alert_id: int, message_id: int) -> None:
        with session_scope(self.engine) as session:
            session.execute(
                update(Alert)
                .where(col(Alert.id) == alert_id)
                .values(status="sent", sent_at=self.clock(), message_id=message_id, last_error=None)
            )

    def _release(
        self, alert_id: int, not_before: datetime | None = None, refund: bool = False
    ) -> None:
        values: dict[str, object] = {"status": "pending", "not_before": not_before or self.clock()}
        if refund:
            values["attempts"] = Alert.attempts - 1
        with session_scope(self.engine) as session:
            session.execute(update(Alert).where(col(Alert.id) == alert_id).values(**values))

    def _retry_later(self, item: Claimed, error: str) -> None:
        if item.attempts >= self.settings.max_attempts:
            self._fail(item.alert_id, error)
            return
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (item.attempts - 1))
        log.info("alert %s: %s; retry in %.0f s", item.alert_id, error, delay)
        with session_scope(self.engine) as session:
            session.execute(
                update(Alert)
                .where(col(Alert.id) == item.alert_id)
                .values(
                    status="pending",
                    not_before=self.clock() + timedelta(seconds=delay),
                    last_error=error,
                )
            )

    def _fail(self, alert_id: int, error: str) -> None:
        log.warning("alert %s failed: %s", alert_id, error)
        with session_scope(self.engine) as session:
            session.execute(
                update(Alert)
                .where(col(Alert.id) == alert_id)
                .values(status="failed", last_error=error[:500])
            )

    def _deactivate(self, item: Claimed, reason: str) -> None:
        log.info("chat %s deactivated: %s", item.chat_id, reason)
        with session_scope(self.engine) as session:
            chats.deactivate(session, item.chat_id, reason)
            session.execute(
                update(Alert)
                .where(col(Alert.id) == item.alert_id)
                .values(status="failed", last_error=reason)
            )

    def _migrate(self, old_id: int, new_id: int, alert_id: int) -> None:
        """A group became a supergroup: move the chat, its subscriptions and alerts, then resend."""
        with session_scope(self.engine) as session:
            old = session.get(Chat, old_id)
            if old is not None and session.get(Chat, new_id) is None:
                session.add(
                    Chat(
                        id=new_id,
                        kind="supergroup",
                        title=old.title,
                        timezone=old.timezone,
                        auto_follow=old.auto_follow,
                    )
                )
                session.flush()
            for table in (DeadlineSubscription, TopicSubscription):
                session.execute(
                    update(table).where(col(table.chat_id) == old_id).values(chat_id=new_id)
                )
            session.execute(
                update(Alert)
                .where(col(Alert.chat_id) == old_id, col(Alert.status).in_(["pending", "sending"]))
                .values(chat_id=new_id, status="pending", not_before=self.clock())
            )
            chats.deactivate(session, old_id, f"migrated to {new_id}")
        log.info("chat %s migrated to %s; alert %s will be resent", old_id, new_id, alert_id)
