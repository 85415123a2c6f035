"""Rebuild stories_eval.jsonl: every headline of the real captured feeds in tests/data/samples,
labelled by story, plus the written headlines of written_stories.jsonl.

    .venv/bin/python tests/data/signals/build_stories_eval.py

Labels (which event a headline reports) are the table below; the first Google News item's
description lists the headlines Google itself grouped with it, which are taken as rows too (no
time of their own: the item's). A story is one event told by several outlets: a report that
something is expected, the thing happening, reactions to it, timelines and opinion pieces are
different stories, and so are two updates of a wildfire two days apart.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

from jobs.sources.parse import plain_text

HERE = Path(__file__).parent
SAMPLES = HERE.parent / "samples"
OUT = HERE / "stories_eval.jsonl"
WRITTEN = HERE / "written_stories.jsonl"

SHRUNK = (
    "0 1 2 3 4 5 7 9 10 11 13 14 15 16 19 20 22 23 26 27 28 29 30 33 34 35 37 41 43 44 45 46 "
    "47 48 49 50 51 52 54 55 56 57 58 59 60 61 62 63 64 65 67 68 70 71 75"
)
EXPECTED_REPORTED = "17 25 39 40 42 53 66 74 78 85"  # 10-11 July: "as soon as Monday"
EXPECTED_TODAY = "6 12 31 72 77"  # 13 July, hours before the order: "expected today"
BEARS_EARS = {
    "monuments-shrunk": SHRUNK,
    "monuments-shrink-reported": EXPECTED_REPORTED,
    "monuments-shrink-expected-today": EXPECTED_TODAY,
    "court-revives-monument-suit": "76 79 80 81 82 84 86 90 91",
    "babylon-fire-spreads": "87 88 89",
    "babylon-fire-past-70000-acres": "83",
    "utah-applauds-cut": "18",
    "order-prompts-opposition": "24",
    "locals-react-to-cut": "32 69",
    "timeline-kutv": "8 36 73",
    "timeline-native-news": "38",
    "opinion-fight-wont-stop": "21",
}
GUARDIAN = {"state-of-the-union-address": "0 27 29", "stormy-daniels-kimmel": "28 32"}
BBC = {"xi-state-dinner": "0 1"}
FILES: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("google-news-search.rss.xml", "bears", BEARS_EARS),
    ("google-news-search-en-GB-trimmed.rss.xml", "oil", {}),
    ("bbc-world.rss.xml", "bbc", BBC),
    ("guardian-us.rss.xml", "guardian", GUARDIAN),
)


def _stories(table: dict[str, str]) -> dict[int, str]:
    return {int(n): story for story, numbers in table.items() for n in numbers.split()}


def rows() -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for name, prefix, table in FILES:
        feed = feedparser.parse(str(SAMPLES / name))
        labels = _stories(table)
        for index, entry in enumerate(feed.entries):
            year, month, day, hour, minute, second = entry.published_parsed[:6]
            published = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            source = (entry.get("source") or {}).get("title") or feed.feed.get("title", name)
            google = "news.google.com" in entry.get("link", "")
            summary = "" if google else plain_text(entry.get("summary"), 400)
            story = labels.get(index, f"{prefix}-{index}")
            out.append(
                _row(
                    f"{prefix}-{index}",
                    story,
                    source,
                    published,
                    entry.title,
                    summary,
                    f"{name}#{index}",
                )
            )
            seen.add((entry.title.rpartition(" - ")[0] or entry.title, source))
            for n, (title, outlet) in enumerate(_grouped(entry.get("description", ""))[1:], 1):
                if (title, outlet) in seen:
                    continue
                seen.add((title, outlet))
                when = published - timedelta(minutes=n)
                out.append(
                    _row(
                        f"{prefix}-{index}-g{n}",
                        story,
                        outlet,
                        when,
                        title,
                        "",
                        f"{name}#{index} grouped {n}",
                    )
                )
    return out


def _grouped(description: str) -> list[tuple[str, str]]:
    """(headline, outlet) of each article Google grouped in an item's description."""
    found = []
    for li in re.findall(r"<li>(.*?)</li>", description, re.S):
        title = re.search(r"<a [^>]*>(.*?)</a>", li, re.S)
        outlet = re.search(r"<font [^>]*>(.*?)</font>", li, re.S)
        if title and outlet:
            found.append((html.unescape(title.group(1)), html.unescape(outlet.group(1))))
    return found


def _row(
    id_: str, story: str, source: str, published: datetime, title: str, summary: str, origin: str
) -> dict[str, str]:
    return {
        "id": id_,
        "story": story,
        "source": source,
        "published": published.isoformat().replace("+00:00", "Z"),
        "title": title,
        "summary": summary,
        "origin": origin,
    }


def main() -> None:
    written = [json.loads(line) for line in WRITTEN.read_text("utf-8").splitlines() if line]
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows() + written:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
