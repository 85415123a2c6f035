"""Item identity: the same story gets the same key, whatever the feed does to it."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobs.sources.dedup import canonical_url, item_key, normalize_text
from jobs.sources.parse import ParsedItem, parse_feed

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _item(**changes: object) -> ParsedItem:
    base = ParsedItem(
        guid=None, link=None, title="Tariff truce extended", summary="", published=None
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.bbc.co.uk/news/articles/cxq63dqp93n1o?at_medium=RSS&at_campaign=rss",
            "https://www.bbc.co.uk/news/articles/cxq63dqp93n1o",
        ),
        ("HTTPS://Example.COM:443/Path/A?b=2&a=1#frag", "https://example.com/Path/A?a=1&b=2"),
        ("http://example.com:8080", "http://example.com:8080/"),
        (
            "https://x.test/a?utm_source=tw&UTM_Medium=s&fbclid=1&gclid=2&ocid=3&cmpid=4&id=9",
            "https://x.test/a?id=9",
        ),
        ("https://x.test/a?CMP=share_btn&q=", "https://x.test/a?q="),
        ("https://x.test/a?b=1&a=2&b=0", "https://x.test/a?a=2&b=0&b=1"),
        ("  https://x.test./a  ", "https://x.test/a"),
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
    ],
)
def test_canonical_url_normalizes_host_port_and_query_order_and_drops_tracking_and_fragments(
    url: str, expected: str
) -> None:
    assert canonical_url(url) == expected


def test_key_prefers_guid_then_link_then_text() -> None:
    assert item_key(_item(guid="local-1", link="https://x.test/1")) == "guid:local-1"
    assert item_key(_item(link="https://x.test/1?utm_source=a")) == "url:https://x.test/1"
    text_key = item_key(_item(summary="<p>The truce</p>"))
    assert text_key.startswith("text:") and len(text_key) == 5 + 64
    assert item_key(_item(title="  TARIFF truce, extended! ", summary="<p>The truce</p>")) == (
        item_key(_item(title="Tariff truce extended", summary="<p>the   truce</p>"))
    )


def test_without_guid_or_link_two_items_with_one_title_but_other_text_are_two_stories() -> None:
    """A feed of bare entries ("Market update", each day): the summary tells them apart."""
    monday = _item(title="Market update", summary="Copper rose 2 % on Monday.")
    tuesday = _item(title="Market update", summary="Copper fell 1 % on Tuesday.")
    assert item_key(monday) != item_key(tuesday)
    assert item_key(_item(title="Truce", summary="")) != item_key(_item(title="", summary="Truce"))


def test_long_guids_and_links_are_hashed_to_a_bounded_key_that_still_tells_them_apart() -> None:
    long_guid = "g" * 300
    key = item_key(_item(guid=long_guid))
    assert key.startswith("guid:sha256:") and len(key) <= 5 + 7 + 64
    assert key != item_key(_item(guid=long_guid + "h"))
    exact = "g" * (200 - len("guid:"))
    assert item_key(_item(guid=exact)) == "guid:" + exact


def test_url_guids_are_canonicalized_like_links() -> None:
    """BBC GUIDs are the article URL plus `#0`: the key must match the tracking-tagged link."""
    from_guid = _item(guid="https://www.bbc.co.uk/news/articles/cxq63dqp93n1o#0")
    from_link = _item(link="https://www.bbc.co.uk/news/articles/cxq63dqp93n1o?at_medium=RSS")
    assert item_key(from_guid) == item_key(from_link)
    assert item_key(from_guid) == "url:https://www.bbc.co.uk/news/articles/cxq63dqp93n1o"
    assert item_key(_item(guid="https://www.bbc.co.uk/news/articles/cxq63dqp93n1o#1")) == (
        item_key(from_guid)
    )


def test_long_opaque_guids_are_hashed() -> None:
    key = item_key(_item(guid="CBMi" + "A" * 300))
    assert key.startswith("guid:sha256:") and len(key) == len("guid:sha256:") + 64


def test_republished_bbc_feed_keeps_its_keys() -> None:
    """A re-published feed (new pubDates, items in another order) yields the same key set."""
    body = (SAMPLES / "bbc-world.rss.xml").read_bytes()
    feed = parse_feed(body, url="https://feeds.bbci.co.uk/news/world/rss.xml", now=NOW)
    keys = [item_key(item) for item in feed.items]
    republished = [
        dataclasses.replace(item, published=NOW, guid=(item.guid or "").replace("#0", "#2"))
        for item in reversed(feed.items)
    ]
    assert sorted(item_key(item) for item in republished) == sorted(keys)
    assert len(set(keys)) == 5
    assert keys[0] == "url:https://www.bbc.co.uk/news/articles/cxq63dqp93n1o"


def test_sample_keys_are_unique_per_feed() -> None:
    for name, kind, count in [
        ("google-news-search.rss.xml", "google_news", 92),
        ("guardian-us.rss.xml", "feed", 55),
        ("jsonfeed-1.1-daringfireball.json", "feed", 48),
    ]:
        feed = parse_feed((SAMPLES / name).read_bytes(), url="https://x.test/", kind=kind, now=NOW)
        assert len({item_key(item) for item in feed.items}) == count, name


def test_normalize_text_folds_case_accents_punctuation_and_spacing() -> None:
    assert normalize_text("  Café—Naïve,  TARIFFS! ") == "cafe naive tariffs"


def test_stored_keys_never_change_between_versions() -> None:
    """Keys are stored: a changed hash or separator would deliver every stored story again."""
    text_key = item_key(_item(title="Tariff truce extended", summary="The truce"))
    expected = hashlib.sha256(b"tariff truce extended\nthe truce").hexdigest()
    assert text_key == "text:" + expected
    long_key = item_key(_item(guid="g" * 300))
    assert long_key == "guid:sha256:" + hashlib.sha256(b"g" * 300).hexdigest()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https:///a?utm_source=x&b=1", "https:///a?b=1"),  # no host: none is made up
        ("https://x.test:99999/a", "https://x.test/a"),  # a port out of range is dropped
        ("https://X.test", "https://x.test/"),  # a host alone gets the root path
        ("http:?b=1&utm_source=x", "http://?b=1"),  # neither host nor path: none is made up
    ],
)
def test_canonical_url_of_odd_urls_invents_no_host_and_drops_an_impossible_port(
    url: str, expected: str
) -> None:
    assert canonical_url(url) == expected


def test_plain_http_guids_are_urls_too() -> None:
    key = item_key(_item(guid="HTTP://X.test/a?utm_source=rss"))
    assert key == "url:http://x.test/a"
