"""Who gets an answer: the config's access rule and per-user flood control.

Kept in memory only: a refused chat is not written anywhere (it is remembered here so it is
refused once, politely, not at every message), and flood windows last a minute.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

WINDOW_S = 60.0
MAX_REMEMBERED = 10_000  # refused chats and flood windows kept, least recent dropped first


@dataclass(frozen=True)
class AccessRule:
    """`access: open | allowlist` from config.yaml; Herald's admins are always let in."""

    allowlist: bool
    users: frozenset[int]
    chats: frozenset[int]

    @classmethod
    def of(
        cls, mode: str, users: Iterable[int], chats: Iterable[int], admins: Iterable[int]
    ) -> AccessRule:
        return cls(mode == "allowlist", frozenset([*users, *admins]), frozenset(chats))

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        if not self.allowlist:
            return True
        return (user_id is not None and user_id in self.users) or (
            chat_id is not None and chat_id in self.chats
        )


class _Bounded(OrderedDict[int, object]):
    def touch(self, key: int, value: object) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > MAX_REMEMBERED:
            self.popitem(last=False)


@dataclass
class Refusals:
    """Chats already told they may not use Herald (told once per process)."""

    _told: _Bounded = field(default_factory=_Bounded)

    def first_time(self, chat_id: int) -> bool:
        if chat_id in self._told:
            return False
        self._told.touch(chat_id, True)
        return True


class FloodVerdict:
    OK = "ok"
    WARN = "warn"  # the first one over the limit: say so once
    DROP = "drop"  # over the limit and already told


@dataclass
class FloodControl:
    """At most `per_minute` commands per user in any 60 s; the first extra one is told so."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _windows: _Bounded = field(default_factory=_Bounded)
    _warned: dict[int, float] = field(default_factory=dict)

    def check(self, user_id: int) -> str:
        now = self.clock()
        window = self._windows.get(user_id)
        if not isinstance(window, deque):
            window = deque()
        while window and now - window[0] >= WINDOW_S:
            window.popleft()
        if len(window) < self.per_minute:
            window.append(now)
            self._windows.touch(user_id, window)
            self._warned.pop(user_id, None)
            return FloodVerdict.OK
        self._windows.touch(user_id, window)
        if user_id in self._warned:
            return FloodVerdict.DROP
        if len(self._warned) >= MAX_REMEMBERED:
            self._warned.clear()
        self._warned[user_id] = now
        return FloodVerdict.WARN
