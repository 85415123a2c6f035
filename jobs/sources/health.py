"""Source health decisions as pure functions: when to check next, back-off, failing and quiet.

Nothing here does I/O; the poller (`jobs/sources/poll.py`) feeds in what a fetch produced and
stores what these functions decide.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

MAX_DELAY_S = 86_400.0  # back-off, Retry-After and max-age never push a check further
FAILURE_ALERT_THRESHOLD = 3
MAX_BACKOFF_EXPONENT = 16  # 2**16 periods is beyond the cap for any period of 2 s or more
# A source is quiet when nothing new came for this many of its usual gaps between items...
QUIET_RHYTHM_FACTOR = 10.0
# ...and for at least this long, so a source that publishes every minute is not "quiet" at lunch.
QUIET_MIN_S = 2 * 86_400.0
QUIET_MIN_ITEMS = 5  # fewer dated items than this: no rhythm is known, never report quiet

HealthEvent = Literal["failing", "recovered", "quiet"]


@dataclass(frozen=True, slots=True)
class HealthState:
    """What the store says about a source before a fetch."""

    every_s: int
    consecutive_failures: int = 0
    failing_reported: bool = False


@dataclass(frozen=True, slots=True)
class HealthUpdate:
    """What to store after a fetch, and the event to tell admins about (if any)."""

    next_check_at: datetime
    consecutive_failures: int
    failing_reported: bool
    event: HealthEvent | None = None


def backoff_s(every_s: float, failures: int) -> float:
    """Delay after `failures` consecutive failures: the period doubled per failure, capped."""
    if failures <= 0:
        return min(float(every_s), MAX_DELAY_S)
    exponent = min(failures, MAX_BACKOFF_EXPONENT)
    return min(float(every_s) * 2.0**exponent, MAX_DELAY_S)


def success_delay_s(every_s: float, max_age_s: float | None) -> float:
    """Delay after a success: the period, or longer when the server says its copy stays fresh."""
    return min(max(float(every_s), max_age_s or 0.0), MAX_DELAY_S)


def failure_delay_s(every_s: float, failures: int, retry_after_s: float | None) -> float:
    """Delay after a failure: the back-off, or longer when the server asked us to wait."""
    return min(max(backoff_s(every_s, failures), retry_after_s or 0.0), MAX_DELAY_S)


def after_success(
    state: HealthState, now: datetime, *, max_age_s: float | None = None, jitter_s: float = 0.0
) -> HealthUpdate:
    """The source answered (200 or 304): reset failures; say "recovered" if failing was told."""
    delay = success_delay_s(state.every_s, max_age_s) + jitter_s
    return HealthUpdate(
        next_check_at=now + timedelta(seconds=delay),
        consecutive_failures=0,
        failing_reported=False,
        event="recovered" if state.failing_reported else None,
    )


def after_failure(
    state: HealthState,
    now: datetime,
    *,
    retry_after_s: float | None = None,
    threshold: int = FAILURE_ALERT_THRESHOLD,
    jitter_s: float = 0.0,
) -> HealthUpdate:
    """The fetch or the parse failed: back off; say "failing" once the threshold is reached."""
    failures = state.consecutive_failures + 1
    delay = failure_delay_s(state.every_s, failures, retry_after_s) + jitter_s
    tell = failures >= threshold and not state.failing_reported
    return HealthUpdate(
        next_check_at=now + timedelta(seconds=delay),
        consecutive_failures=failures,
        failing_reported=state.failing_reported or tell,
        event="failing" if tell else None,
    )


def usual_gap_s(published: Sequence[datetime]) -> float | None:
    """The median gap between a source's item dates (any order); None if too few to tell."""
    if len(published) < QUIET_MIN_ITEMS:
        return None
    ordered = sorted(published)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    return max(statistics.median(gaps), 1.0)


def quiet_after_s(usual_gap: float, every_s: float) -> float:
    """How long without anything new makes a source with this rhythm quiet."""
    return max(QUIET_RHYTHM_FACTOR * usual_gap, QUIET_MIN_S, QUIET_RHYTHM_FACTOR * every_s)


def is_quiet(
    now: datetime, last_new_item_at: datetime | None, usual_gap: float | None, every_s: float
) -> bool:
    """Nothing new for much longer than usual (never when the rhythm is unknown)."""
    if last_new_item_at is None or usual_gap is None:
        return False
    return (now - last_new_item_at).total_seconds() > quiet_after_s(usual_gap, every_s)


def may_be_quiet(now: datetime, last_new_item_at: datetime | None) -> bool:
    """A cheap first test before looking up a source's rhythm in the store."""
    return last_new_item_at is not None and (now - last_new_item_at).total_seconds() > QUIET_MIN_S
