"""Source kinds: a feed URL, a Google News query, a GDELT query or a web page with a selector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from bot.domain.text import N_, ReaderError

SourceKind = Literal["feed", "google_news", "gdelt", "page"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("feed", "google_news", "gdelt", "page")

GOOGLE_NEWS_SEARCH_URL = "https://news.google.com/rss/search"
GDELT_DOC_URL = "https://api.gdeltproject.org/api/v2/doc/doc"
MAX_QUERY_CHARS = 500
GDELT_MAX_RECORDS = 250
GDELT_DEFAULT_RECORDS = 75
GDELT_DEFAULT_TIMESPAN = "1d"


class SourceSpecError(ReaderError):
    """A source definition that cannot be used; the message names the problem."""


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What to fetch (`url`) and how to read it (`kind`, `select` for pages)."""

    kind: SourceKind
    url: str
    query: str | None = None
    select: str | None = None


def _check_query(query: str) -> str:
    cleaned = " ".join(query.split())
    if not cleaned:
        raise SourceSpecError(N_("the query is empty"))
    if len(cleaned) > MAX_QUERY_CHARS:
        raise SourceSpecError(N_("the query is longer than {n} characters"), n=MAX_QUERY_CHARS)
    return cleaned


def _check_http_url(url: str) -> str:
    cleaned = url.strip()
    parts = urlsplit(cleaned)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SourceSpecError(N_("not an http(s) URL: {url}"), url=repr(url))
    return cleaned


def google_news_url(query: str, *, language: str = "en-GB", region: str = "GB") -> str:
    """The Google News search RSS URL for `query`, e.g. hl=en-GB&gl=GB&ceid=GB:en.

    `ceid` takes the language without its region suffix (en-GB -> en, zh-Hant-TW -> zh-Hant).
    """
    region = region.strip().upper()
    language = language.strip()
    if not region.isalpha() or len(region) != 2:
        raise SourceSpecError(
            N_("region must be a two-letter country code, not {region}"), region=repr(region)
        )
    if not language or not all(part.isalnum() for part in language.split("-")):
        raise SourceSpecError(
            N_("language must look like en-GB, not {language}"), language=repr(language)
        )
    base_language = language
    if base_language.upper().endswith("-" + region):
        base_language = base_language[: -len(region) - 1]
    params = {"q": _check_query(query), "hl": language, "gl": region}
    return f"{GOOGLE_NEWS_SEARCH_URL}?{urlencode(params)}&ceid={region}:{base_language}"


def gdelt_url(
    query: str,
    *,
    max_records: int = GDELT_DEFAULT_RECORDS,
    timespan: str = GDELT_DEFAULT_TIMESPAN,
) -> str:
    """The GDELT DOC 2.0 API URL listing articles (ArtList, JSON, newest first) for `query`."""
    if not 1 <= max_records <= GDELT_MAX_RECORDS:
        raise SourceSpecError(N_("max_records must be between 1 and {n}"), n=GDELT_MAX_RECORDS)
    params = {
        "query": _check_query(query),
        "mode": "ArtList",
        "format": "json",
        "sort": "DateDesc",
        "maxrecords": str(max_records),
        "timespan": timespan,
    }
    return f"{GDELT_DOC_URL}?{urlencode(params)}"


def source_spec(
    *,
    url: str | None = None,
    google_news: str | None = None,
    gdelt: str | None = None,
    page: str | None = None,
    select: str | None = None,
    language: str = "en-GB",
    region: str = "GB",
) -> SourceSpec:
    """Build a SourceSpec from exactly one of `url`, `google_news`, `gdelt` or `page`."""
    choices = (("url", url), ("google_news", google_news), ("gdelt", gdelt), ("page", page))
    given = [name for name, value in choices if value]
    if len(given) != 1:
        raise SourceSpecError(N_("give exactly one of url, google_news, gdelt or page"))
    if select is not None and page is None:
        raise SourceSpecError(N_("select is only for page sources"))
    if url:
        return SourceSpec("feed", _check_http_url(url))
    if google_news:
        query = _check_query(google_news)
        return SourceSpec(
            "google_news", google_news_url(query, language=language, region=region), query=query
        )
    if gdelt:
        query = _check_query(gdelt)
        return SourceSpec("gdelt", gdelt_url(query), query=query)
    if not select or not select.strip():
        raise SourceSpecError(N_("a page source needs a CSS selector in select"))
    _check_selector(select.strip())
    return SourceSpec("page", _check_http_url(page or ""), select=select.strip())


def _check_selector(select: str) -> None:
    try:
        LexborHTMLParser("<p></p>").css(select)
    except SelectolaxError as exc:
        raise SourceSpecError(
            N_("not a valid CSS selector: {select}"), select=repr(select)
        ) from exc
