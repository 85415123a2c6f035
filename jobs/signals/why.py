"""Why an item matched a topic: where the query's wanted terms stand in its title or summary.

The matcher decides on normalized tokens (case and accents folded, plurals folded, "U.S." read
as "us"); this finds the same words again in the text as written, so an alert can show them in
bold. It returns character spans, never markup: the renderer escapes the text around them.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.domain.query import (
    Phrase,
    QuerySyntaxError,
    Site,
    Term,
    fold_plural,
    leaves,
    parse_query,
    plural_forms,
)

EXCERPT_CHARS = 160
MAX_MARKS = 12

Span = tuple[int, int]
Patterns = tuple[tuple[str, re.Pattern[str]], ...]


def _word_pattern(word: str) -> str:
    """Every written form of one normalized query word: its plurals, and "U.S." for "us"."""
    forms = set(plural_forms(word) or [word]) | {word}
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    forms |= {f + "s" for f in list(forms) if fold_plural(f + "s") == word}
    patterns = sorted((re.escape(f) for f in forms), key=len, reverse=True)
    if word.isalpha() and 2 <= len(word) <= 4:  # an acronym may be written dotted
        patterns.append(r"\.?".join(re.escape(c) for c in word) + r"\.?")
    # The apostrophe is dropped by the tokenizer ("China's" is read as "chinas" -> "china").
    return "(?:" + "|".join(patterns) + ")(?:['’]s)?"


@lru_cache(maxsize=512)
def _query_patterns(query: str) -> Patterns:
    """(label, pattern) for each wanted (not excluded) word or phrase of the query."""
    try:
        parsed = parse_query(query)
    except QuerySyntaxError:
        return ()
    found: list[tuple[str, re.Pattern[str]]] = []
    for leaf, negated in leaves(parsed.root):
        if negated or isinstance(leaf, Site):
            continue
        if isinstance(leaf, Term):
            body = _word_pattern(leaf.word)
        else:
            assert isinstance(leaf, Phrase)
            body = r"[\W_]+".join(_word_pattern(w) for w in leaf.words)
        pattern = re.compile(r"(?<![^\W_])" + body + r"(?![^\W_])", re.IGNORECASE)
        found.append((leaf.label or leaf_text(leaf), pattern))
    return tuple(found)


def leaf_text(leaf: Term | Phrase) -> str:
    return leaf.word if isinstance(leaf, Term) else " ".join(leaf.words)


def _spans(patterns: Patterns, text: str) -> tuple[list[Span], list[str]]:
    spans: list[Span] = []
    labels: list[str] = []
    for label, pattern in patterns:
        hits = [m.span() for m in pattern.finditer(text) if m.end() > m.start()]
        if hits:
            spans += hits
            labels.append(label)
    return _merged(spans), labels


def _merged(spans: list[Span]) -> list[Span]:
    """Overlapping or touching spans as one, in order."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged[:MAX_MARKS]


def _excerpt(text: str, spans: list[Span]) -> tuple[str, list[Span]]:
    """About EXCERPT_CHARS of `text` around its first span, cut at spaces, with "…"."""
    if len(text) <= EXCERPT_CHARS:
        return text, spans
    first = spans[0][0]
    start = max(0, first - EXCERPT_CHARS // 3)
    if start:
        space = text.find(" ", start, first)
        start = space + 1 if space != -1 else start
    end = min(len(text), start + EXCERPT_CHARS)
    if end < len(text):
        space = text.rfind(" ", max(start, spans[0][1]), end)
        end = space if space != -1 else end
    prefix = "…" if start else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - start
    kept = [(s + shift, e + shift) for s, e in spans if s >= start and e <= end]
    return prefix + text[start:end].rstrip() + suffix, kept


def why_matched(query: str, title: str, summary: str = "") -> dict[str, object] | None:
    """The wanted terms of `query` found in the item, and where to show them.

    {"terms": labels as the user wrote them, "field": "title" or "summary", "text": the title
    or an excerpt of the summary, "marks": [[start, end], ...] in `text`}; None when no wanted
    term shows in the text as written (a site: query, or a match through accents).
    """
    patterns = _query_patterns(query)
    if not patterns:
        return None
    title_spans, title_terms = _spans(patterns, title)
    summary_spans, summary_terms = _spans(patterns, summary) if summary else ([], [])
    terms = title_terms + [t for t in summary_terms if t not in title_terms]
    if title_spans:
        text, spans, where = title, title_spans, "title"
    elif summary_spans:
        text, spans = _excerpt(summary, summary_spans)
        where = "summary"
    else:
        return None
    return {"terms": terms, "field": where, "text": text, "marks": [list(s) for s in spans]}
