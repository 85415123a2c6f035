"""Parsing real captured feeds (golden values) and hostile ones, through both XML parsers."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import fastfeedparser
import pytest

from bot.domain.source_kinds import (
    SourceSpec,
    SourceSpecError,
    gdelt_url,
    google_news_url,
    source_spec,
)
from jobs.sources import parse
from jobs.sources.parse import (
    MAX_SUMMARY_CHARS,
    FeedData,
    ParsedItem,
    ParseError,
    parse_date,
    parse_feed,
    plain_text,
)
from tests.sources_server import (
    CP1252_NO_CHARSET_XML,
    FEED_XML,
    MALFORMED_XML,
    TRUNCATED_XML,
    UTF8_AS_LATIN1_XML,
)

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
FETCHED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _sample(name: str, kind: str = "feed", url: str = "https://feeds.test/") -> FeedData:
    return parse_feed((SAMPLES / name).read_bytes(), url=url, kind=kind, now=NOW)


@pytest.fixture(params=["fastfeedparser", "feedparser"])
def xml_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test once with the primary parser and once with the fallback forced."""
    if request.param == "feedparser":

        def fail(body: bytes) -> None:
            raise ValueError("forced fallback")

        monkeypatch.setattr(fastfeedparser, "parse", fail)
    return str(request.param)


GOLDEN = [
    (
        "bbc-world.rss.xml",
        "feed",
        "BBC News",
        5,
        ParsedItem(
            guid="https://www.bbc.co.uk/news/articles/cxq63dqp93n1o#0",
            link="https://www.bbc.co.uk/news/articles/cxq63dqp93n1o?at_medium=RSS&at_campaign=rss",
            title="Trump and Xi exchange warm words at state dinner but little progress on "
            "key issues",
            summary="Despite diplomatic niceties and gifts, little was shared on substantial "
            "issues separating the leaders.",
            published=_utc(2026, 9, 25, 10, 36, 55),
        ),
        "Hundreds of thousands expected in Paris for Pope's visit",
    ),
    (
        "google-news-search-en-GB-trimmed.rss.xml",
        "google_news",
        '"Brent crude oil price" - Google News',
        6,
        ParsedItem(
            guid="CBMingFBVV95cUxPYUY5ZFFNX2tGaXNKNzVhc2NCRllvdFV5cFR4Sjk0OG9QZ1Vma2JTcnpyMXZrdWFl"
            "elEwWEg3RHh6RzdqdTRRZVRybFdLYnhabG9ORnVsT1pTV2xIQ2RudXk0ZkJhdHRLZ2Z6RXNwRVE3WFZId3ls"
            "NnlfRmMxN3MydTl0NXRmXzhyV0lUNzNGN0xPeG9ORnlGSGdiRUhzd9IBowFBVV95cUxNdWt2YnJmVU12MG5K"
            "YXQyaW4tSzdFSkFNb0YtTEpsOXFpcXY4TDJIRG9DUG9GdEdLaE5ZV1pwaWVMVjgtdlpVVUttaGRvQWNUd2lv"
            "dkhDQm9Kckcybk16SnRSMFdDZ0ZNUGVRcGNnS05DMkk2Q25tZnlWVE9lbEhHbGpCODlUTFdLa25Zdmt3Qmpo"
            "NW5DSXZfRXVNa1lmVmx0SnYw",
            link="https://news.google.com/rss/articles/CBMingFBVV95cUxPYUY5ZFFNX2tGaXNKNzVhc2NCRll"
            "vdFV5cFR4Sjk0OG9QZ1Vma2JTcnpyMXZrdWFlelEwWEg3RHh6RzdqdTRRZVRybFdLYnhabG9ORnVsT1pTV2xI"
            "Q2RudXk0ZkJhdHRLZ2Z6RXNwRVE3WFZId3lsNnlfRmMxN3MydTl0NXRmXzhyV0lUNzNGN0xPeG9ORnlGSGdi"
            "RUhzd9IBowFBVV95cUxNdWt2YnJmVU12MG5KYXQyaW4tSzdFSkFNb0YtTEpsOXFpcXY4TDJIRG9DUG9GdEdL"
            "aE5ZV1pwaWVMVjgtdlpVVUttaGRvQWNUd2lvdkhDQm9Kckcybk16SnRSMFdDZ0ZNUGVRcGNnS05DMkk2Q25t"
            "ZnlWVE9lbEhHbGpCODlUTFdLa25Zdmt3QmpoNW5DSXZfRXVNa1lmVmx0SnYw?oc=5",
            title="Middle East War Triggers New Global Refining Boom",
            summary="",
            published=_utc(2026, 8, 5),
            source_name="Crude Oil Prices Today | OilPrice.com",
        ),
        "Oil prices surge to $100 per barrel after Red Sea attacks",
    ),
    (
        "guardian-us.rss.xml",
        "feed",
        "The Guardian",
        55,
        None,
        "Earth's ultimate yogis – in pictures",
    ),
    (
        "google-news-search.rss.xml",
        "google_news",
        '""Bears Ears" monument" - Google News',
        92,
        None,
        "Appeals court revives Utah challenge to Bears Ears, Grand Staircase boundaries",
    ),
]


@pytest.mark.parametrize(("name", "kind", "title", "count", "first", "last_title"), GOLDEN)
def test_a_captured_feed_gives_its_golden_title_item_count_and_end_items(
    xml_parser: str,
    name: str,
    kind: str,
    title: str,
    count: int,
    first: ParsedItem | None,
    last_title: str,
) -> None:
    feed = _sample(name, kind)
    assert (feed.title, len(feed.items), feed.items[-1].title) == (title, count, last_title)
    if first is not None:
        assert feed.items[0] == first


def test_the_guardian_first_item_keeps_its_title_link_date_author_and_summary(
    xml_parser: str,
) -> None:
    item = _sample("guardian-us.rss.xml").items[0]
    assert item.title == "Trump State of the Union address promised unity but emphasized discord"
    assert item.link == (
        "https://www.theguardian.com/us-news/2018/jan/31/"
        "donald-trump-state-of-the-union-address-unity-discord"
    )
    assert (item.published, item.author) == (
        _utc(2018, 1, 31, 7, 26, 5),
        "David Smith in Washington",
    )
    assert item.summary.startswith("The president’s ‘new American moment’ speech stirred")
    assert item.summary.endswith("Continue reading...")


def test_google_news_titles_lose_the_outlet(xml_parser: str) -> None:
    feed = _sample("google-news-search.rss.xml", "google_news")
    first = feed.items[0]
    assert (first.title, first.source_name) == (
        "Trump again shrinks two national monuments in Utah",
        "The Washington Post",
    )
    assert feed.items[1].source_name == "San Juan Record |"
    assert all(item.source_name for item in feed.items)
    assert not any(item.title.endswith(f" - {item.source_name}") for item in feed.items)
    assert not any("<" in item.summary or "&nbsp;" in item.summary for item in feed.items)
    # The first item is a cluster: its summary lists the other outlets' headlines.
    assert first.summary.startswith(
        "Trump again shrinks two national monuments in Utah The Washington Post President Trump"
    )


def test_the_json_feed_1_1_sample_gives_items_with_guid_date_author_and_capped_summary() -> None:
    feed = _sample("jsonfeed-1.1-daringfireball.json", url="https://daringfireball.net/feeds/json")
    assert (feed.title, feed.link, len(feed.items)) == (
        "Daring Fireball",
        "https://daringfireball.net/",
        48,
    )
    first = feed.items[0]
    assert (
        first.guid
        == first.link
        == "https://daringfireball.net/linked/2021/02/26/mailtrackerblocker"
    )
    assert (first.title, first.published, first.author) == (
        "MailTrackerBlocker for Apple Mail on MacOS",
        _utc(2021, 2, 27, 1, 6, 30),
        "John Gruber",
    )
    assert first.summary.startswith("Open source plugin for Apple Mail on MacOS, by Aaron Lee:")
    assert len(first.summary) <= MAX_SUMMARY_CHARS and first.summary.endswith(" you get an alert…")
    assert len(first.summary) == 995


def test_json_feed_1_0_author_and_fallbacks() -> None:
    body = {
        "version": "https://jsonfeed.org/version/1",
        "title": "One oh",
        "author": {"name": "Feed Author"},
        "items": [
            {"id": 7, "url": "/p/7", "content_text": "Text only", "author": {"name": "Bo"}},
            {
                "id": "x",
                "external_url": "https://else.test/",
                "title": "T",
                "date_published": "bad",
            },
            "not an item",
        ],
    }
    feed = parse_feed(json.dumps(body).encode(), url="https://one.test/feed.json", now=NOW)
    assert feed.items == (
        ParsedItem("7", "https://one.test/p/7", "Text only", "Text only", None, author="Bo"),
        ParsedItem("x", "https://else.test/", "T", "", None, author="Feed Author"),
    )


def test_gdelt_articles_become_dated_items_and_those_without_a_url_are_dropped() -> None:
    body = {
        "articles": [
            {
                "url": "https://news.test/a",
                "url_mobile": "",
                "title": "Rare earth export curbs",
                "seendate": "20260609T113000Z",
                "socialimage": "",
                "domain": "news.test",
                "language": "English",
                "sourcecountry": "United Kingdom",
            },
            {"url": "https://news.test/b", "title": "No date", "seendate": "garbage"},
            {"title": "no url"},
        ]
    }
    feed = parse_feed(json.dumps(body).encode(), url="https://api.test/", kind="gdelt", now=NOW)
    assert feed.items == (
        ParsedItem(
            None,
            "https://news.test/a",
            "Rare earth export curbs",
            "",
            _utc(2026, 6, 9, 11, 30),
            "news.test",
        ),
        ParsedItem(None, "https://news.test/b", "No date", "", None, None),
    )


def test_a_gdelt_answer_without_articles_has_no_items() -> None:
    assert parse_feed(b"{}", url="https://api.test/", kind="gdelt", now=NOW).items == ()


def test_a_gdelt_answer_in_plain_text_is_a_parse_error_quoting_gdelt() -> None:
    with pytest.raises(ParseError, match="GDELT said: Your search contained a phrase"):
        parse_feed(b"Your search contained a phrase that was too short.", url="x", kind="gdelt")


PAGE_HTML = b"""<html><head><title>Press office</title></head><body>
<ul class="news">
 <li><a href="/press/1">Tariff <b>truce</b> extended</a>
     <time datetime="2026-05-30T09:00:00Z">30 May</time></li>
 <li><h3><a href="https://gov.test/press/2">Export controls</a></h3><p>New rules on chips.</p></li>
 <li>No link here</li>
 <li><a href="javascript:void(0)">Script</a></li>
 <li><a href="/press/1">Duplicate</a></li>
</ul></body></html>"""


def test_a_page_gives_an_item_per_selected_element_with_a_new_http_link() -> None:
    feed = parse_feed(
        PAGE_HTML, url="https://gov.test/news", kind="page", select="ul.news > li", now=FETCHED_AT
    )
    assert (feed.title, feed.link) == ("Press office", "https://gov.test/news")
    assert feed.items == (
        ParsedItem(
            None,
            "https://gov.test/press/1",
            "Tariff truce extended",
            "Tariff truce extended 30 May",
            _utc(2026, 5, 30, 9),
        ),
        ParsedItem(
            None,
            "https://gov.test/press/2",
            "Export controls",
            "Export controls New rules on chips.",
            None,
        ),
    )


def test_a_page_with_an_invalid_css_selector_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="not a valid CSS selector"):
        parse_feed(PAGE_HTML, url="https://gov.test/", kind="page", select="li[[[")


ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Atom news</title><link href="https://atom.test/"/>
<entry><title type="html">&lt;b&gt;Tariffs&lt;/b&gt;   rise</title><link href="/a/1"/>
<id>tag:atom.test,2026:1</id><updated>2026-06-01T09:00:00+01:00</updated>
<summary>S &amp;amp; P</summary><author><name>Ann</name></author></entry>
<entry><title>Future</title><link href="https://atom.test/a/2"/><id>tag:atom.test,2026:2</id>
<published>2099-01-01T00:00:00Z</published></entry>
<entry><title>Undated</title><id>tag:atom.test,2026:3</id><updated>not a date</updated></entry>
</feed>"""
RSS_1_0 = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://rdf.test/"><title>RDF news</title><link>https://rdf.test/</link></channel>
<item rdf:about="https://rdf.test/1"><title>One</title><link>https://rdf.test/1</link>
<dc:date>2026-05-31T08:00:00Z</dc:date></item></rdf:RDF>"""
RSS_0_91 = b"""<?xml version="1.0" encoding="ISO-8859-1"?><rss version="0.91"><channel>
<title>Old</title><link>https://old.test/</link><description>d</description>
<item><title>Caf\xe9 news</title><link>https://old.test/1</link><description>x</description></item>
</channel></rss>"""


def test_atom_html_titles_offsets_and_future_dates(xml_parser: str) -> None:
    feed = parse_feed(ATOM, url="https://atom.test/feed", now=FETCHED_AT)
    assert feed.items == (
        ParsedItem(
            "tag:atom.test,2026:1",
            "https://atom.test/a/1",
            "Tariffs rise",
            "S & P",
            _utc(2026, 6, 1, 8),
            author="Ann",
        ),
        ParsedItem("tag:atom.test,2026:2", "https://atom.test/a/2", "Future", "", FETCHED_AT),
        ParsedItem("tag:atom.test,2026:3", None, "Undated", "", None),
    )


@pytest.mark.parametrize(
    ("body", "title", "first"),
    [
        (
            RSS_1_0,
            "RDF news",
            ParsedItem(None, "https://rdf.test/1", "One", "", _utc(2026, 5, 31, 8)),
        ),
        (RSS_0_91, "Old", ParsedItem(None, "https://old.test/1", "Café news", "x", None)),
    ],
)
def test_rss_1_0_and_0_91_feeds_give_their_title_and_item(
    xml_parser: str, body: bytes, title: str, first: ParsedItem
) -> None:
    feed = parse_feed(body, url="https://x.test/", now=FETCHED_AT)
    assert (feed.title, feed.items) == (title, (first,))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (UTF8_AS_LATIN1_XML, "text/xml; charset=iso-8859-1"),
        (CP1252_NO_CHARSET_XML, None),
        (
            CP1252_NO_CHARSET_XML.replace(
                b'<?xml version="1.0"', b'<?xml version="1.0" encoding="windows-1252"'
            ),
            "text/xml; charset=utf-8",
        ),
        ("\ufeff".encode("utf-16-le") + UTF8_AS_LATIN1_XML.decode().encode("utf-16-le"), None),
        # Charset names Python does not know, or knows as no text codec: read as cp1252.
        (CP1252_NO_CHARSET_XML, "text/xml; charset=x-no-such-charset"),
        (CP1252_NO_CHARSET_XML, "text/xml; charset=base64"),
    ],
)
def test_wrong_or_missing_charset(xml_parser: str, body: bytes, content_type: str | None) -> None:
    feed = parse_feed(body, url="http://local.test/", content_type=content_type, now=FETCHED_AT)
    assert [item.title for item in feed.items] == ["Café – naïve", "Second story"]


def test_truncated_and_malformed_xml_recover_what_they_can(xml_parser: str) -> None:
    truncated = parse_feed(TRUNCATED_XML, url="http://local.test/", now=FETCHED_AT)
    assert [(item.title, item.link) for item in truncated.items] == [
        ("First story", "http://local.test/1"),
        ("Second story", "http://local.test/2"),
    ]
    malformed = parse_feed(MALFORMED_XML, url="http://local.test/", now=FETCHED_AT)
    assert (malformed.title, len(malformed.items)) == ("Broken", 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the response body is empty"),
        (b"  \n", "the response body is empty"),
        (b"hello, not a feed", "not a readable feed"),
        (b"<html><body><p>Sign in</p></body></html>", "not a readable feed"),
        (b'{"hello": 1}', "JSON that is not a JSON Feed"),
        (b'{"version": ', "invalid JSON"),
    ],
)
def test_hopeless_bodies_raise_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message) as caught:
        parse_feed(body, url="http://local.test/")
    assert caught.value.kind == "parse"


def test_feed_without_items_is_not_an_error(xml_parser: str) -> None:
    body = b"<rss version='2.0'><channel><title>Quiet</title></channel></rss>"
    assert parse_feed(body, url="http://q.test/") == FeedData("Quiet", None, ())


def test_summaries_lose_markup_and_feed_dates_become_utc_never_in_the_future() -> None:
    assert plain_text("<p>One</p><p>Two&nbsp;&amp; three</p>", 100) == "One Two & three"
    assert plain_text("Profits <5% & rising", 100) == "Profits <5% & rising"
    assert plain_text("word " * 10, 12) == "word word…"
    assert parse_date("Mon, 01 Jun 2026 10:00:00 +0200", FETCHED_AT) == _utc(2026, 6, 1, 8)
    assert parse_date("2026-05-01T10:00:00", FETCHED_AT) == _utc(2026, 5, 1, 10)
    assert parse_date("2030-01-01T00:00:00Z", FETCHED_AT) == FETCHED_AT
    assert parse_date("yesterday-ish", FETCHED_AT) is None
    assert parse_date(None, FETCHED_AT) is None


def test_collapse_spaces_agrees_with_split_and_join() -> None:
    rng = random.Random(5)
    alphabet = "ab é—" + " " * 4 + "\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u2028\u3000\u200b"
    for _ in range(3000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 12)))
        assert parse._collapse_spaces(text) == " ".join(text.split()), repr(text)


def test_block_tags_in_a_row_break_words_once() -> None:
    markup = '<p>One</p><p class="x">Two</p>\n<p>Three<br/><br>Four</p><div><p>Five</div>'
    assert plain_text(markup, 100) == "One Two Three Four Five"
    assert plain_text("A<b>B</b><P>C</P>", 100) == "AB C"


def test_the_local_test_feed_gives_each_item_its_guid_and_date() -> None:
    feed = parse_feed(FEED_XML, url="http://local.test/feed.xml", now=FETCHED_AT)
    assert [(item.guid, item.published) for item in feed.items] == [
        ("local-1", _utc(2026, 6, 1, 10)),
        ("local-2", _utc(2026, 6, 1, 11)),
    ]


# --- source kinds ---------------------------------------------------------------------------


def test_a_google_news_url_carries_the_query_language_and_region() -> None:
    assert google_news_url('US China "trade talks"') == (
        "https://news.google.com/rss/search?q=US+China+%22trade+talks%22&hl=en-GB&gl=GB&ceid=GB:en"
    )
    assert google_news_url("tariffs", language="en-US", region="us").endswith(
        "hl=en-US&gl=US&ceid=US:en"
    )
    assert google_news_url("x", language="zh-Hant-TW", region="TW").endswith("ceid=TW:zh-Hant")


def test_a_google_news_region_that_is_not_two_letters_is_refused() -> None:
    with pytest.raises(SourceSpecError, match="region must be a two-letter country code"):
        google_news_url("x", region="GBR")


def test_a_gdelt_url_asks_for_a_day_of_articles_as_json_newest_first() -> None:
    assert gdelt_url("tariffs (steel OR aluminium)") == (
        "https://api.gdeltproject.org/api/v2/doc/doc?query=tariffs+%28steel+OR+aluminium%29"
        "&mode=ArtList&format=json&sort=DateDesc&maxrecords=75&timespan=1d"
    )


def test_gdelt_max_records_over_250_is_refused() -> None:
    with pytest.raises(SourceSpecError, match="max_records must be between 1 and 250"):
        gdelt_url("x", max_records=500)


def test_a_source_spec_trims_its_url_query_and_selector() -> None:
    assert source_spec(url=" https://feeds.test/rss ") == SourceSpec(
        "feed", "https://feeds.test/rss"
    )
    assert source_spec(google_news="  rare   earths ").query == "rare earths"
    assert source_spec(gdelt="chips").kind == "gdelt"
    assert source_spec(page="https://gov.test/news", select=" li > a ") == SourceSpec(
        "page", "https://gov.test/news", select="li > a"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of url, google_news, gdelt or page"),
        ({"url": "https://a.test/", "gdelt": "x"}, "give exactly one of"),
        ({"url": "ftp://a.test/"}, "not an http\\(s\\) URL"),
        ({"page": "https://a.test/"}, "a page source needs a CSS selector"),
        ({"page": "https://a.test/", "select": "li[["}, "not a valid CSS selector"),
        ({"url": "https://a.test/", "select": "li"}, "select is only for page sources"),
        ({"google_news": " "}, "the query is empty"),
        ({"gdelt": "x" * 501}, "the query is longer than 500 characters"),
    ],
)
def test_a_source_spec_that_cannot_be_used_is_refused_saying_why(
    kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(SourceSpecError, match=message):
        source_spec(**kwargs)


def test_parser_crash_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(body: bytes, **options: bool) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr(fastfeedparser, "parse", crash)
    assert len(parse_feed(FEED_XML, url="http://local.test/").items) == 2
    with pytest.raises(ParseError, match="not a readable feed: deep"):
        parse_feed(b"<<<not xml", url="http://local.test/")
    with pytest.raises(ParseError, match="invalid JSON"):
        parse_feed(b'{"a":' + b"[" * 100_000, url="http://local.test/")


TRICKY_MARKUP = [
    'Tariffs &amp; <a href="https://x.test/?a=1&b=2" title="a > b">quotas</a> rise',
    "<p>US<b>–</b>China</p><p>talks&nbsp;resume</p>",
    "caf&eacute; &copy 2025 &#169; &#x2014; &notanentity; AT&T",
    "<img src='x.png' alt=\"<chart>\"/>Steel <br/>output",
    "a < b and c > d",
    "<script>var x = '<p>';</script>Visible",
    "<!-- note -->Kept<![CDATA[ raw ]]>",
    "<style>p { color: red }</style><p>Styled</p>",
    "<custom-tag>Custom</custom-tag> text",
    "<p class=lead data-x='1'>Unquoted</p ><P>Upper</P>",
    "<textarea><b>not bold</b></textarea>",
    "&#0; &#x80; &#150; zero and cp1252 references",
    "<a href=x>unclosed",
    "<title>Inner</title>",
]


def _raw_markup(name: str) -> Iterator[str]:
    import fastfeedparser

    feed = fastfeedparser.parse((SAMPLES / name).read_bytes())
    for entry in feed.entries:
        for field in ("title", "description", "summary", "content"):
            value = entry.get(field)
            if isinstance(value, str) and value:
                yield value


def test_simple_markup_reads_as_an_html_parser_reads_it() -> None:
    """The fast path (cutting tags) gives exactly Lexbor's text for every sample feed's
    titles and summaries, and for markup that must not take it."""
    values = [*TRICKY_MARKUP]
    for name in ("bbc-world.rss.xml", "guardian-us.rss.xml", "google-news-search.rss.xml"):
        values += list(_raw_markup(name))
    assert len(values) > 100
    for value in values:
        spaced = parse._BLOCK_BREAK.sub(" ", value)
        fast = " ".join(parse._html_text(spaced).split())
        assert fast == " ".join(parse.lexbor_text(spaced).split()), value


def test_gdelt_links_are_only_http() -> None:
    body = {
        "articles": [
            {"url": "javascript:alert(1)", "title": "Script", "seendate": "20250710T120000Z"},
            {"url": "data:text/html,<b>x</b>", "title": "Data", "seendate": "20250710T120000Z"},
            {"url": "https://ok.test/a", "title": "Fine", "seendate": "20250710T120000Z"},
        ]
    }
    feed = parse_feed(json.dumps(body).encode(), url="https://api.test/", kind="gdelt", now=NOW)
    assert [item.link for item in feed.items] == ["https://ok.test/a"]
