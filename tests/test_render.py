"""Every message Herald can send, rendered from hostile input: snapshots, and HTML Telegram takes.

Each alert kind in `bot.render.ALERT_RENDERERS` and each reply renderer in `bot.render.*` has
cases here; the titles, sources and links in them carry markup (`<b>`, `&amp;`, quotes),
`javascript:` links and 5,000-character titles. A case's text is compared with its snapshot
(`__snapshots__/test_render.ambr`; after a deliberate change, review the diff of
`pytest tests/test_render.py --snapshot-update`), checked against Telegram's HTML rules, and
checked again part by part as the delivery worker would split it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from syrupy.assertion import SnapshotAssertion

import bot.render
from bot import render
from bot.delivery_policy.split import split_message
from bot.domain.query import QuerySyntaxError
from bot.domain.text import DateText, ReaderError
from bot.render import (
    calendars,
    chat,
    deadline_replies,
    deadlines,
    help,
    news,
    onboarding,
    policy,
    timeline,
)
from bot.render.common import Rendered, countdown, error_reply, format_moment, payload_due
from bot.render.i18n import use_language
from bot.services import details
from bot.services import policy as policy_facts
from tests.telegram_html import (
    MAX_MESSAGE_CHARS,
    TelegramHTMLError,
    check_telegram_html,
    visible_length,
)

SNAPSHOT_DAY = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _snapshot_day() -> Iterator[None]:
    """Examples dated relative to today (the /add hint) render as on the day of the snapshots."""
    with time_machine.travel(SNAPSHOT_DAY, tick=False):
        yield


NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ZONE = "Europe/London"
DUE = NOW + timedelta(days=3, hours=5)

HOSTILE = '<b>Tariffs</b> & "quotes" &amp; <script>alert(1)</script> </a>'
HOSTILE_SOURCE = 'Wire <i>& Co</i> "Ltd"'
SCRIPT_LINK = 'javascript:alert("x")'
ODD_LINK = 'https://news.example/a?x=1&y="2"<b>'
LONG = "Long title " * 455  # 5,005 characters: longer than one Telegram message


@dataclass(frozen=True)
class Variant:
    title: str
    source: str
    link: str


VARIANTS = {
    "hostile": Variant(HOSTILE, HOSTILE_SOURCE, ODD_LINK),
    "script-link": Variant(HOSTILE, HOSTILE_SOURCE, SCRIPT_LINK),
    "long": Variant(LONG, HOSTILE_SOURCE, ODD_LINK),
}


def story(v: Variant, n: int = 1) -> dict[str, Any]:
    return {
        "item_id": n,
        "title": f"{v.title} {n}",
        "link": v.link,
        "source": v.source,
        "published_at": (NOW - timedelta(minutes=25 * n)).isoformat(),
        "topic_slug": "rare-earths",
        "topic_title": f"Rare earths {v.title[:20]}",
        "more_sources": [{"name": v.source, "link": v.link}, {"name": None, "link": SCRIPT_LINK}],
        "deadline": {"slug": "truce", "title": v.title},
    }


def deadline_payload(v: Variant, **extra: Any) -> dict[str, Any]:
    return {
        "deadline_id": 1,
        "slug": "truce",
        "title": v.title,
        "due_at": DUE.isoformat(),
        "timezone": "America/New_York",
        "all_day": False,
        "url": v.link,
        **extra,
    }


# kind -> case name -> payload
ALERT_CASES: dict[str, dict[str, Callable[[Variant], dict[str, Any]]]] = {
    "reminder": {
        "on-time": lambda v: deadline_payload(v, offset="1d", late=False),
        "late": lambda v: deadline_payload(v, offset="1h", late=True, missed_offsets=["7d", "1d"]),
    },
    "deadline_reached": {
        "on-time": lambda v: deadline_payload(v, late=False),
        "late": lambda v: deadline_payload(v, late=True),
    },
    "deadline_changed": {
        "moved": lambda v: deadline_payload(
            v, change="moved", old_due_at=(DUE - timedelta(days=2)).isoformat()
        ),
        "renamed": lambda v: deadline_payload(v, change="renamed", old_title=f"Old {v.title}"),
        "cancelled": lambda v: deadline_payload(v, change="cancelled"),
        "all-day-moved": lambda v: deadline_payload(
            v, change="moved", all_day=True, old_due_at=(DUE - timedelta(days=1)).isoformat()
        ),
    },
    "offline_summary": {
        "two-deadlines": lambda v: {
            "items": [
                deadline_payload(v, offset="1d"),
                deadline_payload(v, offset="0"),  # the same deadline again: listed once
                deadline_payload(v, slug="other", url=None, all_day=True, offset="0"),
            ]
        },
    },
    "news": {
        "story": story,
        "bare": lambda v: {"item_id": 1, "title": v.title, "link": None, "source": None},
    },
    "news_group": {
        "three": lambda v: {"items": [story(v, n) for n in range(1, 4)]},
        "over-the-list": lambda v: {"items": [story(v, n) for n in range(1, 28)]},
    },
    "news_digest": {
        "daily": lambda v: {"period": "daily", "items": [story(v, n) for n in range(1, 4)]},
        "over-the-list": lambda v: {
            "period": f"weekly {v.source}",
            "items": [story(v, n) | {"topic_title": f"T{n % 2}"} for n in range(1, 28)],
        },
    },
    "deadline_proposal": {
        "new": lambda v: {
            "proposal_id": 5,
            "date": "2026-12-09",
            "what": v.title,
            "sentence": f"The {v.title} expires on 9 December.",
            "item": {"title": v.title, "link": v.link},
        },
        "moved": lambda v: {
            "proposal_id": 6,
            "change": "moved",
            "date": "2026-12-10",
            "deadline_title": v.title,
            "sentence": v.source,
            "item": {"title": v.title, "link": v.link},
        },
    },
    "source_health": {
        "failing": lambda v: {
            "name": v.source,
            "url": v.link,
            "state": "failing",
            "failures": 3,
            "error": f"HTTP 500 <html>{v.title}</html>",
        },
        "recovered": lambda v: {"name": None, "url": v.link, "state": "recovered"},
        "quiet": lambda v: {
            "name": v.source,
            "state": "quiet",
            "last_new_item_at": (NOW - timedelta(days=4)).isoformat(),
        },
        "quiet-never": lambda v: {"name": v.source, "state": "quiet", "last_new_item_at": None},
    },
}


@dataclass(frozen=True)
class Topic:
    slug: str
    title: str
    query: str
    followed: bool
    muted: bool
    own: bool


@dataclass(frozen=True)
class Story:
    title: str
    link: str | None
    source: str | None
    published_at: datetime | None
    topic_title: str


@dataclass(frozen=True)
class Source:
    name: str | None
    url: str
    kind: str
    origin: str
    last_success_at: datetime | None
    last_new_item_at: datetime | None
    next_check_at: datetime
    consecutive_failures: int
    last_error: str | None
    quiet_reported: bool
    items_seen: int


@dataclass(frozen=True)
class _Counted:
    title: str
    slug: str
    due_at: datetime
    all_day: bool
    timezone: str


def _details(v: Variant, **changes: Any) -> details.DeadlineDetails:
    fields: dict[str, Any] = {
        "slug": "truce",
        "title": v.title,
        "due_at": DUE,
        "timezone": "America/New_York",
        "all_day": False,
        "status": "active",
        "origin": v.source,
        "url": v.link,
        "description": v.title,
        "rule": "FREQ=MONTHLY;BYDAY=1FR",
        "offsets": ["7d", "1d", "0"],
        "own_offsets": True,
        "followed": True,
        "followers": 3,
        "history": [
            details.ChangeLine(
                NOW - timedelta(days=1),
                "moved",
                (DUE - timedelta(days=2)).isoformat(),
                DUE.isoformat(),
                v.source,
            ),
            details.ChangeLine(NOW - timedelta(days=2), "renamed", v.title, None, None),
            details.ChangeLine(NOW - timedelta(days=3), "created", None, None, v.title),
        ],
        "news": [
            details.NewsLine(v.title, v.link, v.source),
            details.NewsLine(v.title, None, None),
        ],
    }
    fields.update(changes)
    return details.DeadlineDetails(**fields)


def _topics(v: Variant) -> list[Topic]:
    return [
        Topic("rare-earths", v.title, v.source, followed=True, muted=True, own=False),
        Topic("chips", v.title, '"chip" -opinion', followed=True, muted=False, own=True),
        Topic("tariffs<b>", v.title, "tariff", followed=False, muted=False, own=False),
    ]


def _stories(v: Variant) -> list[Story]:
    return [
        Story(v.title, v.link, v.source, NOW - timedelta(hours=3), v.title[:30]),
        Story(v.title, None, None, None, "Chips"),
    ]


def _sources(v: Variant) -> list[Source]:
    base = Source(
        v.source, v.link, "rss", "config", NOW - timedelta(hours=1), NOW, NOW, 0, None, False, 9
    )
    return [
        base,
        Source(None, v.link, "rss", "opml", None, None, NOW, 0, None, False, 0),
        Source(v.source, v.link, "html", "config", NOW, None, NOW, 4, v.title, False, 1),
        Source(v.source, v.link, "rss", "config", NOW, None, NOW, 0, None, True, 2),
    ]


def _line(v: Variant, slug: str, followed: bool, days: float) -> deadlines.DeadlineLine:
    return deadlines.DeadlineLine(slug, v.title, NOW + timedelta(days=days), ZONE, False, followed)


def _calendar_refused(reason: str) -> Callable[[Variant], Rendered]:
    return lambda v: calendars.calendar_refused(reason, v.link, 5)


# (module, function) -> case name -> a call producing the reply
REPLY_CASES: dict[str, dict[str, Callable[[Variant], Rendered]]] = {
    "chat.welcome": {
        "new": lambda v: chat.welcome(v.title, True, 2, 1, ZONE),
        "back": lambda v: chat.welcome(None, False, 0, 0, v.source),
    },
    "chat.help_text": {"all": lambda v: render.help_text(render.HELP_COMMANDS)},
    "common.error_reply": {"plain": lambda v: error_reply()},
    "deadlines.deadline_list": {
        "both": lambda v: deadlines.deadline_list(
            [_line(v, "truce", True, 3), _line(v, "a&b", False, 0.2)],
            [_line(v, "old", False, -2)],
            ZONE,
            NOW,
            page=1,
            pages=3,
        ),
        "empty": lambda v: deadlines.deadline_list([], [], ZONE, NOW),
    },
    "deadline_replies.usage": {"plain": lambda v: deadline_replies.usage(v.title, v.source)},
    "deadline_replies.usage_of": {"add": lambda v: deadline_replies.usage_of("add")},
    "deadline_replies.not_found": {"slug": lambda v: deadline_replies.not_found(v.title)},
    "deadline_replies.details": {
        "active": lambda v: deadline_replies.details(_details(v), ZONE, NOW),
        "cancelled": lambda v: deadline_replies.details(
            _details(v, status="cancelled", all_day=True, rule=None, description=None, news=()),
            ZONE,
            NOW,
        ),
        "not-followed": lambda v: deadline_replies.details(
            _details(v, followed=False, own_offsets=False, offsets=["0"], history=()), ZONE, NOW
        ),
    },
    "deadline_replies.add_preview": {
        "timed": lambda v: deadline_replies.add_preview(7, v.title, DUE, ZONE, False, ZONE, NOW)
    },
    "deadline_replies.unreadable_when": {
        "hint": lambda v: deadline_replies.unreadable_when(v.title)
    },
    "deadline_replies.added": {
        "timed": lambda v: deadline_replies.added(
            "truce", v.title, DUE, ZONE, False, ZONE, ["2d", "3h", "0"]
        )
    },
    "deadline_replies.proposal_dropped": {"plain": lambda v: deadline_replies.proposal_dropped()},
    "deadline_replies.moved_by_news": {
        "day": lambda v: deadline_replies.moved_by_news("truce", v.title, DUE, ZONE, ZONE)
    },
    "deadline_replies.too_many": {"limit": lambda v: deadline_replies.too_many(50)},
    "calendars.calendar_list": {
        "three": lambda v: calendars.calendar_list(
            [
                calendars.CalendarLine(v.link, 4, NOW - timedelta(hours=2), None),
                calendars.CalendarLine(SCRIPT_LINK, 0, None, None),
                calendars.CalendarLine(v.link, 0, NOW, v.title),
            ],
            ZONE,
            NOW,
            5,
        ),
        "none": lambda v: calendars.calendar_list([], ZONE, NOW, 5),
    },
    "calendars.calendar_added": {
        "read": lambda v: calendars.calendar_added(v.link, 12, None),
        "unread": lambda v: calendars.calendar_added(v.link, 0, v.title),
    },
    "calendars.calendar_refused": {
        reason: _calendar_refused(reason) for reason in ("already", "limit", "unknown", HOSTILE)
    },
    "calendars.calendar_removed": {
        "one": lambda v: calendars.calendar_removed(v.link, 1),
        "many": lambda v: calendars.calendar_removed(v.link, 3),
    },
    "calendars.calendar_usage": {"plain": lambda v: calendars.calendar_usage()},
    "help.help_detail": {
        "add": lambda v: help.help_detail("add", v.title, NOW.date()),
        "unknown-detail": lambda v: help.help_detail("nonsense", v.title, NOW.date()),
    },
    "help.unknown_help": {"name": lambda v: help.unknown_help(v.title)},
    "timeline.timeline_empty": {"plain": lambda v: timeline.timeline_empty()},
    "deadline_replies.edited": {"what": lambda v: deadline_replies.edited("truce", v.title)},
    "deadline_replies.followed": {
        "now": lambda v: deadline_replies.followed(v.title, "truce", True, ["1d", "0"]),
        "already": lambda v: deadline_replies.followed(v.title, "truce", False, []),
    },
    "deadline_replies.unfollowed": {
        "now": lambda v: deadline_replies.unfollowed(v.title, "truce", True),
        "not": lambda v: deadline_replies.unfollowed(v.title, "truce", False),
    },
    "deadline_replies.remind_set": {
        "own": lambda v: deadline_replies.remind_set(v.title, ["7d", "2h"], True),
        "default": lambda v: deadline_replies.remind_set(v.title, ["0"], False),
    },
    "deadline_replies.bad_input": {
        "plain": lambda v: deadline_replies.bad_input(v.title, f"/edit {v.source}")
    },
    "deadline_replies.countdown_message": {
        "ahead": lambda v: deadline_replies.countdown_message(
            _Counted(v.title, "truce", DUE, False, ZONE), ZONE, NOW
        ),
        "reached": lambda v: deadline_replies.countdown_message(
            _Counted(v.title, "truce", NOW - timedelta(hours=1), True, ZONE), ZONE, NOW
        ),
    },
    "deadline_replies.timezone_shown": {"zone": lambda v: deadline_replies.timezone_shown(ZONE)},
    "news.invalid_query": {
        "caret": lambda v: news.invalid_query(
            f"{v.title}\t-", QuerySyntaxError("unexpected end", 5)
        )
    },
    "news.watched": {
        "new": lambda v: news.watched("rare-earths", v.title, v.source, True),
        "again": lambda v: news.watched("rare-earths", v.title, v.source, False),
    },
    "news.unwatched": {
        "now": lambda v: news.unwatched("rare-earths", v.title, True),
        "not": lambda v: news.unwatched("rare-earths", v.title, False),
    },
    "news.topic_not_found": {"slug": lambda v: news.topic_not_found(v.title)},
    "news.topic_list": {
        "some": lambda v: news.topic_list(_topics(v)),
        "none-followed": lambda v: news.topic_list(_topics(v)[2:]),
    },
    "news.news_list": {
        "all-topics": lambda v: news.news_list(_stories(v), None, NOW),
        "one-topic": lambda v: news.news_list(_stories(v), v.title, NOW),
        "empty": lambda v: news.news_list([], v.title, NOW),
    },
    "news.sources_health": {
        "four": lambda v: news.sources_health(_sources(v), ZONE),
        "none": lambda v: news.sources_health([], ZONE),
    },
    "news.admins_only": {"plain": lambda v: news.admins_only()},
    "news.opml_imported": {
        "refused": lambda v: news.opml_imported(3, 1, [v.title, v.source]),
        "clean": lambda v: news.opml_imported(2, 0, []),
    },
    "news.opml_unreadable": {"message": lambda v: news.opml_unreadable(v.title)},
    "policy.plain": {"text": lambda v: policy.plain(v.title)},
    "policy.quiet_state": {
        "set": lambda v: policy.quiet_state("22:00-07:00", ZONE, True),
        "shown": lambda v: policy.quiet_state("22:00-07:00", ZONE, False),
        "off": lambda v: policy.quiet_state(None, ZONE, True),
        "none": lambda v: policy.quiet_state(None, ZONE, False),
    },
    "policy.mute_state": {
        "muted": lambda v: policy.mute_state(NOW + timedelta(hours=3), ZONE, True, NOW),
        "unmuted": lambda v: policy.mute_state(None, ZONE, True, NOW),
        "not-muted": lambda v: policy.mute_state(None, ZONE, False, NOW),
    },
    "onboarding.start_menu": {
        "plain": lambda v: onboarding.start_menu(chat.welcome(v.title, True, 2, 1, ZONE)),
        "deep-link": lambda v: onboarding.start_menu(
            chat.welcome(None, False, 0, 0, ZONE),
            onboarding.deep_link_followed("deadline", v.title, "a-b", True),
        ),
    },
    "onboarding.with_share_link": {
        "fits": lambda v: onboarding.with_share_link(
            deadline_replies.not_found(v.title), "herald_test_bot", "deadline", "uk-us-deal"
        ),
        "too-long": lambda v: onboarding.with_share_link(
            deadline_replies.not_found(v.title), "herald_test_bot", "deadline", "x" * 80
        ),
    },
    "onboarding.settings_main": {
        "set": lambda v: onboarding.settings_main(
            v.source, "22:00-07:00", "daily 08:00", 1, 3, "de"
        ),
        "unset": lambda v: onboarding.settings_main(ZONE, None, "off", 0, 1),
    },
    "onboarding.language_picker": {
        "chosen": lambda v: onboarding.language_picker("de", ("en", "de", None)),
        "unchosen": lambda v: onboarding.language_picker(None, ("en", "de", None)),
    },
    "onboarding.zone_picker": {
        "cities": lambda v: onboarding.zone_picker(
            v.source, (("London", "Europe/London"), (v.title[:20], "UTC"), ("Tokyo", "Asia/Tokyo"))
        )
    },
    "onboarding.quiet_picker": {
        "presets": lambda v: onboarding.quiet_picker(v.source, ("22:00-07:00", None))
    },
    "onboarding.digest_picker": {
        "presets": lambda v: onboarding.digest_picker(v.source, ("off", "hourly", "daily 08:00"))
    },
    "onboarding.offsets_picker": {
        "presets": lambda v: onboarding.offsets_picker(1, (("7d", "1d"), None)),
        "many": lambda v: onboarding.offsets_picker(5, (("1h",),)),
    },
    "onboarding.toggle_page": {
        "middle": lambda v: onboarding.toggle_page(
            "d", [(1, v.title, True), (2, v.source or "x", False)], 1, 3
        ),
        "empty": lambda v: onboarding.toggle_page("t", [], 0, 1),
    },
    "onboarding.did_you_mean": {
        "close": lambda v: onboarding.did_you_mean("topic", v.title, ["rare-earths"], "wt"),
        "literal": lambda v: onboarding.did_you_mean("topic", "nope-topic", [], "wt", literal=True),
    },
    "policy.topic_mute_state": {
        "muted": lambda v: policy.topic_mute_state(v.title, NOW + timedelta(days=1), ZONE, NOW),
        "back": lambda v: policy.topic_mute_state(v.title, None, ZONE, NOW),
    },
    "policy.unknown_topic": {"slug": lambda v: policy.unknown_topic(v.title)},
    "policy.digest_state": {
        "daily": lambda v: policy.digest_state("daily 08:00", ZONE, True),
        "shown": lambda v: policy.digest_state("hourly", ZONE, False),
        "off": lambda v: policy.digest_state("off", ZONE, True),
        "none": lambda v: policy.digest_state("off", ZONE, False),
    },
    "policy.status_report": {
        "busy": lambda v: policy.status_report(
            policy_facts.StatusFacts(
                {"pending": 1200, "sent": 5, "failed": 7},
                [policy_facts.FailureLine(n, -100 - n, v.title, v.source) for n in range(7)],
                [(n, v.title) for n in range(7)],
                7,
            )
        ),
        "calm": lambda v: policy.status_report(policy_facts.StatusFacts({}, [], [], 0)),
    },
}


def _alert_ids() -> list[tuple[str, str, str]]:
    return [
        (kind, case, v) for kind, cases in ALERT_CASES.items() for case in cases for v in VARIANTS
    ]


def _reply_ids() -> list[tuple[str, str, str]]:
    return [
        (name, case, v) for name, cases in REPLY_CASES.items() for case in cases for v in VARIANTS
    ]


def assert_sendable(rendered: Rendered) -> None:
    """What Telegram would accept: valid HTML as a whole and in each part the worker sends."""
    check_telegram_html(rendered.text)
    for part in split_message(rendered.text):
        assert visible_length(part) <= MAX_MESSAGE_CHARS
        check_telegram_html(part)
    for row in rendered.buttons:
        for button in row:
            assert (button.data is None) != (button.url is None)
            if button.url is not None:
                assert button.url.startswith(("https://", "http://")), button.url
            if button.data is not None:
                assert len(button.data.encode()) <= 64  # Telegram's callback_data limit


SHOWN_CHARS = 300  # of a very long message, the snapshot keeps its two ends


def as_snapshot(rendered: Rendered, variant: str) -> dict[str, Any]:
    shot: dict[str, Any] = {
        "text": rendered.text,
        "buttons": [[(b.label, b.data or b.url) for b in row] for row in rendered.buttons],
        "preview": rendered.preview,
    }
    if variant == "long":
        text = shot.pop("text")
        shot["length"] = visible_length(text)
        shot["parts"] = len(split_message(text))
        shot["head"], shot["tail"] = text[:SHOWN_CHARS], text[-SHOWN_CHARS:]
    return shot


@pytest.mark.parametrize(("kind", "case", "variant"), _alert_ids())
def test_every_alert_kind_renders_hostile_input_as_sendable_html(
    kind: str, case: str, variant: str, snapshot: SnapshotAssertion
) -> None:
    rendered = render.alert(kind, ALERT_CASES[kind][case](VARIANTS[variant]), ZONE, NOW)
    assert_sendable(rendered)
    assert "<script>" not in rendered.text and 'href="javascript' not in rendered.text
    assert as_snapshot(rendered, variant) == snapshot


@pytest.mark.parametrize(("name", "case", "variant"), _reply_ids())
def test_every_reply_renders_hostile_input_as_sendable_html(
    name: str, case: str, variant: str, snapshot: SnapshotAssertion
) -> None:
    rendered = REPLY_CASES[name][case](VARIANTS[variant])
    assert_sendable(rendered)
    assert "<script>" not in rendered.text and 'href="javascript' not in rendered.text
    assert as_snapshot(rendered, variant) == snapshot


def test_every_alert_kind_has_snapshot_cases() -> None:
    """A new alert kind needs its cases above (and a reviewed snapshot) before it ships."""
    assert sorted(ALERT_CASES) == sorted(render.ALERT_RENDERERS)


def _reply_renderers() -> set[str]:
    """Every public function in bot.render.* that returns a Rendered message."""
    names = set()
    for module_info in pkgutil.iter_modules(bot.render.__path__):
        module = importlib.import_module(f"bot.render.{module_info.name}")
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != module.__name__ or name.startswith("_"):
                continue
            if inspect.signature(function).return_annotation in ("Rendered", Rendered):
                names.add(f"{module_info.name}.{name}")
    return names


def test_every_reply_renderer_has_snapshot_cases() -> None:
    """A new reply renderer needs its cases above (and a reviewed snapshot) before it ships."""
    alert_renderers = {
        f"{f.__module__.rsplit('.', 1)[1]}.{f.__name__}" for f in render.ALERT_RENDERERS.values()
    }
    assert sorted(_reply_renderers() - alert_renderers) == sorted(REPLY_CASES)


def test_a_linked_title_is_escaped_inside_the_link() -> None:
    rendered = render.alert("news", story(VARIANTS["hostile"]), ZONE, NOW)
    assert (
        '<a href="https://news.example/a?x=1&amp;y=&quot;2&quot;&lt;b&gt;">'
        '&lt;b&gt;Tariffs&lt;/b&gt; &amp; "quotes" &amp;amp; &lt;script&gt;alert(1)&lt;/script&gt;'
        " &lt;/a&gt; 1</a>"
    ) in rendered.text


def test_a_link_that_is_not_http_is_shown_as_plain_text() -> None:
    payload = story(VARIANTS["script-link"])
    text = render.alert("news", payload, ZONE, NOW).text
    assert "<a " not in text.split("\n")[0]
    assert text.startswith("📰 <b>&lt;b&gt;Tariffs")
    reminder = render.alert(
        "reminder", deadline_payload(VARIANTS["script-link"], offset="1d"), ZONE, NOW
    )
    assert [b.label for row in reminder.buttons for b in row] == ["Unfollow"]


@pytest.mark.parametrize(
    "text",
    [
        "<b>open",
        "<b><i>crossed</b></i>",
        "<script>x</script>",
        "a < b",
        "a & b",
        "&nbsp;",
        '<a href="javascript:alert(1)">x</a>',
        '<span class="red">x</span>',
        "<br/>",
        '<b onclick="x">y</b>',
    ],
)
def test_the_checker_refuses_what_telegram_refuses(text: str) -> None:
    with pytest.raises(TelegramHTMLError):
        check_telegram_html(text)


def test_the_checker_accepts_what_telegram_accepts() -> None:
    check_telegram_html(
        '<b>b</b> <i>i</i> <a href="https://x.test/?a=1&amp;b=2">l</a> &lt;&gt;&amp;&quot;&#39;'
        ' <code class="language-py">c</code> <pre>p</pre> <span class="tg-spoiler">s</span>'
    )


def test_a_moment_is_today_by_the_readers_calendar_not_by_utc() -> None:
    """23:30 UTC on 9 July is already 10 July in Tokyo: a moment later that Tokyo day is
    'today' there."""
    now = datetime(2025, 7, 9, 23, 30, tzinfo=UTC)
    moment = datetime(2025, 7, 10, 1, 0, tzinfo=UTC)
    assert format_moment(moment, "Asia/Tokyo", now) == "10:00 JST today"
    later = datetime(2025, 7, 10, 8, 0, tzinfo=UTC)  # 17:00 in Tokyo, 01:00 in Los Angeles
    assert format_moment(later, "Asia/Tokyo", now) == "17:00 JST today"
    assert format_moment(later, "America/Los_Angeles", now) == "Thu 10 Jul, 01:00 PDT"


def test_a_moment_in_another_year_shows_its_year() -> None:
    now = datetime(2025, 12, 30, 12, 0, tzinfo=UTC)
    moment = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    assert format_moment(moment, "UTC", now) == "Fri 2 Jan 2026, 09:00 UTC"


def test_a_stored_date_only_due_is_that_day_in_the_deadlines_own_zone() -> None:
    """23:00 UTC on 9 July is 10 July in Tokyo: a date-only Tokyo deadline shows 10 July to a
    reader in New York, and a timed one shows New York's time."""
    payload = {"due_at": "2025-07-09T23:00:00+00:00", "all_day": True, "timezone": "Asia/Tokyo"}
    assert payload_due(payload, "America/New_York") == "Thu 10 Jul 2025"
    timed = {"due_at": "2025-07-09T23:00:00+00:00", "timezone": "Asia/Tokyo"}
    assert payload_due(timed, "America/New_York") == "Wed 9 Jul 2025, 19:00 EDT"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "now"),
        (29, "now"),
        (-29, "now"),
        (30, "in less than a minute"),
        (-30, "passed less than a minute ago"),
        (60, "in 1 min"),
        (3600, "in 1 h"),
        (86400 + 4 * 3600, "in 1 day 4 h"),
        (86400 + 59 * 60, "in 1 day"),
        (2 * 86400, "in 2 days"),
        (-(3600 + 60), "passed 1 h 1 min ago"),
    ],
)
def test_a_countdown_is_now_within_half_a_minute_and_a_span_beyond(
    seconds: int, words: str
) -> None:
    now = datetime(2025, 7, 9, 12, 0, tzinfo=UTC)
    assert countdown(now + timedelta(seconds=seconds), now) == words


# --- German: every case again, as a chat whose language is "de" reads it ------------------

GERMAN_SNAPSHOTS = [
    ("reminder", "on-time"),
    ("news_group", "three"),
    ("chat.welcome", "new"),
    ("deadline_replies.details", "active"),
    ("onboarding.settings_main", "set"),
]


@pytest.mark.parametrize(("kind", "case", "variant"), _alert_ids())
def test_every_alert_kind_is_sendable_html_in_german(kind: str, case: str, variant: str) -> None:
    english = render.alert(kind, ALERT_CASES[kind][case](VARIANTS[variant]), ZONE, NOW)
    with use_language("de"):
        rendered = render.alert(kind, ALERT_CASES[kind][case](VARIANTS[variant]), ZONE, NOW)
    assert_sendable(rendered)
    assert "<script>" not in rendered.text and 'href="javascript' not in rendered.text
    # The buttons do the same in both languages: only their labels are translated.
    assert [[b.data or b.url for b in row] for row in rendered.buttons] == [
        [b.data or b.url for b in row] for row in english.buttons
    ]


@pytest.mark.parametrize(("name", "case", "variant"), _reply_ids())
def test_every_reply_is_sendable_html_in_german(name: str, case: str, variant: str) -> None:
    with use_language("de"):
        rendered = REPLY_CASES[name][case](VARIANTS[variant])
    assert_sendable(rendered)
    assert "<script>" not in rendered.text and 'href="javascript' not in rendered.text


@pytest.mark.parametrize(("name", "case"), GERMAN_SNAPSHOTS)
def test_german_messages_read_as_reviewed(
    name: str, case: str, snapshot: SnapshotAssertion
) -> None:
    with use_language("de"):
        if name in ALERT_CASES:
            rendered = render.alert(name, ALERT_CASES[name][case](VARIANTS["hostile"]), ZONE, NOW)
        else:
            rendered = REPLY_CASES[name][case](VARIANTS["hostile"])
    assert as_snapshot(rendered, "hostile") == snapshot


# --- Shared pieces of every message (bot/render/common.py) --------------------------------


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "now"),  # a date-only deadline due in a second is not yet "today"
        (0, "today"),
        (-86399, "today"),
        (-86400, "passed 1 day ago"),
    ],
)
def test_a_date_only_countdown_is_today_for_the_day_after_its_due_moment(
    seconds: int, words: str
) -> None:
    now = datetime(2025, 7, 9, 12, 0, tzinfo=UTC)
    assert render.common.countdown(now + timedelta(seconds=seconds), now, all_day=True) == words
    ago = words.removeprefix("passed ")
    assert render.common.ago(now + timedelta(seconds=seconds), now, all_day=True) == ago


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "now"),
        (-29, "now"),
        (-30, "less than a minute ago"),
        (-31, "less than a minute ago"),
        (-(2 * 86400), "2 days ago"),
        (-86400, "1 day ago"),  # a timed deadline: a day ago, not "today"
    ],
)
def test_ago_is_now_within_half_a_minute_and_a_span_beyond(seconds: int, words: str) -> None:
    now = datetime(2025, 7, 9, 12, 0, tzinfo=UTC)
    assert render.common.ago(now + timedelta(seconds=seconds), now) == words


@pytest.mark.parametrize(
    ("days", "minutes", "words"),
    [
        (0, 0, "at the due time"),
        (1, 0, "1 day"),
        (0, 1, "1 minute"),
        (7, 0, "7 days"),
        (0, 60, "1 hour"),
        (0, 150, "2 hours 30 minutes"),
        (1, 90, "1 day 1 hour 30 minutes"),
        (2, 61, "2 days 1 hour 1 minute"),
    ],
)
def test_a_reminder_offset_reads_in_days_hours_and_minutes(
    days: int, minutes: int, words: str
) -> None:
    assert render.common.offset_text(days, minutes) == words


def test_offsets_and_spans_read_in_german_singular_and_plural() -> None:
    with use_language("de"):
        assert render.common.offset_text(0, 0) == "zum Fälligkeitszeitpunkt"
        assert render.common.offset_text(1, 61) == "1 Tag 1 Stunde 1 Minute"
        assert render.common.offset_text(2, 122) == "2 Tage 2 Stunden 2 Minuten"
        assert render.common.span_text(3 * 86400) == "3 Tage"
        assert render.common.span_text(86400 + 7200) == "1 Tag 2 Std."


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("http://news.example/a", "http://news.example/a"),
        (" HTTPS://News.Example/b ", "HTTPS://News.Example/b"),
        ("HTTP://news.example/c", "HTTP://news.example/c"),
        ("ftp://news.example/d", None),
        ("", None),
        (None, None),
    ],
)
def test_only_http_and_https_links_are_kept_whatever_their_case(
    url: str | None, kept: str | None
) -> None:
    assert render.common.http_url(url) == kept


def test_a_refusal_with_dates_and_a_quoted_refusal_is_worded_in_the_readers_language() -> None:
    day = date(2025, 7, 9)
    weekday = ReaderError(
        "{day} is a {weekday}, not a {named}",
        day=DateText(day, "d MMMM y"),
        weekday=DateText(day, "EEEE"),
        named=DateText(day + timedelta(days=2), "EEEE"),
    )
    outer = ReaderError("in cron rule '{text}': {problem}", text="x", problem=weekday)
    with use_language("de"):
        assert render.common.reader_error(outer) == (
            "in der Cron-Regel „x“: der 9 Juli 2025 ist ein Mittwoch, kein Freitag"
        )


@pytest.mark.parametrize(
    ("count", "noun", "many", "words"),
    [
        (1, "chat", None, "1 chat"),
        (2, "chat", None, "2 chats"),
        (0, "deadline", None, "0 deadlines"),
        (1200, "deadline", None, "1,200 deadlines"),
        (1, "story", "stories", "1 story"),
        (2, "story", "stories", "2 stories"),
    ],
)
def test_a_count_is_followed_by_its_noun_in_the_singular_or_plural(
    count: int, noun: str, many: str | None, words: str
) -> None:
    assert render.common.plural(count, noun, many) == words
