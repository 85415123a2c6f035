"""One rate limit for the bot as a whole: every Bot API call that sends, edits or answers.

Telegram counts a bot's messages across all its processes. `SharedRateLimiter` is the PTB
rate limiter of every Herald process: each counted call first takes a slot from a bucket, and
a 429 pauses the bucket for `retry_after`. With PostgreSQL the bucket is one row of
`rate_slot`, updated atomically by every replica (a GCRA: the row holds the time the next call
may go, on the database server's clock, so replicas need no common clock); with SQLite, one
process, it lives in memory. If the database cannot be reached the process falls back to its
own bucket until it can.

Who waits for what (nothing is counted or waited twice):
- Pushes by the delivery worker (`pushing()` is set around them) take the shared slot here;
  the worker's `Pacer` keeps only the per-chat and per-group limits and its ordering. A 429 on
  a push pauses the shared bucket and goes back to the worker, whose retry policy (release,
  resend the same part) decides, as before.
- Everything else (command replies, edits, callback answers) takes the shared slot, and a 429
  is waited out and the call made again, up to `max_retries` times.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Engine
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot import metrics

log = logging.getLogger(__name__)

GLOBAL_BUCKET = "global"
REPLY_MAX_RETRIES = 3
FALLBACK_FOR_S = 5.0  # after a database error, the local bucket alone for this long
# Calls that neither send nor change a message do not count against the flood limits.
UNCOUNTED = frozenset(
    {
        "getMe",
        "getUpdates",
        "getChat",
        "getChatMember",
        "getChatAdministrators",
        "getFile",
        "getMyCommands",
        "setMyCommands",
        "deleteMyCommands",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "logOut",
        "close",
    }
)

_pushing: contextvars.ContextVar[bool] = contextvars.ContextVar("herald_pushing", default=False)


@contextlib.contextmanager
def pushing() -> Iterator[None]:
    """Mark the Bot API calls made inside as the delivery worker's (see the module doc)."""
    token = _pushing.set(True)
    try:
        yield
    finally:
        _pushing.reset(token)


P = ParamSpec("P")
T = TypeVar("T")


def pushes(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Decorate a coroutine function whose Bot API calls are pushes (see `pushing`)."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        with pushing():
            return await method(*args, **kwargs)

    return wrapper


def retry_after_s(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # an int here is deprecated in PTB 22.2; both work
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return float(value if isinstance(value, int | float) else value.total_seconds())


class LocalBucket:
    """The GCRA of one process, on the monotonic clock."""

    def __init__(self, rate_per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.emission_s = 1.0 / rate_per_s
        self.clock = clock
        self._tat = -math.inf

    def reserve(self) -> float:
        """Take the next slot; return the seconds to wait for it (0 when it is now)."""
        now = self.clock()
        slot = max(self._tat, now)
        self._tat = slot + self.emission_s
        return slot - now

    def pause(self, seconds: float) -> None:
        self._tat = max(self._tat, self.clock() + seconds)


RESERVE = text(
    "UPDATE rate_slot SET tat = GREATEST(tat, EXTRACT(EPOCH FROM clock_timestamp()))"
    " + :emission WHERE name = :name"
    " RETURNING tat - :emission - EXTRACT(EPOCH FROM clock_timestamp())"
)
PAUSE = text(
    "UPDATE rate_slot SET tat = GREATEST(tat, EXTRACT(EPOCH FROM clock_timestamp()) + :seconds)"
    " WHERE name = :name"
)
CREATE = text("INSERT INTO rate_slot (name, tat) VALUES (:name, 0) ON CONFLICT (name) DO NOTHING")


class SharedBucket:
    """The GCRA as one row every replica updates atomically (PostgreSQL)."""

    def __init__(self, engine: Engine, rate_per_s: float, name: str = GLOBAL_BUCKET) -> None:
        self.engine = engine
        self.name = name
        self.emission_s = 1.0 / rate_per_s
        self.local = LocalBucket(rate_per_s)
        self._local_until = 0.0
        self._created = False

    def _execute(self, statement: Any, **params: Any) -> Any:
        # One autocommitted statement: one round trip, the row locked only while it runs.
        with self.engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            if not self._created:
                connection.execute(CREATE, {"name": self.name})
                self._created = True
            return connection.execute(statement, {"name": self.name, **params}).scalar()

    def reserve(self) -> float:
        if time.monotonic() < self._local_until:
            return self.local.reserve()
        try:
            wait = self._execute(RESERVE, emission=self.emission_s)
        except Exception as exc:
            log.warning(
                "shared send limit unreachable (%s): this process paces alone for %.0f s",
                type(exc).__name__,
                FALLBACK_FOR_S,
            )
            self._local_until = time.monotonic() + FALLBACK_FOR_S
            return self.local.reserve()
        return max(float(wait or 0.0), 0.0)

    def pause(self, seconds: float) -> None:
        self.local.pause(seconds)
        with contextlib.suppress(Exception):
            self._execute(PAUSE, seconds=seconds)


class SharedRateLimiter(BaseRateLimiter[int]):
    """PTB's rate limiter for every Bot API call of the process (see the module doc).

    `rate_limit_args`, when given, is the number of 429s to wait out for that call.
    """

    def __init__(
        self,
        engine: Engine,
        rate_per_s: float,
        *,
        max_retries: int = REPLY_MAX_RETRIES,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
    ) -> None:
        shared = engine.dialect.name == "postgresql"
        self.bucket: SharedBucket | LocalBucket = (
            SharedBucket(engine, rate_per_s) if shared else LocalBucket(rate_per_s)
        )
        self.max_retries = max_retries
        self.sleep = sleep
        self.too_many = 0  # 429s seen, for metrics
        self.waited_s = 0.0  # time calls spent waiting for a slot, for metrics

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def _take_slot(self) -> None:
        bucket = self.bucket
        if isinstance(bucket, SharedBucket):
            wait = await asyncio.to_thread(bucket.reserve)
        else:
            wait = bucket.reserve()
        if wait > 0:
            self.waited_s += wait
            await self.sleep(wait)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],  # noqa: ARG002  BaseRateLimiter.process_request's signature
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint in UNCOUNTED:
            return await callback(*args, **kwargs)
        pushed = _pushing.get()
        retries = (
            0 if pushed else (self.max_retries if rate_limit_args is None else rate_limit_args)
        )
        attempt = 0
        while True:
            await self._take_slot()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.too_many += 1
                if not pushed:  # the delivery worker counts its own
                    metrics.flood_wait()
                seconds = retry_after_s(exc)
                log.warning(
                    "429 from Telegram on %s: every replica pauses %.1f s", endpoint, seconds
                )
                if isinstance(self.bucket, SharedBucket):
                    await asyncio.to_thread(self.bucket.pause, seconds)
                else:
                    self.bucket.pause(seconds)
                if attempt >= retries:
                    raise
                attempt += 1
