"""News alerts say why they matched (the topic's words in bold) and which deadline they concern;
hostile titles stay valid Telegram HTML."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.render.news import marked, news, news_digest, news_group
from jobs.signals.why import why_matched
from jobs.sources.parse import ParsedItem
from jobs.sources.storage import TopicRef, news_payload

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ALLOWED = {"b", "a", "i"}


class _Checker(HTMLParser):
    """Telegram's HTML: only known tags, every one closed in order, text as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED, tag
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open.pop() == tag, tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(markup: str) -> str:
    """The text a reader sees; fails unless `markup` is well-formed with known tags only."""
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    assert checker.open == [], checker.open
    assert "<" not in "".join(checker.text) or "&lt;" in markup
    return "".join(checker.text)


def bolded(markup: str) -> list[str]:
    parts = markup.split("<b>")[1:]
    return [html.unescape(p.split("</b>", 1)[0]) for p in parts]


def payload(title: str, query: str, summary: str = "", **extra: Any) -> dict[str, Any]:
    item = ParsedItem(
        guid="k",
        link="https://news.test/x?a=1&b=2",
        title=title,
        summary=summary,
        published=NOW - timedelta(minutes=5),
        source_name="Wire",
    )
    return news_payload(7, item, TopicRef(1, "t", "Topic", query), None) | extra


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ('"rare earth" export', "China curbs rare-earth exports", ["rare-earth", "exports"]),
        ("tariffs", "Tariff on steel doubled", ["Tariff"]),
        ("us china", "U.S. and China's envoys meet", ["U.S.", "China's"]),
        ("policy", "New policies announced", ["policies"]),
        ("b", "<b>bold</b> claim & <i>more</i>", ["b", "b"]),
        ("amp lt", "Tom &amp; Amp's lt <lt> rally", ["amp", "Amp's", "lt", "lt"]),
        ('gt "a href"', '"a href=x" > gt', ["a href", "gt"]),
        ("trade -opinion", "Opinion: trade is back", ["trade"]),
    ],
)
def test_title_terms_in_bold_and_hostile_titles_stay_valid(
    query: str, title: str, expected: list[str]
) -> None:
    rendered = news(payload(title, query), "UTC", NOW).text
    head = rendered.split("\n", 1)[0]
    assert visible(head) == f"📰 {title}"  # nothing lost, nothing added
    assert bolded(head) == expected


def test_terms_only_in_the_summary_show_an_excerpt() -> None:
    summary = (
        "Officials said "
        + "nothing new " * 30
        + "about the tariff on <steel> & more " * 3
        + "and then " * 30
    )
    rendered = news(payload("Markets steady", "tariffs", summary), "UTC", NOW).text
    lines = rendered.split("\n")
    assert lines[0] == '📰 <a href="https://news.test/x?a=1&amp;b=2">Markets steady</a>'
    assert lines[1].startswith("“…") and lines[1].endswith("…”")
    assert bolded(lines[1])[0] == "tariff"
    assert "&lt;steel&gt; &amp; more" in lines[1]
    visible(rendered)
    assert len(html.unescape(lines[1])) < 200


def test_why_lists_terms_and_is_none_without_a_visible_term() -> None:
    why = why_matched('"rare earth" OR magnets -opinion', "Magnet makers", "rare earths scarce")
    assert why is not None
    assert why["terms"] == ["magnets", '"rare earth"']
    assert why["field"] == "title"
    assert why_matched("site:reuters.com", "Anything", "") is None
    assert why_matched("((", "Anything", "") is None  # unreadable query: no claim
    assert why_matched("tariffs", "Nothing here", "") is None


def test_marks_out_of_range_or_overlapping_are_ignored() -> None:
    hostile: list[list[Any]] = [[1, 4], [2, 3], [9, 12], ["x", 1], [4, 4]]  # as a payload holds
    assert marked("a<b>c", hostile) == "a<b>&lt;b&gt;</b>c"


DEADLINE = {
    "slug": "uk-us-deal",
    "title": "UK–US trade deal <deadline>",
    "due_at": (NOW + timedelta(days=33, hours=3)).isoformat(),
    "all_day": False,
    "timezone": "Europe/London",
}


def test_single_alert_names_the_deadline_with_countdown_and_a_button() -> None:
    rendered = news(payload("UK, US near trade deal", "trade", deadline=DEADLINE), "UTC", NOW)
    assert "⏳ About: <b>UK–US trade deal &lt;deadline&gt;</b>, in 33 days" in rendered.text
    visible(rendered.text)
    labels = [(b.label, b.data) for row in rendered.buttons for b in row]
    assert labels[0] == ("⏳ UK–US trade deal <deadline>", "dd:uk-us-deal")
    assert ("Mute topic", "mt:t") in labels
    passed = {**DEADLINE, "due_at": (NOW - timedelta(days=2, hours=1)).isoformat()}
    later = news(payload("UK, US near trade deal", "trade", deadline=passed), "UTC", NOW)
    assert "About: <b>UK–US trade deal &lt;deadline&gt;</b>, passed 2 days ago" in later.text


def test_no_deadline_no_line_and_no_button() -> None:
    rendered = news(payload("UK, US near trade deal", "trade"), "UTC", NOW)
    assert "About" not in rendered.text
    assert [[b.data for b in row] for row in rendered.buttons] == [["mt:t"]]


def test_group_and_digest_show_the_deadline_and_one_button_per_deadline() -> None:
    items = [
        payload("UK, US near trade deal", "trade", deadline=DEADLINE),
        payload("Trade deal text leaked", "trade", deadline=DEADLINE),
        payload("Steel tariffs rise", "tariffs"),
    ]
    for rendered in (
        news_group({"items": items}, "UTC", NOW),
        news_digest({"items": items, "period": "daily"}, "UTC", NOW),
    ):
        visible(rendered.text)
        assert rendered.text.count("⏳ About: <b>UK–US trade deal &lt;deadline&gt;</b>, in 33") == 2
        assert "<b>tariffs</b>" in rendered.text
        assert [[b.data for b in row] for row in rendered.buttons] == [["dd:uk-us-deal"]]


def test_a_slug_too_long_for_callback_data_gets_no_button() -> None:
    long = {**DEADLINE, "slug": "x" * 62}
    rendered = news(payload("UK, US near trade deal", "trade", deadline=long), "UTC", NOW)
    assert "About" in rendered.text
    assert all(not (b.data or "").startswith("dd:") for row in rendered.buttons for b in row)
