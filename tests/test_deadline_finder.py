"""Deadlines found in news prose: what counts, how dates resolve, moved dates, `try deadlines`."""

from __future__ import annotations

import io
import json
import re
from datetime import date, time
from pathlib import Path
from typing import Any

import pytest
import time_machine

from jobs.signals.deadline_finder import FoundDeadline, find_deadlines
from jobs.signals.try_cli import run_try_deadlines

DATA = Path(__file__).parent / "data" / "signals" / "deadline_sentences.jsonl"


def found(text: str, published: date) -> list[tuple[str, str, str]]:
    return [(f.date.isoformat(), f.kind, f.what) for f in find_deadlines(text, published=published)]


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        (
            "Britain has until 9 July to agree the UK–US trade deal.",
            date(2025, 6, 6),
            ("2025-07-09", "deadline", "UK–US trade deal"),
        ),
        (
            "The US and China extended the tariff truce by 90 days, to November 10.",
            date(2025, 8, 12),
            ("2025-11-10", "moved", "tariff truce"),
        ),
        (
            "Comments on the rule are due by 5 p.m. ET on August 12, 2025. Late ones are refused.",
            date(2025, 8, 1),
            ("2025-08-12", "deadline", "Comments on rule"),
        ),
        (
            "The tariff truce, which runs until August 12, covers chips.",
            date(2025, 6, 1),
            ("2025-08-12", "deadline", "tariff truce"),
        ),
    ],
)
def test_what_is_the_noun_phrase_the_date_belongs_to(
    text: str, published: date, expected: tuple[str, str, str]
) -> None:
    assert found(text, published) == [expected]
    [one] = find_deadlines(text, published=published)
    assert "p.m. ET" not in text or one.sentence.endswith("August 12, 2025.")


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        (
            "Britain and the US are racing to agree steel terms of their trade deal, "
            "with a deadline set for July 9.",
            date(2025, 6, 20),
            [("2025-07-09", "deadline", "trade deal deadline")],
        ),
        (
            "The truce expires on August 12.",
            date(2025, 6, 1),
            [("2025-08-12", "deadline", "truce")],
        ),
        (
            "New tariffs take effect from 1 August.",
            date(2025, 7, 8),
            [("2025-08-01", "deadline", "New tariffs")],
        ),
        (
            "Talks resume in Stockholm on July 28.",
            date(2025, 7, 23),
            [("2025-07-28", "deadline", "Talks")],
        ),
        (
            "The truce was extended to November 10.",
            date(2025, 8, 12),
            [("2025-11-10", "moved", "truce")],
        ),
        (
            "Trump delayed the deadline to August 1 from July 9.",
            date(2025, 7, 7),
            [("2025-08-01", "moved", "Trump delayed deadline")],
        ),
        (
            "New rates take effect on August 7 rather than August 1.",
            date(2025, 7, 31),
            [("2025-08-07", "moved", "New rates")],
        ),
    ],
)
def test_deadlines_and_moves_from_the_issue(
    text: str, published: date, expected: list[tuple[str, str, str]]
) -> None:
    assert found(text, published) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Talks were held on 12 May in Geneva.",
        "The agreement was signed on 8 May.",
        "The US agreed a 90-day pause on the higher tariffs.",
        "Japan will invest $9 billion in the United States.",
        "Exports fell 74% in May to 1,238 tonnes.",
        "Tariffs rose to 145% on Wednesday.",
        "Trump said on Tuesday the deal was done.",
        "The rule, which was due to come into force on 20 June, was rescinded.",
        "The 20% levy has applied since 4 March.",
        "Last Friday, Canada was told its rate would rise.",
    ],
)
def test_past_events_durations_and_figures_are_not_deadlines(text: str) -> None:
    assert find_deadlines(text, published=date(2025, 6, 18)) == []


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        ("Ministers meet next Tuesday.", date(2025, 6, 26), "2025-07-01"),
        ("Trade ministers meet in Brussels on Monday.", date(2025, 7, 13), "2025-07-14"),
        ("Companies must respond within 30 days.", date(2025, 6, 16), "2025-07-16"),
        ("The levy takes effect in 21 days.", date(2025, 8, 6), "2025-08-27"),
        (
            "Officials aim to finalise the text by the end of the month.",
            date(2025, 2, 3),
            "2025-02-28",
        ),
        ("Purchases are due by the end of the year.", date(2025, 11, 1), "2025-12-31"),
        ("The higher duties take effect on 1 January.", date(2025, 12, 19), "2026-01-01"),
        ("The suspension runs until 10 November 2026.", date(2025, 11, 12), "2026-11-10"),
    ],
)
def test_relative_and_yearless_dates_resolve_against_publication(
    text: str, published: date, expected: str
) -> None:
    with time_machine.travel("2031-03-03 12:00Z", tick=False):
        assert [f.date.isoformat() for f in find_deadlines(text, published=published)] == [expected]


def test_only_dates_strictly_after_publication_are_kept() -> None:
    text = "Tariffs take effect on 9 June. Talks resume on 10 June."
    assert found(text, date(2025, 6, 9)) == [("2025-06-10", "deadline", "Talks")]


def test_a_time_in_a_sentence_is_found_and_a_date_range_gives_its_first_day() -> None:
    (only,) = find_deadlines(
        "The pause expires at 12:01 am EDT on Tuesday, August 12.", published=date(2025, 8, 11)
    )
    assert only == FoundDeadline(
        date(2025, 8, 12),
        time(0, 1),
        "The pause expires at 12:01 am EDT on Tuesday, August 12.",
        "pause",
        "deadline",
    )
    summit = "G7 leaders meet in Kananaskis from 15 to 17 June. The SCO meets on 31 August and 1 September."
    assert [f.date.isoformat() for f in find_deadlines(summit, published=date(2025, 6, 1))] == [
        "2025-06-15",
        "2025-08-31",
    ]


def _labelled() -> list[dict[str, Any]]:
    with DATA.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_labelled_set_is_large_and_mostly_negative() -> None:
    rows = _labelled()
    dev = [r for r in rows if r.get("split", "dev") == "dev"]
    assert len(dev) >= 150
    assert sum(1 for r in rows if not r["expected"]) > len(rows) // 3


def test_labelled_set_meets_precision_and_recall_floors() -> None:
    tp = fp = fn = 0
    for row in _labelled():
        got = {
            (f.date.isoformat(), f.kind)
            for f in find_deadlines(
                str(row["text"]), published=date.fromisoformat(str(row["published"]))
            )
        }
        want = {(e["date"], e["kind"]) for e in row["expected"]}
        tp, fp, fn = tp + len(got & want), fp + len(got - want), fn + len(want - got)
    assert tp / (tp + fp) >= 0.95
    assert tp / (tp + fn) >= 0.85


def _phrase(text: str) -> str:
    text = re.sub(r"['’]s\b", "", text.lower())
    words = re.sub(r"[^\w%–-]+", " ", text).split()
    return " " + " ".join(w for w in words if w not in {"the", "a", "an", "its", "their"}) + " "


def test_labelled_set_names_the_thing_that_is_due(capsys: pytest.CaptureFixture[str]) -> None:
    """Each sentence with a deadline is labelled with the thing due on its first date; the
    finder's `what` must be it, or hold it ("steel tariff" in "higher 50% steel tariff")."""
    labelled = [r for r in _labelled() if r["expected"]]
    assert len(labelled) >= 95 and all("what" in r["expected"][0] for r in labelled)
    right = found_dates = 0
    for row in labelled:
        want = row["expected"][0]
        published = date.fromisoformat(str(row["published"]))
        same = [
            f
            for f in find_deadlines(str(row["text"]), published=published)
            if f.date.isoformat() == want["date"]
        ]
        if same:
            found_dates += 1
            right += _phrase(str(want["what"])) in _phrase(same[0].what)
    with capsys.disabled():
        print(
            f"\ndeadline thing exact or contained: {right}/{found_dates} = {right / found_dates:.3f}"
        )
    assert right / found_dates >= 0.80


def test_try_deadlines_prints_json_lines_with_kind_only_when_moved() -> None:
    text = "The truce expires on August 12.\nIt was extended to November 10.\n"
    out = io.StringIO()
    assert run_try_deadlines(io.StringIO(text), out, published=date(2025, 6, 1)) == 0
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [
        {
            "date": "2025-08-12",
            "sentence": "The truce expires on August 12.",
            "what": "truce",
        },
        {
            "date": "2025-11-10",
            "sentence": "It was extended to November 10.",
            "what": "It was extended",
            "kind": "moved",
        },
    ]


def test_try_deadlines_defaults_to_today_and_says_when_nothing_found() -> None:
    out = io.StringIO()
    with time_machine.travel("2025-07-01 09:00Z", tick=False):
        assert run_try_deadlines(io.StringIO("Talks resume on 10 July."), out, published=None) == 0
        assert json.loads(out.getvalue())["date"] == "2025-07-10"
        empty = io.StringIO()
        assert (
            run_try_deadlines(io.StringIO("Talks resumed on 1 June."), empty, published=None) == 1
        )
        assert empty.getvalue() == ""


def test_try_deadlines_rejects_undecodable_input_without_a_traceback() -> None:
    raw = io.TextIOWrapper(io.BytesIO(b"fine line\n\xff\xfe broken\n"), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run_try_deadlines(raw, out, published=date(2025, 6, 1), err=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue() == "error: line 2: not valid UTF-8 text\n"
