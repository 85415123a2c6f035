"""Reading "<when> <title>" typed in a chat (`/add 9 Jul 17:00 Trade deal`) into a deadline."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

from bot.domain.offsets import ZoneError, due_from_date, local_to_utc, zone_info
from bot.domain.text import N_, DateText, ReaderError

MAX_INPUT_CHARS = 500
MAX_TITLE_CHARS = 200
MAX_YEARS_AHEAD = 10
# A year-less date is tried in this many successive years (29 Feb needs up to 8).
YEARLESS_CANDIDATE_YEARS = 9


def example_date(days_ahead: int = 30) -> str:
    """An ISO date `days_ahead` from today, for hints: a fixed example would soon be past."""
    return f"{datetime.now(UTC).date() + timedelta(days=days_ahead):%Y-%m-%d}"


TITLE_EXAMPLE = "9 Jul 17:00 Trade deal deadline"

# Refusals raised from more than one place.
_NOT_A_DATE = N_(
    "'{text}' is not a date; write e.g. {example}, 9 Jul 17:00, tomorrow noon,"
    " next Friday 09:00 or in 3 days"
)
_NOT_A_CLOCK = N_("'{text}' is not a time of day; write e.g. 17:00 or 5pm")
_TOO_FAR = N_("that is more than {years} years ahead")

CITY_ZONES = {
    "london": "Europe/London", "new york": "America/New_York", "nyc": "America/New_York",
    "washington": "America/New_York", "chicago": "America/Chicago",
    "los angeles": "America/Los_Angeles", "san francisco": "America/Los_Angeles",
    "toronto": "America/Toronto", "ottawa": "America/Toronto",
    "mexico city": "America/Mexico_City", "brussels": "Europe/Brussels", "paris": "Europe/Paris",
    "berlin": "Europe/Berlin", "frankfurt": "Europe/Berlin", "geneva": "Europe/Zurich",
    "zurich": "Europe/Zurich", "moscow": "Europe/Moscow", "dubai": "Asia/Dubai",
    "delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "beijing": "Asia/Shanghai",
    "shanghai": "Asia/Shanghai", "hong kong": "Asia/Hong_Kong", "taipei": "Asia/Taipei",
    "singapore": "Asia/Singapore", "seoul": "Asia/Seoul", "tokyo": "Asia/Tokyo",
    "sydney": "Australia/Sydney",
}  # fmt: skip
# Abbreviations name a region's zone, whose DST applies by date: people write "EST" all year.
ABBREVIATED_ZONES = {
    "utc": "UTC", "gmt": "UTC", "bst": "Europe/London", "et": "America/New_York",
    "est": "America/New_York", "edt": "America/New_York", "ct": "America/Chicago",
    "cst": "America/Chicago", "cdt": "America/Chicago", "pt": "America/Los_Angeles",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "cet": "Europe/Brussels",
    "cest": "Europe/Brussels", "jst": "Asia/Tokyo", "hkt": "Asia/Hong_Kong",
    "sgt": "Asia/Singapore",
}  # fmt: skip

_WEEKDAYS = {
    name: index
    for index, names in enumerate(
        ("mon monday", "tue tues tuesday", "wed wednesday", "thu thur thurs thursday",
         "fri friday", "sat saturday", "sun sunday")
    )
    for name in names.split()
}  # fmt: skip
_MONTHS = {
    name.lower(): index
    for index in range(1, 13)
    for name in (calendar.month_name[index], calendar.month_abbr[index])
} | {"sept": 9}
_UNITS = {
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mins": "minutes",
    "m": "minutes", "hour": "hours", "hours": "hours", "hr": "hours", "hrs": "hours",
    "h": "hours", "day": "days", "days": "days", "d": "days", "week": "weeks",
    "weeks": "weeks", "wk": "weeks", "wks": "weeks", "w": "weeks", "month": "months",
    "months": "months",
}  # fmt: skip
_ISO_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?")
_NUMERIC_RE = re.compile(r"(\d{1,2})[/.](\d{1,2})(?:[/.](\d{4}))?")
_DAY_RE = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?")
_TIME24_RE = re.compile(r"(\d{1,2}):(\d{2})")
_TIME12_RE = re.compile(r"(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?")
_COMPACT_RE = re.compile(r"(\d{1,5})([a-z]+)")
_MONTH_DATE_SHAPES = ("DOMY", "DMY", "MDY", "DOM", "DM", "MD")


class WhenError(ReaderError):
    """Input that cannot be read as "<when> <title>"; the message is fit to show to a user."""


@dataclass(frozen=True)
class WhenReading:
    """What a chat line meant: when it falls due (UTC), in which zone, and the title."""

    due_utc: datetime
    zone: str
    all_day: bool
    title: str
    matched_text: str


Candidates = Callable[[date], list[date]]


@dataclass(frozen=True)
class _DatePart:
    """A date expression read from tokens[0:end]; `candidates` maps local today to the dates it
    may mean, in order of preference (the first not in the past wins)."""

    end: int
    candidates: Candidates
    strict: bool  # explicit dates may not roll forward: in the past is an error
    weekday: int | None = None  # "Friday 9 July": the date must fall on this weekday
    at: time | None = None  # a time written inside the date itself (2025-07-09T17:00)


@dataclass(frozen=True)
class _Instant:
    end: int
    delta: timedelta


def _clean(token: str) -> str:
    return token.lower().rstrip(",.:;")


def _date_from(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise WhenError(_NOT_A_DATE, text=text, example=example_date()) from None


def _yearless(month: int, day: int, text: str) -> Candidates:
    _date_from(2000, month, day, text)  # 2000 is a leap year: only impossible dates fail

    def candidates(today: date) -> list[date]:
        found = []
        for year in range(today.year, today.year + YEARLESS_CANDIDATE_YEARS):
            try:
                found.append(date(year, month, day))
            except ValueError:
                continue
        return found

    return candidates


def _fixed(day: date) -> Candidates:
    return lambda _today: [day]


def _month_date(tokens: list[str], start: int, zone: str, now: datetime) -> _DatePart | None:
    """`9 July`, `July 9th, 2026`, `9th of Jul` and the like, read by dateparser."""
    shape = ""
    for token in tokens[start : start + 4]:
        word = _clean(token)
        kind = (
            "M" if word in _MONTHS else "Y" if re.fullmatch(r"\d{4}", word)
            else "D" if _DAY_RE.fullmatch(word) else "O" if word == "of" else ""
        )  # fmt: skip
        if not kind:
            break
        shape += kind
    found = next((s for s in _MONTH_DATE_SHAPES if shape.startswith(s)), None)
    if found is None:
        return None
    words = [_clean(token) for token in tokens[start : start + len(found)]]
    text = " ".join(words)
    settings = {
        "PREFER_DATES_FROM": "future",
        "TIMEZONE": zone,
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RELATIVE_BASE": now.astimezone(zone_info(zone)).replace(tzinfo=None),
        "REQUIRE_PARTS": ["day", "month"],
    }
    import dateparser  # here: only dates in words need it, and it holds MBs of language data

    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    if parsed is None:
        raise WhenError(_NOT_A_DATE, text=text, example=example_date())
    end = start + len(found)
    if "Y" in found:
        return _DatePart(end, _fixed(parsed.date()), strict=True)
    return _DatePart(end, _yearless(parsed.month, parsed.day, text), strict=False)


def _numeric_date(token: str, today: date) -> _DatePart | None:
    """`2025-07-09`, and `25/7` or `7/25` when only one reading is a date."""
    iso = _ISO_RE.fullmatch(token)
    if iso:
        written = _date_from(int(iso[1]), int(iso[2]), int(iso[3]), token)
        at = None
        if iso[4] is not None:
            if int(iso[4]) > 23 or int(iso[5]) > 59:
                raise WhenError(
                    N_("'{token}' has no valid time of day; write e.g. {example} 17:00"),
                    token=token,
                    example=example_date(),
                )
            at = time(int(iso[4]), int(iso[5]))
        return _DatePart(1, _fixed(written), strict=True, at=at)
    numeric = _NUMERIC_RE.fullmatch(token)
    if numeric is None:
        return None
    first, second = int(numeric[1]), int(numeric[2])
    if first <= 12 and second <= 12 and first != second:
        raise _ambiguous(token, first, second, today)
    day, month = (second, first) if second > 12 else (first, second)
    if numeric[3]:
        return _DatePart(1, _fixed(_date_from(int(numeric[3]), month, day, token)), strict=True)
    return _DatePart(1, _yearless(month, day, token), strict=False)


def _ambiguous(token: str, first: int, second: int, today: date) -> WhenError:
    as_dm = _yearless(second, first, token)(today)
    year = next((d.year for d in as_dm if d >= today), today.year)
    day_month = f"{first} {calendar.month_name[second]}"
    month_day = f"{second} {calendar.month_name[first]}"
    return WhenError(
        N_("'{token}' could be {day_month} or {month_day}; write {iso} or {short}"),
        token=token,
        day_month=day_month,
        month_day=month_day,
        iso=f"{year}-{second:02d}-{first:02d}",
        short=f"{first} {calendar.month_abbr[second]}",
    )


def _weekday_part(tokens: list[str], start: int) -> _DatePart | None:
    """`Friday`, `this Friday`, `next Friday` (see docs/time.md for what each means)."""
    word = _clean(tokens[start])
    qualifier = word if word in ("this", "next") else ""
    index = start + 1 if qualifier else start
    if index >= len(tokens) or _clean(tokens[index]) not in _WEEKDAYS:
        return None
    weekday = _WEEKDAYS[_clean(tokens[index])]

    def candidates(today: date) -> list[date]:
        ahead = (weekday - today.weekday()) % 7
        if qualifier == "next":
            ahead = ahead or 7
        first = today + timedelta(days=ahead)
        return [first] if qualifier in ("this", "next") else [first, first + timedelta(days=7)]

    return _DatePart(index + 1, candidates, strict=qualifier in ("this", "next"))


def _relative(tokens: list[str], start: int) -> _DatePart | _Instant | None:
    """`today`, `tomorrow`, `in 3 days`, `in 2 weeks`, `in 2 hours`, `in 30m`."""
    word = _clean(tokens[start])
    if word in ("today", "tomorrow"):
        shift = 0 if word == "today" else 1
        return _DatePart(start + 1, lambda today: [today + timedelta(days=shift)], strict=True)
    if word != "in" or start + 1 >= len(tokens):
        return None
    amount_text, end = _clean(tokens[start + 1]), start + 2
    compact = _COMPACT_RE.fullmatch(amount_text)
    if compact:
        amount_text, unit_text = compact[1], compact[2]
    elif end < len(tokens):
        unit_text, end = _clean(tokens[end]), end + 1
    else:
        return None
    digits = amount_text.isascii() and amount_text.isdigit()  # "²".isdigit() is True
    amount = 1 if amount_text in ("a", "an") else int(amount_text) if digits else -1
    unit = _UNITS.get(unit_text)
    if amount < 0 or unit is None or len(amount_text) > 5:
        return None
    if unit in ("minutes", "hours"):
        return _Instant(end, timedelta(**{unit: amount}))
    step = relativedelta(months=amount) if unit == "months" else timedelta(**{unit: amount})
    return _DatePart(end, lambda today: [today + step], strict=True)


def _date_part(
    tokens: list[str], start: int, zone: str, now: datetime
) -> _DatePart | _Instant | None:
    if start >= len(tokens):
        return None
    if _clean(tokens[start]) == "on" and start + 1 < len(tokens):
        return _date_part(tokens, start + 1, zone, now)
    today = now.astimezone(zone_info(zone)).date()
    readers: tuple[Callable[[], _DatePart | _Instant | None], ...] = (
        lambda: _relative(tokens, start),
        lambda: _numeric_date(tokens[start], today),
        lambda: _month_date(tokens, start, zone, now),
    )
    for reader in readers:
        part = reader()
        if part is not None:
            return part
    weekday = _weekday_part(tokens, start)
    if weekday is None:
        return None
    # "Friday 9 July": the weekday only confirms the date that follows it.
    dated = _month_date(tokens, weekday.end, zone, now) if weekday.end < len(tokens) else None
    if dated is None or _clean(tokens[start]) in ("this", "next"):
        return weekday
    named = _WEEKDAYS[_clean(tokens[weekday.end - 1])]
    return _DatePart(dated.end, dated.candidates, dated.strict, weekday=named)


def _time_part(tokens: list[str], start: int) -> tuple[time, int] | None:
    """`17:00`, `5pm`, `5:30 pm`, `noon`, optionally after `at`; None if no time is there."""
    if start < len(tokens) and _clean(tokens[start]) == "at":
        return _time_part(tokens, start + 1)
    if start >= len(tokens):
        return None
    word = _clean(tokens[start])
    if word in ("noon", "midday"):
        return time(12, 0), start + 1
    if word == "midnight":
        raise WhenError(
            N_("'midnight' could mean the start or the end of the day; write 00:00 or 23:59")
        )
    pair = f"{word} {_clean(tokens[start + 1])}" if start + 1 < len(tokens) else ""
    for text, end in ((word, start + 1), (pair, start + 2)):
        twelve = _TIME12_RE.fullmatch(text)
        if twelve:
            hour, minute = int(twelve[1]), int(twelve[2] or 0)
            if not 1 <= hour <= 12 or minute > 59:
                raise WhenError(
                    N_("'{text}' is not a time of day; write e.g. 5pm or 17:00"), text=text
                )
            return time(hour % 12 + (12 if twelve[3] == "p" else 0), minute), end
    clock = _TIME24_RE.fullmatch(word)
    if clock:
        hour, minute = int(clock[1]), int(clock[2])
        if hour > 23 or minute > 59:
            raise WhenError(_NOT_A_CLOCK, text=word)
        return time(hour, minute), start + 1
    return None


def parse_clock(text: str) -> time:
    """A time of day alone, read as /add reads one: `17:00`, `5pm`, `5:30 pm`, `noon`."""
    tokens = [token for token in text.split() if token]
    found = _time_part(tokens, 0) if tokens else None
    if found is None or found[1] != len(tokens):
        raise WhenError(_NOT_A_CLOCK, text=text.strip())
    return found[0]


def _zone_part(tokens: list[str], start: int, timed: bool) -> tuple[str, int] | None:
    """A place or zone word right after the date: `London`, `New York`, `ET`, `Asia/Tokyo`.

    Places and abbreviations count only after a time of day, so that "9 July London summit"
    keeps its title; an IANA name (which no title starts with) counts after any date.
    """
    if start >= len(tokens):
        return None
    if timed and start + 1 < len(tokens):
        two = f"{_clean(tokens[start])} {_clean(tokens[start + 1])}"
        if two in CITY_ZONES:
            return CITY_ZONES[two], start + 2
    word = _clean(tokens[start])
    if timed and (word in CITY_ZONES or word in ABBREVIATED_ZONES):
        return CITY_ZONES.get(word) or ABBREVIATED_ZONES[word], start + 1
    raw = tokens[start].rstrip(",.")
    if "/" in raw and not raw[0].isdigit():
        try:
            zone_info(raw)
        except ZoneError:
            return None
        return raw, start + 1
    return None


@dataclass(frozen=True)
class _Expression:
    """The structure of the leading date expression, before it is resolved against a clock."""

    end: int
    part: _DatePart | None
    instant: timedelta | None
    at: time | None
    zone: str  # the event's zone: a place word, else the chat's
    chat_zone: str  # "today", "tomorrow" and weekdays are the chat's calendar days


def _expression(tokens: list[str], zone: str, now: datetime) -> _Expression:
    at: time | None
    timed = _time_part(tokens, 0)
    if timed is not None:
        at, end = timed
        dated = _date_part(tokens, end, zone, now)
        if isinstance(dated, _DatePart) and dated.at is None:
            part, end = dated, dated.end
        else:
            # A time alone means its next occurrence: today, or tomorrow once it has passed.
            part = _DatePart(end, lambda today: [today, today + timedelta(days=1)], strict=False)
    else:
        found = _date_part(tokens, 0, zone, now)
        if found is None:
            shown = " ".join(tokens[:3])
            raise WhenError(
                N_(
                    "I can't read a date at the start of '{shown}'; write e.g. {example},"
                    " 9 Jul 17:00, tomorrow noon, next Friday 09:00 or in 3 days"
                ),
                shown=shown,
                example=example_date(),
            )
        if isinstance(found, _Instant):
            return _Expression(found.end, None, found.delta, None, zone, zone)
        part, end, at = found, found.end, found.at
        if at is None and (timed := _time_part(tokens, end)) is not None:
            at, end = timed
    event_zone = zone
    place = _zone_part(tokens, end, timed=at is not None)
    if place is not None:
        event_zone, end = place
    return _Expression(end, part, None, at, event_zone, zone)


def _describe(due_utc: datetime, zone: str, all_day: bool) -> str:
    local = due_utc.astimezone(zone_info(zone))
    day = f"{local:%a} {local.day} {local:%b %Y}"
    return day if all_day else f"{day} {local:%H:%M %Z}"


def _resolve(expression: _Expression, now: datetime) -> tuple[datetime, bool]:
    """The due instant and whether it is all-day, or WhenError if it is in the past."""
    if expression.instant is not None:
        due = now.astimezone(UTC) + expression.instant
        if due > now.astimezone(UTC) + relativedelta(years=MAX_YEARS_AHEAD):
            raise WhenError(_TOO_FAR, years=MAX_YEARS_AHEAD)
        return due, False
    part, at, zone = expression.part, expression.at, expression.zone
    assert part is not None  # an expression without an instant always has a date part
    today = now.astimezone(zone_info(expression.chat_zone)).date()
    try:
        candidates = part.candidates(today)
    except (OverflowError, ValueError):
        raise WhenError(_TOO_FAR, years=MAX_YEARS_AHEAD) from None
    chosen: tuple[date, datetime] | None = None
    for day in candidates:
        due = (
            due_from_date(day, zone)
            if at is None
            else local_to_utc(datetime.combine(day, at), zone)
        )
        if (day >= today) if at is None else (due > now):
            chosen = (day, due)
            break
        if part.strict:
            raise WhenError(
                N_("that is in the past: {moment}"), moment=_describe(due, zone, at is None)
            )
    if chosen is None:
        raise WhenError(
            N_(
                "that is in the past; write e.g. {example}, 9 Jul 17:00, tomorrow noon,"
                " next Friday 09:00 or in 3 days"
            ),
            example=example_date(),
        )
    day, due = chosen
    if part.weekday is not None and day.weekday() != part.weekday:
        named = day + timedelta(days=part.weekday - day.weekday())
        raise WhenError(
            N_("{day} is a {weekday}, not a {named}"),
            day=DateText(day, "d MMMM y"),
            weekday=DateText(day, "EEEE"),
            named=DateText(named, "EEEE"),
        )
    if day > today + relativedelta(years=MAX_YEARS_AHEAD):
        raise WhenError(_TOO_FAR, years=MAX_YEARS_AHEAD)
    return due, at is None


def parse_when(text: str, *, zone: str, now: datetime, titled: bool = True) -> WhenReading:
    """Split "<when> <title>" into the due instant and the title; see docs/time.md for forms.

    `zone` is the chat's IANA zone; a place or zone word after the date overrides it. `now` is
    an aware datetime. With `titled=False` the text is a time alone (/edit … when …): anything
    after it is refused. Raises WhenError with a hint the chat can show.
    """
    if now.tzinfo is None:
        raise ValueError("parse_when expects an aware `now`")
    try:
        zone_info(zone)
    except ZoneError as exc:
        raise WhenError.quoting(exc) from exc
    if len(text) > MAX_INPUT_CHARS:
        raise WhenError(N_("that is longer than {n} characters"), n=MAX_INPUT_CHARS)
    spans = list(re.finditer(r"\S+", text))
    if not spans:
        raise WhenError(N_("write when and what, e.g. '{example}'"), example=TITLE_EXAMPLE)
    tokens = [span.group() for span in spans]
    expression = _expression(tokens, zone, now)
    matched = text[spans[0].start() : spans[expression.end - 1].end()].rstrip(",.:;")
    rest = text[spans[expression.end].start() :] if expression.end < len(spans) else ""
    title = " ".join(rest.lstrip("-–—:, ").split())
    if not titled:
        if title:
            raise WhenError(N_("'{title}' is not part of a date or time"), title=title)
        due, all_day = _resolve(expression, now)
        return WhenReading(due, expression.zone, all_day, "", matched)
    if not title:
        raise WhenError(
            N_("what is due {matched}? Add a title after it, e.g. '{example}'"),
            matched=matched,
            example=TITLE_EXAMPLE,
        )
    if len(title) > MAX_TITLE_CHARS:
        raise WhenError(N_("a title can be at most {n} characters"), n=MAX_TITLE_CHARS)
    due, all_day = _resolve(expression, now)
    return WhenReading(due, expression.zone, all_day, title, matched)
