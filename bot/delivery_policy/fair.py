"""Choose which pending alerts go next: urgent first, then round-robin across chats.

A chat with 500 fresh news matches must not hold up a chat with one reminder. Each call
offers at most one alert per chat (the pacer would not let a chat have two in a second
anyway), orders chats by the priority of their most pressing alert, and within a priority
serves the chat that was served least recently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

PRIORITY_URGENT = 0  # deadline reached, reminder less than an hour ahead, deadline changed
PRIORITY_NORMAL = 1  # other reminders, digests
PRIORITY_NEWS = 2  # news matches
DEFAULT_BATCH_ALERTS = 30  # one second's worth at Telegram's overall limit


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """The fields of an outbox row that scheduling needs."""

    id: int
    chat_id: int
    priority: int
    created_at: datetime


class Gate(Protocol):
    """Anything that says whether a chat may receive a message now (a `Pacer`)."""

    def ready(self, chat_id: int) -> bool: ...


def _head_key(alert: PendingAlert) -> tuple[int, datetime, int]:
    return (alert.priority, alert.created_at, alert.id)


class FairQueue:
    """Round-robin memory: which chat was served when. Holds only chats with pending alerts."""

    def __init__(self) -> None:
        self._turn = 0
        self._last_served: dict[int, int] = {}

    def choose(
        self,
        pending: Iterable[PendingAlert],
        gate: Gate,
        limit: int = DEFAULT_BATCH_ALERTS,
    ) -> list[PendingAlert]:
        """The next alerts to send, best first: at most `limit`, at most one per chat.

        Chats the gate does not allow yet are skipped. Chosen chats count as served, so the
        caller should send (or at least attempt) everything it is given.
        """
        heads: dict[int, PendingAlert] = {}
        for alert in pending:
            best = heads.get(alert.chat_id)
            if best is None or _head_key(alert) < _head_key(best):
                heads[alert.chat_id] = alert
        # A chat with nothing pending needs no place in the rotation; this bounds memory.
        self._last_served = {c: t for c, t in self._last_served.items() if c in heads}
        ready = [alert for chat_id, alert in heads.items() if gate.ready(chat_id)]
        ready.sort(
            key=lambda a: (a.priority, self._last_served.get(a.chat_id, -1), a.created_at, a.id)
        )
        chosen = ready[: max(limit, 0)]
        for alert in chosen:
            self._turn += 1
            self._last_served[alert.chat_id] = self._turn
        return chosen
