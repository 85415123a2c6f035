"""Helpers shared by the tests: config texts, typing in a chat, pressing a button, waiting for
a condition, a network backend that serves public names from 127.0.0.1."""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypedDict

import httpcore
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.config import Config, parse_config
from bot.domain.ssrf import Resolver
from bot.interface.app import HeraldBot, build_application
from bot.runtime import Runtime
from bot.service import Listen, Webhook
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import make_engine, session_scope
from bot.store.models import Alert
from tests.fakebot import Call, ServedAPI

ANSWER_TIMEOUT_S = 10.0
# How many times slower than usual the code runs here: `make coverage` traces every line and
# sets it, so tests that measure a timeout of the code under test can give it room.
TIME_SCALE = float(os.environ.get("HERALD_TEST_TIME_SCALE", "1"))
TOKEN = "123456:TEST-TOKEN"

SHIPPED_DEADLINE = """\
  - id: shipped-deadline
    title: Shipped deadline
    due: "2099-01-01T09:00"
"""
FAR_DEADLINE = """\
  - id: far-deadline
    title: Far deadline
    due: "2099-01-01T09:00"
"""
RARE_EARTHS_TOPIC = """\
  - id: rare-earths
    title: Rare earths
    query: '"rare earth"'
"""


def config_text(
    *,
    admins: Sequence[int] = (),
    deadlines: Sequence[str] = (SHIPPED_DEADLINE,),
    topics: Sequence[str] = (),
    extra: str = "",
) -> str:
    """A config.yaml on London time with `extra` lines, then these admins, deadlines, topics."""
    parts = ["timezone: Europe/London\n", extra]
    if admins:
        parts.append(f"admins: [{', '.join(str(admin) for admin in admins)}]\n")
    if deadlines:
        parts.append("deadlines:\n" + "".join(deadlines))
    if topics:
        parts.append("topics:\n" + "".join(topics))
    return "".join(parts)


class ChatOptions(TypedDict, total=False):
    """Who says a line and where: the keyword arguments of `say` besides its timeout."""

    user_id: int | None
    group: bool
    chat_type: str | None
    thread_id: int | None
    anonymous: bool


class FakeClock:
    """A monotonic clock that moves only when slept on: pacing asserted to the nanosecond."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A moment in UTC: utc(2025, 7, 9, 16)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@asynccontextmanager
async def running_herald(
    config: str | Config,
    database_url: str,
    *,
    rate_limiter: bool = False,
    listen: Listen | None = None,
    webhook: Webhook | None = None,
) -> AsyncIterator[HeraldBot]:
    """Herald running against the fake Bot API (TELEGRAM_API_URL, see the bot_api fixture);
    with `listen`, its HTTP service too (health, metrics and, with `webhook`, the hook)."""
    parsed = parse_config(config) if isinstance(config, str) else config
    runtime = Runtime.create(parsed, database_url)
    application = build_application(runtime, TOKEN, rate_limiter=rate_limiter)
    herald = HeraldBot(runtime, application, listen=listen, webhook=webhook)
    await herald.start(polling=True)
    try:
        yield herald
    finally:
        await herald.stop()


async def eventually(
    predicate: Callable[[], bool], timeout_s: float = ANSWER_TIMEOUT_S, interval_s: float = 0.02
) -> None:
    """Wait until `predicate()` holds (for state the fake API is not told about, like rows)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(interval_s)


async def say(
    api: ServedAPI,
    chat_id: int,
    line: str,
    *,
    user_id: int | None = None,
    group: bool = False,
    chat_type: str | None = None,
    thread_id: int | None = None,
    anonymous: bool = False,
    language: str | None = None,
    timeout_s: float = ANSWER_TIMEOUT_S,
) -> str:
    """Type a line in the chat and return Herald's (first) answer."""
    before = len(api.api.sent(chat_id))
    kind = chat_type or ("group" if group else "private")
    await api.api.push_text(
        chat_id,
        line,
        chat_type=kind,
        user_id=user_id,
        thread_id=thread_id,
        anonymous=anonymous,
        language=language,
    )
    await api.api.wait_for(lambda: len(api.api.sent(chat_id)) > before, timeout_s)
    return str(api.api.sent(chat_id)[before].params["text"])


def edits(api: ServedAPI) -> list[Call]:
    return [c for c in api.api.calls if c.method == "editMessageText"]


def edited_texts(api: ServedAPI) -> list[str]:
    """The texts Herald edited messages to, in order."""
    return [str(c.params["text"]) for c in edits(api)]


async def press(
    api: ServedAPI,
    chat_id: int,
    data: str,
    *,
    message_id: int = 1,
    user_id: int | None = None,
    chat_type: str = "private",
    timeout_s: float = ANSWER_TIMEOUT_S,
) -> str:
    """Press a button and return the text Herald edited the message to."""
    before = len(edits(api))
    await api.api.press(chat_id, data, message_id=message_id, user_id=user_id, chat_type=chat_type)
    await api.api.wait_for(lambda: len(edits(api)) > before, timeout_s)
    return str(edits(api)[before].params["text"])


async def press_answer(
    api: ServedAPI,
    chat_id: int,
    data: str,
    *,
    user_id: int | None = None,
    chat_type: str = "private",
    timeout_s: float = ANSWER_TIMEOUT_S,
) -> str:
    """Press a button and return the text its press was answered with ("" for a silent one)."""
    before = len(api.api.answers())
    await api.api.press(chat_id, data, user_id=user_id, chat_type=chat_type)
    await api.api.wait_for(lambda: len(api.api.answers()) > before, timeout_s)
    return str(api.api.answers()[before].params.get("text") or "")


def enqueue_fan_out(database_url: str, chat_ids: range) -> None:
    """One plain "fan-out" alert to each chat, committed, as a push to many followers is."""
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        alerts = [
            NewAlert(chat_id, "fan-out", "plain", {"text": f"alert {chat_id}"})
            for chat_id in chat_ids
        ]
        assert enqueue(session, alerts) == len(chat_ids)
    engine.dispose()


def outbox(engine: Engine) -> list[Alert]:
    """Every alert in the outbox, in the order it was written."""
    with session_scope(engine) as session:
        return list(session.exec(select(Alert).order_by(col(Alert.id))).all())


def alert_statuses(database_url: str) -> collections.Counter[str]:
    """How many alerts of the outbox are in each status."""
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        statuses = collections.Counter(session.exec(select(Alert.status)).all())
    engine.dispose()
    return statuses


def table_resolver(table: dict[str, list[str]]) -> Resolver:
    """A DNS resolver that knows only the names in `table` (others fail, as unknown hosts do)."""

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return table[host]

    return resolve


class LoopbackBackend(httpcore.AsyncNetworkBackend):
    """Records the address the SSRF guard pinned, then connects to 127.0.0.1 on the same port:
    a public address served by a local test server."""

    def __init__(self) -> None:
        self.pinned: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.pinned.append(host)
        return await self._real.connect_tcp("127.0.0.1", port, timeout)
