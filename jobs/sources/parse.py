"""Turn fetched bytes into items: RSS, Atom, JSON Feed, GDELT ArtList JSON and HTML pages."""

from __future__ import annotations

import codecs
import html
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from jobs.sources.fetch import SourceError

MAX_TITLE_CHARS = 300
MAX_SUMMARY_CHARS = 1000
MAX_ITEMS_PER_FEED = 1000
GDELT_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# Tags after which text from the next element must not be glued to the previous word.
# A run of them becomes one space, so common markup leaves no double space to collapse.
_BLOCK_TAG = r"<(?:br|/?p|/?li|/?div|/?h[1-6]|/tr|/td|/blockquote)\b[^>]*>"
_BLOCK_BREAK = re.compile(f"{_BLOCK_TAG}(?:{_BLOCK_TAG})*", re.I)  # "<" first: quicker search
# A start or end tag with well-formed attributes; markup made only of these, with no element
# whose content is not text (script, style…), no comment and no stray "<", reads the same with
# the tags cut out as through an HTML parser, at a tenth of the cost.
_SIMPLE_TAG = re.compile(
    r"</?[A-Za-z][A-Za-z0-9]*"
    r"(?:\s+[^\s\"'<>/=]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*/?>"
)
# (Starting with "<" lets the regex engine skip to each "<"; NUL is tested apart.)
_NOT_SIMPLE = re.compile(
    r"<(?:[!?]|(?:script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext"
    r"|template|svg|math|select)\b)",
    re.I,
)
_XML_DECLARATION = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])([A-Za-z0-9._-]+)\2")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9._-]+)", re.I)


class ParseError(SourceError):
    """The body could not be read as the source's kind (nothing could be recovered)."""

    kind = "parse"


@dataclass(frozen=True, slots=True)
class ParsedItem:
    """One news item, plain text only; `published` is aware UTC, never in the future."""

    guid: str | None
    link: str | None
    title: str
    summary: str
    published: datetime | None
    source_name: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class FeedData:
    """What a source said: its title, its home link and its items in document order."""

    title: str
    link: str | None
    items: tuple[ParsedItem, ...]


def parse_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None = None,
    kind: str = "feed",
    select: str | None = None,
    now: datetime | None = None,
) -> FeedData:
    """Parse `body` fetched from `url` as a source of `kind`; raise ParseError if hopeless."""
    now = now or datetime.now(UTC)
    text = to_text(body, content_type)
    if not text.strip():
        raise ParseError("the response body is empty")
    if kind == "gdelt":
        return _parse_gdelt(text, now)
    if kind == "page":
        if not select:
            raise ParseError("a page source needs a CSS selector")
        return _parse_page(text, url=url, select=select, now=now)
    if text.lstrip().startswith("{"):
        return _parse_json_feed(text, url=url, now=now)
    return _parse_xml_feed(text.encode("utf-8"), url=url, kind=kind, now=now)


# --- text helpers -------------------------------------------------------------------------


def to_text(body: bytes, content_type: str | None = None) -> str:
    """Decode `body`: UTF-8 if it is valid UTF-8 (whatever is declared, as mislabelled UTF-8 is
    the common case), else the document's declared charset, else the header's, else cp1252;
    an XML declaration is rewritten to say utf-8 so that parsers trust the decoded text."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = body.decode("utf-16", errors="replace")
    else:
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = body.decode(_fallback_charset(body, content_type), errors="replace")
    head = text[:200]
    if head.lstrip().startswith("<?xml"):
        declaration_end = text.find("?>")
        prolog = re.sub(
            r"encoding\s*=\s*[\"'][^\"']*[\"']", 'encoding="utf-8"', text[:declaration_end]
        )
        text = prolog + text[declaration_end:]
    return text


def _fallback_charset(body: bytes, content_type: str | None) -> str:
    head = body[:2048]
    candidates: list[str] = []
    for match in (_XML_DECLARATION.match(head), _META_CHARSET.search(head)):
        if match:
            candidates.append(match.group(match.lastindex or 1).decode("ascii"))
    header = _HEADER_CHARSET.search(content_type or "")
    if header:
        candidates.append(header.group(1))
    for name in candidates:
        if name.lower().replace("_", "-") not in ("utf-8", "utf8") and _is_codec(name):
            return name
    return "cp1252"


def _is_codec(name: str) -> bool:
    """A text codec Python knows (`b"".decode(name)` succeeds for any name, so look it up)."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return False
    return bool(getattr(info, "_is_text_encoding", True))  # not base64, rot13, zlib...


def plain_text(value: str | None, max_chars: int) -> str:
    """HTML or text to one line of plain text: tags dropped, entities decoded, bounded."""
    if not value:
        return ""
    if "<" in value or "&" in value:
        value = _html_text(_BLOCK_BREAK.sub(" ", value))
    collapsed = _collapse_spaces(value)
    if len(collapsed) <= max_chars:
        return collapsed
    head = collapsed[: max_chars - 1]
    space = head.rfind(" ")
    if space > max_chars // 2:  # end on a whole word unless that loses too much
        head = head[:space]
    return head.rstrip() + "…"


def _collapse_spaces(text: str) -> str:
    """`" ".join(text.split())`, without splitting text whose only whitespace is single
    spaces (printable text has no whitespace but the ASCII space)."""
    if text.isprintable() and "  " not in text:
        return text.strip(" ")
    return " ".join(text.split())


def _html_text(markup: str) -> str:
    """The text of an HTML fragment: simple markup by cutting its tags, the rest by Lexbor."""
    if "\x00" not in markup and not _NOT_SIMPLE.search(markup):
        text = _SIMPLE_TAG.sub("", markup)
        if "<" not in text:
            return html.unescape(text)
    return lexbor_text(markup)


def lexbor_text(markup: str) -> str:
    """The text of an HTML fragment as an HTML parser reads it."""
    try:
        return LexborHTMLParser(markup).text(separator="") or ""
    except SelectolaxError:
        return markup


def parse_date(value: Any, now: datetime) -> datetime | None:
    """A feed date (struct_time, ISO 8601, RFC 822 or free text) as aware UTC, clamped to `now`;
    None when it cannot be read. Naive dates are taken as UTC."""
    parsed: datetime | None = None
    if isinstance(value, time.struct_time):
        parsed = datetime(*value[:6], tzinfo=UTC)
    elif isinstance(value, str) and value.strip():
        parsed = _parse_date_text(value.strip())
    if parsed is None:
        return None
    parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return min(parsed, now)


def _parse_date_text(value: str) -> datetime | None:
    from dateutil import parser as dateutil_parser

    readers: tuple[Callable[[str], datetime], ...] = (
        datetime.fromisoformat,
        parsedate_to_datetime,
        dateutil_parser.parse,
    )
    for reader in readers:
        try:
            return reader(value)
        except (ValueError, TypeError, OverflowError, IndexError):
            continue
    return None


# --- RSS and Atom ---------------------------------------------------------------------------


def _parse_xml_feed(body: bytes, *, url: str, kind: str, now: datetime) -> FeedData:
    """fastfeedparser first (fastest, see docs/benchmarks.md); feedparser when it fails or finds
    no items, as feedparser recovers more from broken markup.

    Both are imported here, on first use: only check workers parse feeds, and the poller's
    own process, which parses only when they are gone, is spared their 11 MB."""
    import fastfeedparser
    import feedparser

    first_error: str | None = None
    try:
        # Tags, media and enclosures are never used: not building them saves a little.
        result = fastfeedparser.parse(
            body, include_tags=False, include_media=False, include_enclosures=False
        )
        if result.entries:
            return _feed_data(result, url=url, kind=kind, now=now)
    except Exception as exc:  # hostile input may break a third-party parser in any way
        first_error = f"{exc}" or type(exc).__name__
    try:
        fallback = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:
        raise ParseError(f"not a readable feed: {first_error or exc}"[:220]) from exc
    if fallback.entries or (not fallback.bozo and fallback.get("version")):
        return _feed_data(fallback, url=url, kind=kind, now=now)
    if first_error is None:  # fastfeedparser read a valid feed that has no items
        return _feed_data(result, url=url, kind=kind, now=now)
    reason = first_error or str(fallback.get("bozo_exception", "not a feed"))
    raise ParseError(f"not a readable feed: {reason[:200]}")


def _feed_data(result: Mapping[str, Any], *, url: str, kind: str, now: datetime) -> FeedData:
    feed = result.get("feed") or {}
    items = tuple(
        _entry_to_item(entry, base_url=url, kind=kind, now=now)
        for entry in result.get("entries", [])[:MAX_ITEMS_PER_FEED]
    )
    link = feed.get("link")
    return FeedData(
        title=plain_text(feed.get("title"), MAX_TITLE_CHARS),
        link=urljoin(url, link) if link else None,
        items=items,
    )


def _entry_summary(entry: Mapping[str, Any]) -> str | None:
    summary = entry.get("summary") or entry.get("description")
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value")
    return summary if isinstance(summary, str) else None


def _entry_to_item(
    entry: Mapping[str, Any], *, base_url: str, kind: str, now: datetime
) -> ParsedItem:
    raw_link = entry.get("link") or None
    guid = entry.get("id") or None
    link = _http_url(base_url, raw_link)
    if link is None:  # feedparser copies a non-URL id (tag:…) into link
        raw_link = None
    elif guid == raw_link:  # no GUID in the feed: the parser copied the link, which says it all
        guid = None
    title = plain_text(entry.get("title"), MAX_TITLE_CHARS)
    source = entry.get("source") or {}
    source_name = plain_text(source.get("title"), MAX_TITLE_CHARS) or None
    summary_html = _entry_summary(entry)
    summary = plain_text(summary_html, MAX_SUMMARY_CHARS)
    if kind == "google_news":
        title, source_name = _split_google_title(title, source_name, summary_html)
        if summary == f"{title} {source_name}":  # only repeats the title and outlet
            summary = ""
    date = entry.get("published_parsed") or entry.get("updated_parsed")
    date = date or entry.get("published") or entry.get("updated")
    return ParsedItem(
        guid=guid,
        link=link,
        title=title,
        summary=summary,
        published=parse_date(date, now),
        source_name=source_name,
        author=plain_text(entry.get("author"), MAX_TITLE_CHARS) or None,
    )


def _http_url(base_url: str, href: str | None) -> str | None:
    """`href` made absolute against `base_url`, if that gives an http(s) URL."""
    if not href:
        return None
    href = href.strip()
    if href.startswith(("https://", "http://")):  # the common case; urljoin is slow
        return href
    absolute = urljoin(base_url, href)
    return absolute if absolute.lower().startswith(("http://", "https://")) else None


def _split_google_title(
    title: str, source_name: str | None, summary_html: str | None
) -> tuple[str, str | None]:
    """Google News appends " - Outlet" to every title; the outlet comes from <source> when the
    parser reports it, else from the summary's grey <font> tag, else from the title itself."""
    outlet = source_name
    if not outlet and summary_html:
        fonts = LexborHTMLParser(summary_html).css("font")
        outlet = " ".join(fonts[0].text().split()) if fonts else None
    if outlet and title.endswith(" - " + outlet):
        return title[: -len(outlet) - 3].rstrip(), outlet
    head, separator, tail = title.rpartition(" - ")
    if separator and head and not outlet:
        return head.rstrip(), tail.strip() or None
    return title, outlet


# --- JSON: JSON Feed and GDELT --------------------------------------------------------------


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {plain_text(text, 120) or exc}") from exc


def _json_author(holder: Mapping[str, Any]) -> str | None:
    """JSON Feed 1.1 `authors` (a list) or 1.0 `author` (an object): the first name."""
    authors = holder.get("authors")
    candidates = authors if isinstance(authors, list) else [holder.get("author")]
    for author in candidates:
        if isinstance(author, Mapping) and isinstance(author.get("name"), str):
            return plain_text(author["name"], MAX_TITLE_CHARS) or None
    return None


def _parse_json_feed(text: str, *, url: str, now: datetime) -> FeedData:
    data = _load_json(text)
    version = data.get("version") if isinstance(data, Mapping) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError("JSON that is not a JSON Feed (no jsonfeed.org version)")
    feed_author = _json_author(data)
    items = []
    for entry in data.get("items") or []:
        if isinstance(entry, Mapping):
            items.append(_json_feed_item(entry, url=url, now=now, feed_author=feed_author))
    home = data.get("home_page_url")
    return FeedData(
        title=plain_text(_str(data.get("title")), MAX_TITLE_CHARS),
        link=urljoin(url, home) if isinstance(home, str) else None,
        items=tuple(items[:MAX_ITEMS_PER_FEED]),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _json_feed_item(
    entry: Mapping[str, Any], *, url: str, now: datetime, feed_author: str | None
) -> ParsedItem:
    link = _str(entry.get("url")) or _str(entry.get("external_url"))
    guid = entry.get("id")
    body = _str(entry.get("summary")) or _str(entry.get("content_text"))
    summary = plain_text(body or _str(entry.get("content_html")), MAX_SUMMARY_CHARS)
    title = plain_text(_str(entry.get("title")), MAX_TITLE_CHARS) or summary[:MAX_TITLE_CHARS]
    date = entry.get("date_published") or entry.get("date_modified")
    return ParsedItem(
        guid=str(guid) if isinstance(guid, str | int) and str(guid) else None,
        link=_http_url(url, link),
        title=title,
        summary=summary,
        published=parse_date(date, now),
        author=_json_author(entry) or feed_author,
    )


def _parse_gdelt(text: str, now: datetime) -> FeedData:
    """GDELT DOC 2.0 ArtList: `{"articles": [{url, title, seendate, domain, …}]}`; no match is
    `{}`, and a refused query is a plain-text sentence, reported as the ParseError message."""
    if not text.lstrip().startswith("{"):
        raise ParseError(f"GDELT said: {plain_text(text, 200)}")
    data = _load_json(text)
    articles = data.get("articles") if isinstance(data, Mapping) else None
    items = []
    for article in articles if isinstance(articles, list) else []:
        link = _http_url("", _str(article.get("url"))) if isinstance(article, Mapping) else None
        if not link:  # missing, or not http(s) (javascript:, data:)
            continue
        seen = _str(article.get("seendate"))
        published = None
        if seen:
            try:
                published = min(datetime.strptime(seen, GDELT_DATE_FORMAT).replace(tzinfo=UTC), now)
            except ValueError:
                published = parse_date(seen, now)
        items.append(
            ParsedItem(
                guid=None,
                link=link,
                title=plain_text(_str(article.get("title")), MAX_TITLE_CHARS),
                summary="",
                published=published,
                source_name=_str(article.get("domain")) or None,
            )
        )
    return FeedData(title="GDELT", link=None, items=tuple(items[:MAX_ITEMS_PER_FEED]))


# --- HTML pages -------------------------------------------------------------------------------


def _parse_page(text: str, *, url: str, select: str, now: datetime) -> FeedData:
    """Each element matching `select` that is or holds a link becomes an item; the element's
    text is the title (the link's own text when the element is larger), a <time datetime> inside
    it is the date."""
    tree = LexborHTMLParser(text)
    try:
        nodes = tree.css(select)
    except SelectolaxError as exc:
        raise ParseError(f"not a valid CSS selector: {select!r}") from exc
    items: list[ParsedItem] = []
    seen: set[str] = set()
    for node in nodes:
        anchor = node if node.tag == "a" and node.attributes.get("href") else None
        anchor = anchor or node.css_first("a[href]")
        link = _http_url(url, anchor.attributes.get("href")) if anchor else None
        if link is None or link in seen:
            continue
        seen.add(link)
        node_text = plain_text(node.html, MAX_SUMMARY_CHARS)
        title = plain_text(anchor.html, MAX_TITLE_CHARS) if anchor else ""
        title = title or node_text[:MAX_TITLE_CHARS]
        stamp = node.css_first("time[datetime]")
        items.append(
            ParsedItem(
                guid=None,
                link=link,
                title=title,
                summary=node_text if node_text != title else "",
                published=parse_date(stamp.attributes.get("datetime"), now) if stamp else None,
            )
        )
    page_title = tree.css_first("title")
    return FeedData(
        title=plain_text(page_title.text(), MAX_TITLE_CHARS) if page_title else "",
        link=url,
        items=tuple(items[:MAX_ITEMS_PER_FEED]),
    )
