"""OPML import and export: nested folders, Herald's own kinds, hostile documents."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.opml import MAX_OPML_BYTES, OpmlError, OpmlSource, parse_opml, write_opml
from bot.domain.source_kinds import SourceSpec

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_reads_nested_outlines_and_skips_bad_ones() -> None:
    read = parse_opml(
        b"""<?xml version="1.0"?><opml version="1.0"><head/><body>
        <outline text="Trade"><outline text="Sub">
          <outline title="BBC" text="bbc" type="rss" xmlUrl="https://feeds.bbci.co.uk/news/rss.xml"/>
        </outline></outline>
        <outline text="No title" type="rss" xmlUrl="https://a.test/feed"/>
        <outline text="dup" type="rss" xmlUrl="https://a.test/feed"/>
        <outline text="Mail" type="rss" xmlUrl="mailto:x@y.z"/>
        <outline text="Odd" heraldKind="telnet" xmlUrl="https://a.test/x"/>
        </body></opml>"""
    )
    assert read.sources == (
        OpmlSource(SourceSpec("feed", "https://feeds.bbci.co.uk/news/rss.xml"), "BBC"),
        OpmlSource(SourceSpec("feed", "https://a.test/feed"), "No title"),
    )
    assert read.skipped == (
        "Mail: not an http(s) URL: 'mailto:x@y.z'",
        "Odd: unknown heraldKind 'telnet'",
    )


def test_round_trip_keeps_herald_kinds() -> None:
    sources = [
        OpmlSource(SourceSpec("feed", "https://a.test/rss?x=1&y=2"), "A & B"),
        OpmlSource(SourceSpec("gdelt", "https://api.gdeltproject.org/api/v2/doc/doc?q=x"), None),
        OpmlSource(SourceSpec("page", "https://gov.test/news", select="ul > li"), "Gov"),
    ]
    document = write_opml(sources, now=NOW)
    assert b"<dateCreated>Mon, 01 Jun 2026 12:00:00 GMT</dateCreated>" in document
    assert b'xmlUrl="https://a.test/rss?x=1&amp;y=2"' in document
    untitled = OpmlSource(sources[1].spec, sources[1].spec.url)  # the URL names it
    assert parse_opml(document).sources == (sources[0], untitled, sources[2])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<opml><body><outline", "not well-formed XML"),
        (b"<rss><channel/></rss>", "not an OPML document (no <opml><body>)"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><opml><body/></opml>',
            "documents with a DTD or entities are not accepted",
        ),
        (  # UTF-16 hides "<!DOCTYPE" from a byte search
            '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x [<!ENTITY e "e">]>'
            "<opml><body/></opml>".encode("utf-16"),
            "documents with a DTD or entities are not accepted",
        ),
        (b" " * (MAX_OPML_BYTES + 1), f"the file is larger than {MAX_OPML_BYTES} bytes"),
    ],
)
def test_hostile_or_broken_documents_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError) as caught:
        parse_opml(data)
    assert str(caught.value).startswith(message)
