"""Calendar export: deadlines become VEVENTs that calendar apps import, with zones and alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import icalendar
import recurring_ical_events

from bot.domain.ics_export import ExportedDeadline, build_calendar, event_uid
from bot.services import chats
from bot.services import deadlines as deadline_ops
from bot.services.calendar_export import chat_calendar, global_calendar
from bot.services.deadlines import DeadlineSpec
from bot.store.db import make_engine, migrate, session_scope

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _events(body: bytes) -> list[icalendar.Event]:
    return cast(list[icalendar.Event], icalendar.Calendar.from_ical(body).walk("VEVENT"))


def test_a_timed_deadline_keeps_its_own_zone_and_its_vtimezone() -> None:
    due = datetime(2027, 7, 9, 16, 0, tzinfo=UTC)  # 17:00 in London (BST)
    body = build_calendar(
        [ExportedDeadline("uk-us", "UK–US <deal> & more", due, "Europe/London")],
        name="t",
        now=NOW,
    )
    [event] = _events(body)
    start = event.decoded("dtstart")
    assert (start.hour, start.minute, str(start.tzinfo)) == (17, 0, "Europe/London")
    assert start == due
    assert str(event["summary"]) == "UK–US <deal> & more"
    assert b"BEGIN:VTIMEZONE" in body and b"TZID:Europe/London" in body
    assert str(event["uid"]) == "uk-us@herald"


def test_an_all_day_deadline_is_a_date_event_spanning_its_day() -> None:
    due = datetime(2027, 7, 8, 23, 0, tzinfo=UTC)  # 00:00 on 9 July in London
    [event] = _events(
        build_calendar(
            [ExportedDeadline("d", "Day", due, "Europe/London", all_day=True)], name="t", now=NOW
        )
    )
    assert event.decoded("dtstart").isoformat() == "2027-07-09"
    assert event.decoded("dtend").isoformat() == "2027-07-10"


def test_reminders_become_alarms_before_the_start_largest_first() -> None:
    due = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    [event] = _events(
        build_calendar(
            [ExportedDeadline("d", "D", due, "UTC", remind=("1h", "7d", "0", "nonsense"))],
            name="t",
            now=NOW,
        )
    )
    triggers = [alarm.decoded("trigger") for alarm in event.walk("VALARM")]
    assert triggers == [-timedelta(days=7), -timedelta(hours=1), timedelta(0)]


def test_uids_are_stable_across_exports_and_distinct_per_deadline() -> None:
    due = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
    items = [ExportedDeadline("a", "A", due, "UTC"), ExportedDeadline("b", "B", due, "UTC")]
    first = [str(e["uid"]) for e in _events(build_calendar(items, name="t", now=NOW))]
    later = NOW + timedelta(days=3)
    again = [str(e["uid"]) for e in _events(build_calendar(items, name="t", now=later))]
    assert first == again == [event_uid("a"), event_uid("b")]


def test_a_repeating_rrule_deadline_repeats_from_its_next_occurrence() -> None:
    due = datetime(2027, 1, 1, 13, 30, tzinfo=UTC)  # a first Friday, 08:30 New York
    body = build_calendar(
        [ExportedDeadline("jobs", "Jobs", due, "America/New_York", rule="FREQ=MONTHLY;BYDAY=1FR")],
        name="t",
        now=NOW,
    )
    starts = [
        e.decoded("dtstart")
        for e in recurring_ical_events.of(icalendar.Calendar.from_ical(body)).between(
            datetime(2027, 1, 1), datetime(2027, 4, 1)
        )
    ]
    assert [(s.month, s.day, s.hour) for s in starts] == [(1, 1, 8), (2, 5, 8), (3, 5, 8)]


def test_cron_and_counted_rules_are_exported_as_their_next_occurrence_only() -> None:
    due = datetime(2027, 1, 7, 13, 30, tzinfo=UTC)
    for rule in ("30 8 * * 4", "FREQ=WEEKLY;COUNT=3"):
        [event] = _events(
            build_calendar(
                [ExportedDeadline("c", "C", due, "America/New_York", rule=rule)], name="t", now=NOW
            )
        )
        assert "rrule" not in event


def test_global_calendar_holds_config_deadlines_but_no_chats_own(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        chats.register(session, 5, kind="private", title=None, auto_follow=False)
        shared = DeadlineSpec("shared", "Shared", NOW + timedelta(days=3), "UTC")
        deadline_ops.create(session, shared, origin="config", owner_chat_id=None, actor="config")
        own = DeadlineSpec("secret", "Secret plan", NOW + timedelta(days=4), "UTC")
        deadline_ops.create(session, own, origin="chat", owner_chat_id=5, actor="t")
        gone = DeadlineSpec("old", "Long gone", NOW - timedelta(days=400), "UTC")
        deadline_ops.create(session, gone, origin="config", owner_chat_id=None, actor="config")
    with session_scope(engine) as session:
        public = [str(e["summary"]) for e in _events(global_calendar(session, NOW))]
        mine = [str(e["summary"]) for e in _events(chat_calendar(session, 5, NOW))]
        other = [str(e["summary"]) for e in _events(chat_calendar(session, 6, NOW))]
    engine.dispose()
    assert public == ["Shared"]
    assert mine == ["Secret plan"]  # its own; it does not follow "Shared"
    assert other == []


def test_chat_export_uses_the_chats_own_offsets(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        chats.register(session, 5, kind="private", title=None, auto_follow=False)
        spec = DeadlineSpec("vote", "Vote", NOW + timedelta(days=9), "UTC", remind=("7d",))
        deadline = deadline_ops.create(
            session, spec, origin="config", owner_chat_id=None, actor="c"
        )
        deadline_ops.follow(session, 5, deadline, ["2h"])
    with session_scope(engine) as session:
        [event] = _events(chat_calendar(session, 5, NOW))
    engine.dispose()
    assert [a.decoded("trigger") for a in event.walk("VALARM")] == [-timedelta(hours=2)]
