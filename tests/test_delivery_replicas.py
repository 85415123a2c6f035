"""Two delivery workers (two replicas) on one database never claim or send the same alert."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.config import DeliveryConfig
from bot.delivery import DeliveryWorker
from bot.services.outbox import NewAlert, OutboxSignal, enqueue
from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Alert, Chat
from tests.fakebot import FakeBotAPI, ServedAPI, serve

FAST = DeliveryConfig(global_per_second=1000, private_interval_s=0, group_window_s=0)
CHATS = (1001, 1002, 1003, 1004)


@dataclass
class GatedBotAPI(FakeBotAPI):
    """Holds each sendMessage whose text contains `hold_text` until `release` is set."""

    hold_text: str | None = None
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        answer = await super().handle(method, params)
        if method == "sendMessage" and self.hold_text and self.hold_text in str(params["text"]):
            await self.release.wait()
        return answer


@dataclass
class Replicas:
    api: GatedBotAPI
    first: DeliveryWorker
    second: DeliveryWorker
    engine: Engine

    def add(self, *alerts: NewAlert) -> None:
        with session_scope(self.engine) as session:
            enqueue(session, list(alerts))

    def alerts(self) -> list[Alert]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(Alert).order_by(Alert.id)).all())  # type: ignore[arg-type]

    def texts(self) -> list[str]:
        return [str(c.params["text"]) for c in self.api.sent()]


def note(n: int) -> dict[str, Any]:
    return {"text": f"alert number {n}"}


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[Replicas]:
    """Two workers, each with its own engine and Bot, as two processes would have."""
    api = GatedBotAPI()
    served: ServedAPI = serve(api)
    engines = [make_engine(database_url), make_engine(database_url)]
    migrate(engines[0])
    with session_scope(engines[0]) as session:
        for chat_id in CHATS:
            session.add(Chat(id=chat_id, kind="private"))
    bots = [
        Bot("1:T", base_url=served.base_url, request=HTTPXRequest(read_timeout=10)) for _ in engines
    ]
    for bot in bots:
        await bot.initialize()
    first, second = (
        DeliveryWorker(engine, bot, OutboxSignal(), FAST, "UTC", rng=random.Random(n))
        for n, (engine, bot) in enumerate(zip(engines, bots, strict=True))
    )
    yield Replicas(api, first, second, engines[0])
    api.release.set()
    for bot in bots:
        await bot.shutdown()
    served.server.stop()
    for engine in engines:
        engine.dispose()


async def test_an_alert_being_sent_by_one_worker_is_not_claimed_by_the_other(
    replicas: Replicas,
) -> None:
    replicas.add(NewAlert(CHATS[0], "slow", "plain", {"text": "the slow one"}))
    replicas.api.hold_text = "the slow one"
    sending = asyncio.create_task(replicas.first.deliver_due())
    await replicas.api.wait_for(lambda: len(replicas.api.sent()) == 1)
    # The first worker is waiting for Telegram's answer: its claim must keep the other out.
    assert await replicas.second.deliver_due() == 0
    replicas.api.release.set()
    assert await sending == 1
    assert await replicas.second.deliver_due() == 0
    assert replicas.texts() == ["the slow one"]
    [alert] = replicas.alerts()
    assert (alert.status, alert.attempts) == ("sent", 1)


async def test_two_running_workers_send_every_alert_exactly_once(replicas: Replicas) -> None:
    replicas.add(*[NewAlert(CHATS[n % len(CHATS)], f"a{n}", "plain", note(n)) for n in range(40)])
    replicas.first.start()
    replicas.second.start()
    try:
        await replicas.api.wait_for(lambda: len(replicas.api.sent()) >= 40, 30)
        # Both keep polling a little longer: a stray duplicate would show up now.
        for worker in (replicas.first, replicas.second):
            assert await worker.deliver_due() == 0
    finally:
        await replicas.first.stop()
        await replicas.second.stop()
    assert sorted(replicas.texts()) == sorted(f"alert number {n}" for n in range(40))
    assert {(a.status, a.attempts) for a in replicas.alerts()} == {("sent", 1)}
