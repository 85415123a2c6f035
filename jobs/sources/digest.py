"""Parse, key and match one fetched body: the poller's CPU-heavy step.

It needs no database, so it runs in the check workers (jobs/sources/workers.py) next to the
fetch, and only the digest travels back to the poller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobs.sources.dedup import item_key
from jobs.sources.match import Document, Matcher
from jobs.sources.parse import FeedData, ParsedItem, parse_feed


@dataclass(frozen=True, slots=True)
class Body:
    """A fetched body and how to read it."""

    body: bytes
    url: str
    content_type: str | None
    kind: str
    select: str | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed body: its title, item count, and each distinct item with the topics it matches."""

    title: str
    parsed: int
    items: tuple[tuple[str, ParsedItem, tuple[str, ...]], ...]

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        # Sent from the workers as plain tuples, dates as integers: a frozen dataclass and an
        # aware datetime each unpickle through slow generic paths, 50,000 times a cold cycle.
        rows = tuple(
            (
                key,
                item.guid,
                item.link,
                item.title,
                item.summary,
                None if item.published is None else (item.published - _EPOCH) // _MICROSECOND,
                item.source_name,
                item.author,
                slugs,
            )
            for key, item, slugs in self.items
        )
        return _digest_from_rows, (self.title, self.parsed, rows)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_Row = tuple[
    str, str | None, str | None, str, str, int | None, str | None, str | None, tuple[str, ...]
]


def _digest_from_rows(title: str, parsed: int, rows: tuple[_Row, ...]) -> ParsedFeed:
    items = tuple(
        (
            key,
            ParsedItem(
                guid,
                link,
                item_title,
                summary,
                None if published is None else _EPOCH + timedelta(microseconds=published),
                source_name,
                author,
            ),
            slugs,
        )
        for key, guid, link, item_title, summary, published, source_name, author, slugs in rows
    )
    return ParsedFeed(title, parsed, items)


def keyed_items(feed: FeedData) -> dict[str, ParsedItem]:
    """Items by identity key, the first of any repeated key kept, in feed order."""
    keyed: dict[str, ParsedItem] = {}
    for item in feed.items:
        keyed.setdefault(item_key(item), item)
    return keyed


def digest_body(body: Body, now: datetime, matcher: Matcher) -> ParsedFeed:
    """Parse (raises ParseError), key and match one body."""
    feed = parse_feed(
        body.body,
        url=body.url,
        content_type=body.content_type,
        kind=body.kind,
        select=body.select,
        now=now,
    )
    items = tuple(
        (key, item, tuple(matcher.match(Document(item.title, item.summary, item.link or ""))))
        for key, item in keyed_items(feed).items()
    )
    return ParsedFeed(feed.title, len(feed.items), items)
