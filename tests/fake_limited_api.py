"""A fake Bot API that enforces Telegram's flood limits, for delivery tests and the benchmark.

Over the limits it answers as Telegram does: HTTP 429, "Too Many Requests: retry after N",
`parameters.retry_after` a whole number of seconds (at least 1). The limits: at most
`global_per_s` messages in any one second, one message per private chat every
`private_interval_s`, and `group_per_minute` messages per group (negative id) in any 60 s.
`jitter_s` forgives sends that arrive that much early, as network jitter would make them.

`serve_in_process` runs it in a process of its own, as Telegram would be, so that its work
does not compete with the code under test for the interpreter lock; `stats` then reads its
counters over HTTP (`getLimitStats`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import httpx

from tests.fakebot import FakeBotAPI, ServedAPI, serve

GLOBAL_WINDOW_S = 1.0
GROUP_WINDOW_S = 60.0
DEFAULT_JITTER_S = 0.005
STATS_METHOD = "getLimitStats"
START_TIMEOUT_S = 30.0


@dataclass
class LimitedBotAPI(FakeBotAPI):
    """FakeBotAPI plus Telegram's limits; counts what it accepted and what it refused."""

    global_per_s: int = 30
    private_interval_s: float = 1.0
    group_per_minute: int = 20
    jitter_s: float = DEFAULT_JITTER_S
    limits: bool = True
    record_calls: bool = True
    clock: Callable[[], float] = time.monotonic
    stall_next_s: list[float] = field(default_factory=list)  # answer late (after accepting)
    too_many: int = 0
    accepted: int = 0
    delivered: dict[int, int] = field(default_factory=dict)  # chat id -> messages accepted
    accepted_at: list[float] = field(default_factory=list)  # clock() of each accepted send
    _global: deque[float] = field(default_factory=deque)
    _private_last: dict[int, float] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)

    def _wait_s(self, chat_id: int, now: float) -> float:
        """Seconds until a send to `chat_id` would be allowed (0 when it is allowed now)."""
        wait = 0.0
        if len(self._global) >= self.global_per_s:
            wait = self._global[0] + GLOBAL_WINDOW_S - self.jitter_s - now
        if chat_id > 0 and chat_id in self._private_last:
            last = self._private_last[chat_id]
            wait = max(wait, last + self.private_interval_s - self.jitter_s - now)
        group = self._groups.get(chat_id)
        if chat_id < 0 and group is not None and len(group) >= self.group_per_minute:
            wait = max(wait, group[0] + GROUP_WINDOW_S - self.jitter_s - now)
        return wait

    def _count(self, chat_id: int, now: float) -> None:
        self._global.append(now)
        while len(self._global) > self.global_per_s:
            self._global.popleft()
        if chat_id > 0:
            self._private_last[chat_id] = now
        else:
            group = self._groups.setdefault(chat_id, deque())
            group.append(now)
            while len(group) > self.group_per_minute:
                group.popleft()
        self.accepted += 1
        self.accepted_at.append(now)
        self.delivered[chat_id] = self.delivered.get(chat_id, 0) + 1

    def stats(self) -> dict[str, Any]:
        return {
            "accepted_at": self.accepted_at,
            "too_many": self.too_many,
            "delivered": {str(chat): count for chat, count in self.delivered.items()},
        }

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method == STATS_METHOD:
            return 200, {"ok": True, "result": self.stats()}
        if method != "sendMessage" or self.fail_next:
            return await super().handle(method, params)
        chat_id = int(params["chat_id"])
        now = self.clock()
        wait = self._wait_s(chat_id, now) if self.limits else 0.0
        if wait > 0:
            self.too_many += 1
            retry_after = max(1, math.ceil(wait))
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
        self._count(chat_id, now)
        if self.record_calls:
            answer = await super().handle(method, params)
        else:
            answer = 200, {"ok": True, "result": self._message(params)}
        if self.stall_next_s:
            await asyncio.sleep(self.stall_next_s.pop(0))
        return answer


@dataclass
class ThreadedAPI:
    """A fake served from its own thread and event loop, so the code under test runs alone."""

    api: LimitedBotAPI
    base_url: str
    _loop: asyncio.AbstractEventLoop
    _thread: threading.Thread

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


def serve_in_thread(api: LimitedBotAPI) -> ThreadedAPI:
    """Serve `api` on 127.0.0.1 from a daemon thread; returns once it is listening."""
    loop = asyncio.new_event_loop()
    ready: list[ServedAPI] = []
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)

        async def bind() -> None:
            ready.append(serve(api))
            started.set()

        loop.run_until_complete(bind())
        loop.run_forever()
        ready[0].server.stop()

    thread = threading.Thread(target=run, name="fake-bot-api", daemon=True)
    thread.start()
    started.wait(10)
    return ThreadedAPI(api, ready[0].base_url, loop, thread)


@dataclass(frozen=True)
class LimitStats:
    """What a fake in another process accepted and refused."""

    accepted_at: list[float]  # time.monotonic() of each accepted send, in arrival order
    too_many: int
    delivered: dict[int, int]


@dataclass
class ProcessAPI:
    """A LimitedBotAPI served by a child process."""

    base_url: str
    _process: BaseProcess

    def stats(self) -> LimitStats:
        answer = httpx.post(f"{self.base_url}0:STATS/{STATS_METHOD}", timeout=30).json()
        result = answer["result"]
        return LimitStats(
            [float(t) for t in result["accepted_at"]],
            int(result["too_many"]),
            {int(chat): int(count) for chat, count in result["delivered"].items()},
        )

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(timeout=5)


def _serve_child(conn: Connection, options: dict[str, Any]) -> None:
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # a line per request otherwise

    async def main() -> None:
        served = serve(LimitedBotAPI(record_calls=False, **options))
        conn.send(served.base_url)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_in_process(**options: Any) -> ProcessAPI:
    """Start a LimitedBotAPI (with these field values) in a child process; wait until it listens."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_child, args=(child, options), daemon=True)
    process.start()
    if not parent.poll(START_TIMEOUT_S):
        process.terminate()
        raise RuntimeError("the fake Bot API process did not start")
    return ProcessAPI(str(parent.recv()), process)
