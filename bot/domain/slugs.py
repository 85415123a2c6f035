"""Readable ids (slugs) for deadlines and topics: ASCII words joined by dashes, kept unique."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable


def slug_words(text: str) -> list[str]:
    """'UK–US trade deal!' -> ['uk', 'us', 'trade', 'deal']: lower-case ASCII words."""
    spaced = re.sub(r"[\W_]+", " ", text)  # dashes of every kind separate words
    ascii_text = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return re.findall(r"[a-z0-9]+", ascii_text.lower())


def slugify(words: Iterable[str], *, max_chars: int, fallback: str) -> str:
    """The words joined by dashes, cut at `max_chars` (never ending in a dash), or `fallback`."""
    return "-".join(words)[:max_chars].strip("-") or fallback


def first_free(base: str, taken: Collection[str]) -> str:
    """`base`, or `base-2`, `base-3`… whichever is first not `taken`."""
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
