"""The logic behind `herald try deadlines` and `herald try stories`, on the bot's code paths.

`try deadlines` reads prose and prints one JSON line per deadline found in it. `try stories`
reads one JSON item per line and prints `{"id", "story"}` lines; items of one story share
`story`. Exit codes: 0 something found (or every item placed), 1 no deadline found, 2 bad input
(a message naming the line goes to stderr and nothing is printed).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any, TextIO

from jobs.signals.deadline_finder import find_deadlines
from jobs.signals.stories import NewsItem, StoryClusterer

EXIT_OK = 0
EXIT_NOTHING_FOUND = 1
EXIT_BAD_INPUT = 2
MAX_INPUT_CHARS = 5_000_000
MAX_LINE_CHARS = 100_000
ITEM_TEXT_FIELDS = ("id", "title", "source")


class BadInput(Exception):
    """A line of input that cannot be used; the message names the line."""


def run_try_deadlines(
    stdin: TextIO, out: TextIO, *, published: date | None, err: TextIO | None = None
) -> int:
    """Print each deadline found in the text on `stdin`, resolved against `published`."""
    try:
        text = "".join(_lines(stdin))
    except BadInput as exc:
        return _fail(exc, err)
    on = published or datetime.now(UTC).date()
    found = find_deadlines(text, published=on)
    for deadline in found:
        row = {"date": deadline.date.isoformat(), "sentence": deadline.sentence}
        row["what"] = deadline.what
        if deadline.kind == "moved":
            row["kind"] = "moved"
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return EXIT_OK if found else EXIT_NOTHING_FOUND


def run_try_stories(stdin: TextIO, out: TextIO, *, err: TextIO | None = None) -> int:
    """Cluster the JSON items on `stdin` into stories and print each item's story."""
    try:
        items = [_parse_item(n, line) for n, line in enumerate(_lines(stdin), 1) if line.strip()]
    except BadInput as exc:
        return _fail(exc, err)
    clusterer = StoryClusterer()
    story_of: dict[int, str] = {}
    # The clusterer is online and expects publication order; the output keeps input order.
    for index in sorted(range(len(items)), key=lambda i: items[i].published):
        story_of[index] = clusterer.add(items[index]).story_id
    for index, item in enumerate(items):
        row = {"id": item.id, "story": story_of[index]}
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return EXIT_OK


def _lines(stdin: TextIO) -> list[str]:
    lines: list[str] = []
    total = 0
    for line in _decoded(stdin):
        total += len(line)
        if len(line) > MAX_LINE_CHARS or total > MAX_INPUT_CHARS:
            raise BadInput(
                f"line {len(lines) + 1}: input too long (at most {MAX_LINE_CHARS} characters"
                f" a line and {MAX_INPUT_CHARS} in all)"
            )
        lines.append(line)
    if lines:
        lines[0] = lines[0].removeprefix("\ufeff")
    return lines


def _decoded(stdin: TextIO) -> Iterator[str]:
    # Decode line by line from the bytes when there are any, so an error names its line.
    raw = getattr(stdin, "buffer", None)
    if raw is None:
        yield from stdin
        return
    for number, line in enumerate(raw, 1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput(f"line {number}: not valid UTF-8 text") from None


def _parse_item(number: int, line: str) -> NewsItem:
    try:
        data: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise BadInput(f"line {number}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise BadInput(f"line {number}: expected a JSON object with id, title, source, published")
    for name in (*ITEM_TEXT_FIELDS, "published"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            raise BadInput(f'line {number}: "{name}" must be a non-empty string')
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        raise BadInput(f'line {number}: "summary" must be a string')
    try:
        published = datetime.fromisoformat(data["published"])
    except ValueError:
        raise BadInput(
            f'line {number}: "published" must be an ISO 8601 date-time like 2025-06-09T08:05:00Z'
        ) from None
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return NewsItem(data["id"], data["title"], data["source"], published, summary)


def _fail(exc: BadInput, err: TextIO | None) -> int:
    (err or sys.stderr).write(f"error: {exc}\n")
    return EXIT_BAD_INPUT
