"""Recurring deadlines: occurrences of an RRULE or a 5-field cron rule at a fixed local time."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

from dateutil.rrule import (
    FR,
    MO,
    MONTHLY,
    SA,
    SU,
    TH,
    TU,
    WE,
    rrule,
    rrulebase,
    rruleset,
    rrulestr,
    weekday,
)

from bot.domain.offsets import ZoneError, local_to_utc, zone_info
from bot.domain.text import N_, ReaderError

MAX_RULE_CHARS = 300
MAX_OCCURRENCES = 1000
# Deadlines are not alarms: a rule that falls due more often than hourly is refused.
MIN_OCCURRENCE_GAP_S = 3600
# How far ahead a rule must occur at least once, and how far next_occurrence looks.
HORIZON_DAYS = 3660
_VALIDATION_SAMPLE = 50
# Naive local bounds are widened by this much so that no zone offset can push a match outside.
_LOCAL_MARGIN = timedelta(days=2)
_REFERENCE_START = datetime(2000, 1, 1)

_WEEKDAYS = (MO, TU, WE, TH, FR, SA, SU)
_DOW_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_FREQ_RE = re.compile(r"(?:^|;)FREQ=([A-Z]+)")
_UNTIL_UTC_RE = re.compile(r"UNTIL=(\d{8}T\d{6})Z")


class RecurrenceError(ReaderError):
    """A rule that cannot be used; the message is fit to show to a user."""


def _is_cron(text: str) -> bool:
    return "=" not in text and len(text.split()) == 5


def _cron_values(field: str, low: int, high: int, names: dict[str, int]) -> set[int] | None:
    """The values a cron field allows, or None for "*" (no restriction)."""
    if field == "*":
        return None
    values: set[int] = set()
    for item in field.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() else 0 if step_text else 1
        if step < 1:
            raise RecurrenceError(N_("'{item}' has no valid step"), item=item)
        if base == "*":
            first, last = low, high
        else:
            start_text, _, end_text = base.partition("-")
            first = _cron_number(start_text, low, high, names)
            last = _cron_number(end_text, low, high, names) if end_text else first
            if step_text and not end_text:
                last = high
        if first > last:
            raise RecurrenceError(N_("'{item}' is an empty range"), item=item)
        values.update(range(first, last + 1, step))
    return values


def _cron_number(text: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text.lower()) if not text.isdigit() else int(text)
    if value is None or not low <= value <= high:
        raise RecurrenceError(
            N_("'{text}' is not between {low} and {high}"), text=text, low=low, high=high
        )
    return value


def _cron_weekdays(field: str) -> list[weekday] | None:
    """Cron day-of-week (0 or 7 = Sunday), with `5#1` (first Friday) and `5L` (last Friday)."""
    if field == "*":
        return None
    days: list[weekday] = []
    plain: list[str] = []
    for item in field.split(","):
        match = re.fullmatch(r"(\w+?)(?:#(\d+)|(L))", item)
        if match:
            cron_day = _cron_number(match[1], 0, 7, _DOW_NAMES)
            nth = -1 if match[3] else int(match[2])
            if not 1 <= nth <= 5 and nth != -1:
                raise RecurrenceError(
                    N_("'{item}' asks for week {nth}; a month has weeks 1 to 5"), item=item, nth=nth
                )
            days.append(_WEEKDAYS[(cron_day - 1) % 7](nth))
        else:
            plain.append(item)
    if plain:
        values = _cron_values(",".join(plain), 0, 7, _DOW_NAMES) or set()
        days.extend(_WEEKDAYS[(value - 1) % 7] for value in sorted(values))
    return days


def _cron_rule(text: str, dtstart: datetime, until: datetime) -> rrulebase:
    minute, hour, dom, month, dow = text.split()
    common = {
        "dtstart": dtstart.replace(second=0, microsecond=0),
        "byminute": sorted(_cron_values(minute, 0, 59, {}) or range(60)),
        "byhour": sorted(_cron_values(hour, 0, 23, {}) or range(24)),
        "bymonth": sorted(_cron_values(month, 1, 12, _MONTH_NAMES) or range(1, 13)),
        "bysecond": 0,
        "until": until,
        "cache": False,
    }
    last_day = dom.upper() == "L"
    monthdays = [-1] if last_day else _cron_values(dom, 1, 31, {})
    weekdays = _cron_weekdays(dow)
    if monthdays is not None and weekdays is not None:
        # Cron fires when either day field matches if both are restricted.
        both = rruleset()
        both.rrule(rrule(MONTHLY, bymonthday=sorted(monthdays), **common))  # type: ignore[arg-type]
        both.rrule(rrule(MONTHLY, byweekday=weekdays, **common))  # type: ignore[arg-type]
        return both
    if weekdays is not None:
        return rrule(MONTHLY, byweekday=weekdays, **common)  # type: ignore[arg-type]
    days = sorted(monthdays) if monthdays is not None else list(range(1, 32))
    return rrule(MONTHLY, bymonthday=days, **common)  # type: ignore[arg-type]


def _rrule_text(text: str, zone: str) -> str:
    """Strip an "RRULE:" prefix and express a UTC UNTIL as local wall time in `zone`."""
    body = text.removeprefix("RRULE:").strip()
    tz = zone_info(zone)

    def local_until(match: re.Match[str]) -> str:
        until = datetime.strptime(match[1], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        return "UNTIL=" + until.astimezone(tz).strftime("%Y%m%dT%H%M%S")

    return _UNTIL_UTC_RE.sub(local_until, body)


def _build(rule: str, dtstart_local: datetime, zone: str, until_local: datetime) -> rrulebase:
    """A dateutil rule over naive wall-clock times in `zone`, ending by `until_local`.

    The end keeps a rule that rarely matches from being searched up to the year 9999; a rule
    with its own COUNT or UNTIL is finite already and keeps it.
    """
    text = rule.strip()
    if not text or len(text) > MAX_RULE_CHARS:
        raise RecurrenceError(
            N_(
                "a rule must be 1 to {n} characters; write e.g. FREQ=MONTHLY;BYDAY=1FR"
                " or a cron rule such as 30 8 * * 5#1"
            ),
            n=MAX_RULE_CHARS,
        )
    if dtstart_local.tzinfo is not None:
        raise ValueError("dtstart_local must be a naive wall-clock datetime")
    built: object
    try:
        if _is_cron(text):
            built = _cron_rule_quoted(text, dtstart_local, until_local)
        else:
            built = _rrule_rule(text, dtstart_local, zone, until_local)
    except RecurrenceError:
        raise
    except ZoneError as exc:
        raise RecurrenceError.quoting(exc) from exc
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RecurrenceError(
            N_(
                "'{text}' is not a rule I can read ({detail}); write e.g."
                " FREQ=MONTHLY;BYDAY=1FR or a cron rule such as 30 8 * * 5#1"
            ),
            text=text,
            detail=str(exc),
        ) from exc
    if not isinstance(built, rrulebase):
        raise RecurrenceError(
            N_(
                "'{text}' is not a single rule; write e.g. FREQ=MONTHLY;BYDAY=1FR"
                " or a cron rule such as 30 8 * * 5#1"
            ),
            text=text,
        )
    return built


def _cron_rule_quoted(text: str, dtstart_local: datetime, until_local: datetime) -> rrulebase:
    """The cron rule `text`; its errors name the rule they are about."""
    try:
        return _cron_rule(text, dtstart_local, until_local)
    except RecurrenceError as exc:
        raise RecurrenceError(
            N_("in cron rule '{text}': {problem}"), text=text, problem=exc
        ) from exc


def _rrule_rule(text: str, dtstart_local: datetime, zone: str, until_local: datetime) -> object:
    """The RRULE `text` (no DTSTART of its own, at most hourly), ended by `until_local`
    unless it has its own COUNT or UNTIL; whatever dateutil builds from it."""
    body = _rrule_text(text.upper(), zone)
    if any(part in body for part in ("DTSTART", "\n", "EXDATE", "RDATE")):
        raise RecurrenceError(N_("give only the RRULE part; the start comes from the deadline"))
    freq = _FREQ_RE.search(body)
    if freq is None:
        raise RecurrenceError(
            N_(
                "'{text}' has no FREQ; write e.g. FREQ=MONTHLY;BYDAY=1FR"
                " or a cron rule such as 30 8 * * 5#1"
            ),
            text=text,
        )
    if freq[1] not in ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"):
        raise RecurrenceError(
            N_("FREQ={freq} is too frequent or unknown for a deadline"), freq=freq[1]
        )
    built: object = rrulestr(body, dtstart=dtstart_local, cache=False)
    if isinstance(built, rrule) and "COUNT=" not in body and "UNTIL=" not in body:
        built = built.replace(until=until_local)
    return built


def _local_bound(moment: datetime, zone: str, margin: timedelta) -> datetime:
    return moment.astimezone(zone_info(zone)).replace(tzinfo=None) + margin


def validate_rule(text: str, *, zone: str = "UTC") -> None:
    """Raise RecurrenceError unless `text` is a usable RRULE or cron rule.

    Usable means readable, occurring at least once within HORIZON_DAYS and never twice within
    MIN_OCCURRENCE_GAP_S.
    """
    rule = _build(text, _REFERENCE_START, zone, _REFERENCE_START + timedelta(days=HORIZON_DAYS))
    sample = list(itertools.islice(rule, _VALIDATION_SAMPLE))
    if not sample:
        raise RecurrenceError(
            N_(
                "'{text}' never occurs; write e.g. FREQ=MONTHLY;BYDAY=1FR"
                " or a cron rule such as 30 8 * * 5#1"
            ),
            text=text.strip(),
        )
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(sample)]
    if gaps and min(gaps) < MIN_OCCURRENCE_GAP_S:
        raise RecurrenceError(
            N_(
                "'{text}' occurs more than once an hour; write e.g. FREQ=MONTHLY;BYDAY=1FR"
                " or a cron rule such as 30 8 * * 5#1"
            ),
            text=text.strip(),
        )


def occurrences(
    rule: str,
    *,
    dtstart_local: datetime,
    zone: str,
    after: datetime,
    before: datetime,
    limit: int = MAX_OCCURRENCES,
) -> list[datetime]:
    """Occurrences with after < t <= before, as aware UTC datetimes, earliest first.

    The rule runs on naive wall-clock time in `zone` from `dtstart_local`, so 08:30 stays 08:30
    local across DST changes; wall times in a gap or fold resolve as `local_to_utc` documents.
    At most `limit` occurrences (the earliest) are returned.
    """
    low = _local_bound(after, zone, -_LOCAL_MARGIN)
    high = _local_bound(before, zone, _LOCAL_MARGIN)
    built = _build(rule, dtstart_local, zone, high)
    found: list[datetime] = []
    for local in built.xafter(low, inc=True):
        when = local_to_utc(local, zone)
        if after < when <= before and (not found or when > found[-1]):
            found.append(when)
            if len(found) >= limit:
                break
    return found


def next_occurrence(
    rule: str, *, dtstart_local: datetime, zone: str, after: datetime
) -> datetime | None:
    """The first occurrence strictly after `after` (UTC), or None within HORIZON_DAYS."""
    found = occurrences(
        rule,
        dtstart_local=dtstart_local,
        zone=zone,
        after=after,
        before=after + timedelta(days=HORIZON_DAYS),
        limit=1,
    )
    return found[0] if found else None


def next_after(rule: str, *, start_utc: datetime, zone: str, after: datetime) -> datetime | None:
    """Like `next_occurrence`, for a rule anchored at an aware instant (a stored deadline's)."""
    local_start = start_utc.astimezone(zone_info(zone)).replace(tzinfo=None)
    return next_occurrence(rule, dtstart_local=local_start, zone=zone, after=after)
