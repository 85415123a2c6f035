"""City names to time zones, offline: the IANA database's own city names plus a few capitals
and financial centres it names differently (Beijing is Asia/Shanghai)."""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import available_timezones

from bot.domain.offsets import ZoneError, zone_info
from bot.domain.text import N_

SHOWN_CHARS = 60  # of a name that matched nothing, echoed back
# Cities people type that the zone database does not use as a zone name.
ALIASES: dict[str, str] = {
    "beijing": "Asia/Shanghai",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "boston": "America/New_York",
    "ottawa": "America/Toronto",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "frankfurt": "Europe/Berlin",
    "geneva": "Europe/Zurich",
    "milan": "Europe/Rome",
    "canberra": "Australia/Sydney",
    "hanoi": "Asia/Ho_Chi_Minh",
    "osaka": "Asia/Tokyo",
    "abu dhabi": "Asia/Dubai",
    "edinburgh": "Europe/London",
    "manchester": "Europe/London",
    "uk": "Europe/London",
    "utc": "UTC",
    "gmt": "UTC",
}
# Offered as buttons in /settings: (label, zone).
COMMON_CITIES: tuple[tuple[str, str], ...] = (
    ("London", "Europe/London"),
    ("Brussels", "Europe/Brussels"),
    ("Berlin", "Europe/Berlin"),
    ("New York", "America/New_York"),
    ("Chicago", "America/Chicago"),
    ("Los Angeles", "America/Los_Angeles"),
    ("Beijing", "Asia/Shanghai"),
    ("Tokyo", "Asia/Tokyo"),
    ("Singapore", "Asia/Singapore"),
    ("New Delhi", "Asia/Kolkata"),
    ("Sydney", "Australia/Sydney"),
    ("UTC", "UTC"),
)


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", " ", name.strip().lower().replace(".", ""))


@cache
def _cities() -> dict[str, str]:
    """'new york' -> 'America/New_York', from the zones' last path parts."""
    table: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if "/" not in zone or zone.startswith(("Etc/", "SystemV/", "US/")):
            continue
        table.setdefault(_key(zone.rsplit("/", 1)[1]), zone)
    return table


def zone_for(name: str) -> str:
    """An IANA zone name as given, or the zone of a city ("London", "new york", "Beijing").

    Raises ZoneError (saying what to write) when neither is known.
    """
    cleaned = " ".join(name.split())
    try:
        zone_info(cleaned)
    except ZoneError:
        pass
    else:
        return cleaned
    key = _key(cleaned)
    found = ALIASES.get(key) or _cities().get(key)
    if found is None:
        shown = cleaned if len(cleaned) <= SHOWN_CHARS else cleaned[:SHOWN_CHARS] + "…"
        raise ZoneError(
            N_(
                "'{shown}' is not a time zone or a city I know; write e.g. London,"
                " New York or Europe/Paris"
            ),
            shown=shown,
        )
    return found
