"""Pacing against Telegram's flood limits and fair ordering, on a fake clock (no real sleeps)."""

from __future__ import annotations

import itertools
from bisect import bisect_left
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery_policy.fair import (
    PRIORITY_NEWS,
    PRIORITY_NORMAL,
    PRIORITY_URGENT,
    FairQueue,
    PendingAlert,
)
from bot.delivery_policy.pacing import Pacer, wait_turn
from tests.helpers import FakeClock

T0 = datetime(2025, 7, 9, 12, 0, tzinfo=UTC)


def _max_in_window(times: list[float], window_s: float) -> int:
    """Most sends in any half-open window [t, t + window_s)."""
    ordered = sorted(times)
    return max(bisect_left(ordered, t + window_s) - i for i, t in enumerate(ordered))


def _greedy_run(
    pacer: Pacer, clock: FakeClock, chats: list[int], sends: int
) -> dict[int, list[float]]:
    """Send as fast as the pacer allows, always to the chat that may go soonest."""
    sent: dict[int, list[float]] = {chat: [] for chat in chats}
    for _ in range(sends):
        chat = min(chats, key=lambda c: (pacer.next_allowed(c), len(sent[c])))
        clock.now = pacer.next_allowed(chat)
        assert pacer.reserve(chat) == 0.0
        sent[chat].append(clock.now)
    return sent


def test_ten_thousand_sends_respect_every_limit() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    chats = [*range(1, 41), *range(-10, 0)]  # 40 private chats, 10 groups
    sent = _greedy_run(pacer, clock, chats, 10_000)
    everything = [t for times in sent.values() for t in times]
    assert len(everything) == 10_000
    assert _max_in_window(everything, 1.0) == 30
    for chat, times in sent.items():
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 1.0
        if chat < 0:
            assert _max_in_window(times, 60.0) == 20
    # 10,000 sends take 333 s: six minute windows of 20 per group; private chats take the rest.
    assert {len(sent[chat]) for chat in range(-10, 0)} == {120}
    assert {len(sent[chat]) for chat in range(1, 41)} == {220}


def test_global_rate_is_reached_not_just_respected() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    sent = _greedy_run(pacer, clock, list(range(1, 101)), 3000)
    everything = sorted(t for times in sent.values() for t in times)
    assert everything[-1] - everything[0] == pytest.approx(2999 / 30, abs=1e-3)


def test_group_gets_twenty_a_minute_then_waits() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    times = _greedy_run(pacer, clock, [-100], 41)[-100]
    assert times[19] - times[0] == pytest.approx(19.0)  # one a second for the first 20
    assert times[20] - times[0] == pytest.approx(60.0)  # the 21st waits for the window
    assert times[40] - times[20] == pytest.approx(60.0)


def test_private_chat_one_per_second() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    pacer.record_send(7, clock.now)
    assert pacer.next_allowed(7) == pytest.approx(clock.now + 1.0)
    assert pacer.next_allowed(8) == pytest.approx(clock.now + 1 / 30, abs=1e-6)
    assert not pacer.ready(7)


def test_pause_all_waits_exactly_retry_after() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    pacer.pause_all(clock.now + 17.0)
    assert pacer.next_allowed(1) == clock.now + 17.0
    assert pacer.next_allowed(-5) == clock.now + 17.0
    pacer.pause_all(clock.now + 3.0)  # a shorter pause never shortens a longer one
    assert pacer.next_allowed(1) == clock.now + 17.0


async def test_wait_turn_sleeps_on_the_fake_clock() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    first = await wait_turn(pacer, 42, sleep=clock.sleep)
    second = await wait_turn(pacer, 42, sleep=clock.sleep)
    other = await wait_turn(pacer, 43, sleep=clock.sleep)
    assert first == 1000.0
    assert second == pytest.approx(1001.0)
    assert other == pytest.approx(1001.0 + 1 / 30, abs=1e-6)


async def test_wait_turn_after_a_429_pause_returns_when_the_pause_ends() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    pacer.pause_all(clock.now + 5.0)
    assert await wait_turn(pacer, 1, sleep=clock.sleep) == pytest.approx(1005.0)


def test_idle_chats_are_forgotten() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    for chat in range(1, 100_001):
        clock.now += 1 / 30
        pacer.record_send(chat if chat % 2 else -chat, clock.now)
    # Only chats sent to within the last minute (plus one sweep period) can still matter.
    assert pacer.tracked_chats <= 2 * 30 * 60 + 64
    clock.now += 61.0
    # A sweep comes at the latest after as many sends as chats were left by the last one.
    for _ in range(2 * 30 * 60 + 64):
        pacer.record_send(1, clock.now)
    assert pacer.tracked_chats == 1


def test_burst_allows_idle_capacity_at_once() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock, global_burst=5)
    for chat in range(1, 6):
        assert pacer.reserve(chat) == 0.0
    assert pacer.reserve(6) == pytest.approx(1 / 30, abs=1e-6)


class OpenGate:
    def __init__(self, closed: frozenset[int] = frozenset()) -> None:
        self.closed = closed

    def ready(self, chat_id: int) -> bool:
        return chat_id not in self.closed


def _alert(id_: int, chat: int, priority: int = PRIORITY_NEWS, minutes: int = 0) -> PendingAlert:
    return PendingAlert(id_, chat, priority, T0 + timedelta(minutes=minutes))


def test_urgent_alerts_go_first() -> None:
    pending = [_alert(1, 10), _alert(2, 11, PRIORITY_NORMAL), _alert(3, 12, PRIORITY_URGENT, 5)]
    chosen = FairQueue().choose(pending, OpenGate())
    assert [a.id for a in chosen] == [3, 2, 1]


def test_one_busy_chat_does_not_delay_the_others() -> None:
    queue = FairQueue()
    pending = [_alert(i, 1) for i in range(500)]
    pending += [_alert(1000, 2, minutes=30), _alert(1001, 3, minutes=45)]
    first = queue.choose(pending, OpenGate(), limit=1)
    assert [a.id for a in first] == [0]
    pending = [a for a in pending if a.id != 0]
    # Chat 1 was served; the never-served chats 2 and 3 come before its second alert.
    second = queue.choose(pending, OpenGate(), limit=3)
    assert [a.id for a in second] == [1000, 1001, 1]


def test_round_robin_across_calls() -> None:
    queue = FairQueue()
    pending = [_alert(c * 100 + i, c, minutes=i) for c in (1, 2, 3) for i in range(3)]
    order: list[int] = []
    for _ in range(6):
        (chosen,) = queue.choose(pending, OpenGate(), limit=1)
        order.append(chosen.chat_id)
        pending.remove(chosen)
    assert order == [1, 2, 3, 1, 2, 3]


def test_chats_the_pacer_holds_are_skipped() -> None:
    pending = [_alert(1, 10, PRIORITY_URGENT), _alert(2, 11), _alert(3, 11, minutes=1)]
    chosen = FairQueue().choose(pending, OpenGate(frozenset({10})))
    assert [a.id for a in chosen] == [2]


def test_the_fair_queue_skips_a_chat_the_real_pacer_still_holds() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    pacer.record_send(10, clock.now)
    clock.now += 0.5  # past the global spacing, not past chat 10's one second
    chosen = FairQueue().choose([_alert(1, 10), _alert(2, 11)], pacer)
    assert [a.id for a in chosen] == [2]


def test_idle_chats_are_swept_every_64_sends_not_sooner() -> None:
    clock = FakeClock()
    pacer = Pacer(clock=clock)
    for chat in range(1, 65):  # each chat idle again before the next send
        clock.now += 2.0
        pacer.record_send(chat, clock.now)
    assert pacer.tracked_chats == 1  # the 64th send swept the 63 idle chats
    for chat in range(65, 128):
        clock.now += 2.0
        pacer.record_send(chat, clock.now)
    assert pacer.tracked_chats == 64  # 63 sends since the sweep: none yet
    clock.now += 2.0
    pacer.record_send(128, clock.now)
    assert pacer.tracked_chats == 1


_NOT_POSITIVE = r"^rates and intervals must be positive$"
_BELOW_ONE = r"^group_per_minute and global_burst must be at least 1$"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"global_rate_per_s": 0}, _NOT_POSITIVE),
        ({"private_interval_s": -0.5}, _NOT_POSITIVE),
        ({"group_window_s": 0}, _NOT_POSITIVE),
        ({"group_per_minute": 0}, _BELOW_ONE),
        ({"global_burst": 0}, _BELOW_ONE),
    ],
)
def test_each_setting_out_of_range_is_rejected_on_its_own(
    settings: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Pacer(**settings)  # type: ignore[arg-type]


def test_a_slow_rate_and_a_short_window_are_kept_as_given() -> None:
    clock = FakeClock()
    pacer = Pacer(
        global_rate_per_s=0.5,
        private_interval_s=0.5,
        group_per_minute=1,
        group_window_s=0.5,
        clock=clock,
    )
    pacer.record_send(-5, clock.now)
    assert pacer.next_allowed(-5) == clock.now + 2.0  # one send every two seconds overall
    clock.now += 2.0
    assert pacer.ready(-5)


def test_without_a_chat_interval_one_chat_may_take_every_global_slot() -> None:
    clock = FakeClock()
    pacer = Pacer(private_interval_s=0, clock=clock)
    pacer.record_send(7, clock.now)
    assert pacer.next_allowed(7) == pytest.approx(clock.now + 1 / 30, abs=1e-9)


def test_a_chat_idle_exactly_at_the_sweep_is_forgotten() -> None:
    clock = FakeClock(1000.0)
    pacer = Pacer(clock=clock)
    pacer.record_send(-5, 1000.0)  # its group window ends at 1060.0
    pacer.record_send(7, 1059.0)  # its chat interval ends at 1060.0
    clock.now = 1060.0
    for _ in range(62):  # the 64th send sweeps, at 1060.0
        pacer.record_send(1, clock.now)
    assert pacer.tracked_chats == 1


def test_a_fresh_pacer_holds_nothing_back_even_at_clock_zero() -> None:
    pacer = Pacer(clock=FakeClock(0.0))
    assert pacer.next_allowed(5) == 0.0
    assert pacer.ready(5)
