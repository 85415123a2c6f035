"""Pace sends to Telegram's flood limits: overall rate, per-chat interval, per-group minute cap.

Telegram allows a bot about 30 messages a second overall, about one a second in one chat and
20 a minute in one group. The pacer is pure bookkeeping over an injected monotonic clock: it
says when a send to a chat may go and remembers the sends it is told about. Times are kept in
integer nanoseconds so that thirty emission intervals can never add up to less than a second
through float rounding.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

NS_PER_S = 1_000_000_000
GLOBAL_RATE_PER_S = 30.0
PRIVATE_INTERVAL_S = 1.0
GROUP_PER_MINUTE = 20
GROUP_WINDOW_S = 60.0
MIN_SWEEP_EVERY_SENDS = 64


def _to_ns(seconds: float) -> int:
    return round(seconds * NS_PER_S)


def is_group_chat(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive ones."""
    return chat_id < 0


@dataclass(slots=True)
class _ChatState:
    last_ns: int
    window: deque[int] = field(default_factory=deque)  # group sends, oldest first


class Pacer:
    """When may the next message to a chat go, given every send recorded so far.

    The global limit is a GCRA (a token bucket written as one timestamp): with the default
    burst of 1, sends are spread evenly, 1/rate apart, which keeps any one-second window at or
    below the rate. A larger burst lets idle capacity be spent at once, at the price of up to
    burst - 1 extra messages in some one-second window. Groups also get a sliding window: at
    most `group_per_minute` sends in any `group_window_s`.
    """

    def __init__(
        self,
        global_rate_per_s: float = GLOBAL_RATE_PER_S,
        private_interval_s: float = PRIVATE_INTERVAL_S,
        group_per_minute: int = GROUP_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        *,
        group_window_s: float = GROUP_WINDOW_S,
        global_burst: int = 1,
    ) -> None:
        if global_rate_per_s <= 0 or private_interval_s < 0 or group_window_s <= 0:
            raise ValueError("rates and intervals must be positive")
        if group_per_minute < 1 or global_burst < 1:
            raise ValueError("group_per_minute and global_burst must be at least 1")
        self._clock = clock
        # Rounded up: a pacer may be a nanosecond slow, never a nanosecond fast.
        self._emission_ns = math.ceil(NS_PER_S / global_rate_per_s)
        self._tolerance_ns = (global_burst - 1) * self._emission_ns
        self._chat_interval_ns = _to_ns(private_interval_s)
        self._group_cap = group_per_minute
        self._group_window_ns = _to_ns(group_window_s)
        self._tat_ns: int | None = None  # GCRA theoretical arrival time
        self._paused_until_ns = 0
        self._chats: dict[int, _ChatState] = {}
        self._sends_since_sweep = 0
        self._chats_after_sweep = 0

    def now(self) -> float:
        return self._clock()

    @property
    def tracked_chats(self) -> int:
        """Chats whose recent sends still constrain the next one (idle ones are forgotten)."""
        return len(self._chats)

    def _allowed_ns(self, chat_id: int, now_ns: int) -> int:
        allowed = max(now_ns, self._paused_until_ns)
        if self._tat_ns is not None:
            allowed = max(allowed, self._tat_ns - self._tolerance_ns)
        state = self._chats.get(chat_id)
        if state is not None:
            allowed = max(allowed, state.last_ns + self._chat_interval_ns)
            if len(state.window) >= self._group_cap:
                allowed = max(allowed, state.window[0] + self._group_window_ns)
        return allowed

    def next_allowed(self, chat_id: int) -> float:
        """Monotonic seconds at which a send to `chat_id` may go (now, if it may go now)."""
        return self._allowed_ns(chat_id, _to_ns(self._clock())) / NS_PER_S

    def ready(self, chat_id: int) -> bool:
        now_ns = _to_ns(self._clock())
        return self._allowed_ns(chat_id, now_ns) <= now_ns

    def reserve(self, chat_id: int) -> float:
        """Record a send now and return 0.0 if one may go now, else the seconds left to wait."""
        now_ns = _to_ns(self._clock())
        allowed = self._allowed_ns(chat_id, now_ns)
        if allowed > now_ns:
            return (allowed - now_ns) / NS_PER_S
        self._record(chat_id, now_ns)
        return 0.0

    def record_send(self, chat_id: int, at: float) -> None:
        """Remember a send to `chat_id` made at monotonic time `at`."""
        self._record(chat_id, _to_ns(at))

    def _record(self, chat_id: int, at_ns: int) -> None:
        base = at_ns if self._tat_ns is None else max(self._tat_ns, at_ns)
        self._tat_ns = base + self._emission_ns
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _ChatState(last_ns=at_ns)
        state.last_ns = max(state.last_ns, at_ns)
        if is_group_chat(chat_id):
            state.window.append(at_ns)
            while len(state.window) > self._group_cap:
                state.window.popleft()
        self._sends_since_sweep += 1
        if self._sends_since_sweep >= max(MIN_SWEEP_EVERY_SENDS, self._chats_after_sweep):
            self._sweep(max(at_ns, _to_ns(self._clock())))

    def _sweep(self, now_ns: int) -> None:
        """Forget chats that no longer constrain anything; amortised O(1) per send."""
        self._sends_since_sweep = 0
        idle = [
            chat_id
            for chat_id, state in self._chats.items()
            if state.last_ns + self._chat_interval_ns <= now_ns
            and (not state.window or state.window[-1] + self._group_window_ns <= now_ns)
        ]
        for chat_id in idle:
            del self._chats[chat_id]
        self._chats_after_sweep = len(self._chats)

    def pause_all(self, until: float) -> None:
        """Hold every send until monotonic time `until` (a 429 with retry_after)."""
        self._paused_until_ns = max(self._paused_until_ns, _to_ns(until))


async def wait_turn(
    pacer: Pacer,
    chat_id: int,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> float:
    """Wait until a send to `chat_id` may go, reserve it, and return the monotonic send time.

    Reserving before returning lets several tasks share one pacer: a task that wakes to find
    its slot taken by another simply waits again.
    """
    while (delay := pacer.reserve(chat_id)) > 0:
        await sleep(delay)
    return pacer.now()
