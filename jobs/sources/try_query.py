"""The logic behind `herald try query '<query>' '<text>'`: test a topic query on a sample item.

The text is read as an item: an optional first line holding only a URL (http:// or https://)
becomes the item's URL, the next line its title, and any further lines its summary.
"""

from __future__ import annotations

import json
import re
from typing import TextIO

from bot.domain.query import QuerySyntaxError, parse_query
from jobs.sources.match import Document, explain_query, match_query

EXIT_MATCH = 0
EXIT_NO_MATCH = 1
EXIT_INVALID_QUERY = 2

_URL_LINE_RE = re.compile(r"https?://\S+", re.IGNORECASE)


def document_from_text(text: str, url: str = "") -> Document:
    """Build an item from free text; an explicit `url` wins over a URL on the first line."""
    lines = text.strip().splitlines()
    if lines and _URL_LINE_RE.fullmatch(lines[0].strip()):
        first = lines.pop(0).strip()
        url = url or first
    title = lines[0].strip() if lines else ""
    summary = "\n".join(line.strip() for line in lines[1:]).strip()
    return Document(title=title, summary=summary, url=url)


def _caret_lines(query: str, position: int) -> str:
    # Tabs and newlines would shift the caret, so show every whitespace as one space.
    shown = "".join(" " if ch.isspace() else ch for ch in query)
    return f"  {shown}\n  {' ' * position}^"


def _terms(terms: list[str]) -> str:
    return ", ".join(terms) if terms else "(none)"


def run_try_query(query: str, text: str, *, as_json: bool, out: TextIO, url: str = "") -> int:
    """Print whether `query` matches `text`; return 0 on a match, 1 on none, 2 if invalid."""
    try:
        parsed = parse_query(query)
    except QuerySyntaxError as exc:
        if as_json:
            error = {"match": False, "error": exc.message, "position": exc.position, "query": query}
            out.write(json.dumps(error, ensure_ascii=False) + "\n")
        else:
            out.write(f"invalid query: {exc.message}\n{_caret_lines(query, exc.position)}\n")
        return EXIT_INVALID_QUERY
    doc = document_from_text(text, url)
    matched = match_query(parsed, doc)
    found, excluded = explain_query(parsed, doc)
    if as_json:
        result = {"match": matched, "matched": found, "query": query}
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        out.write(f"{'match' if matched else 'no match'}\nmatched: {_terms(found)}\n")
        if excluded:
            out.write(f"excluded but found: {_terms(excluded)}\n")
    return EXIT_MATCH if matched else EXIT_NO_MATCH
