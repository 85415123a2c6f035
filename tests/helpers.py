"""Helpers shared by the tests: typing in a chat, pressing a button, waiting for a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tests.fakebot import ServedAPI

ANSWER_TIMEOUT_S = 10.0


class FakeClock:
    """A monotonic clock that moves only when slept on: pacing asserted to the nanosecond."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def utc(*parts: int) -> datetime:
    """datetime(*parts) in UTC: utc(2025, 7, 9, 16)."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


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
    timeout_s: float = ANSWER_TIMEOUT_S,
) -> str:
    """Type a line in the chat and return Herald's (first) answer."""
    before = len(api.api.sent(chat_id))
    chat_type = "group" if group else "private"
    await api.api.push_text(chat_id, line, chat_type=chat_type, user_id=user_id)
    await api.api.wait_for(lambda: len(api.api.sent(chat_id)) > before, timeout_s)
    return str(api.api.sent(chat_id)[before].params["text"])
