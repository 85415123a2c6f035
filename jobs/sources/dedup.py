"""Identity of news items: one stable key per story, whatever order or pubDate a feed gives it."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jobs.sources.parse import ParsedItem

# Query parameters that only say where a click came from; they never change the article.
TRACKING_PARAMS = frozenset(
    {
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ocid",
        "cmpid",
        "cmp",
        "smid",
        "_ga",
        "_gl",
        "ref_src",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_")
DEFAULT_PORTS = {"http": 80, "https": 443}
# Keys longer than this are hashed so that they fit an indexed column.
MAX_KEY_CHARS = 200
_NON_WORD = re.compile(r"[\W_]+")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL an article is known by: lowercase scheme and host, no default port, no fragment,
    no tracking parameters, the remaining parameters sorted; path case is kept."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    )
    path = parts.path or ("/" if netloc else "")
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def _looks_like_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def normalize_text(text: str) -> str:
    """Casefolded words joined by single spaces, accents and punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped.casefold()).strip()


def _bounded(prefix: str, value: str) -> str:
    if len(prefix) + len(value) <= MAX_KEY_CHARS:
        return prefix + value
    return prefix + "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def item_key(item: ParsedItem) -> str:
    """A stable identity for `item`, independent of its pubDate and position in the feed.

    A GUID that is a URL is canonicalized like a link (so the BBC's `…#0` GUIDs and
    tracking-tagged links name the same story); an opaque GUID is used as is; without a GUID
    the canonical link is used; without either, a hash of the normalized title and summary.
    """
    guid = (item.guid or "").strip()
    if guid and _looks_like_url(guid):
        return _bounded("url:", canonical_url(guid))
    if guid:
        return _bounded("guid:", guid)
    link = (item.link or "").strip()
    if link:
        return _bounded("url:", canonical_url(link))
    content = normalize_text(item.title) + "\n" + normalize_text(item.summary)
    return "text:" + hashlib.sha256(content.encode("utf-8")).hexdigest()
