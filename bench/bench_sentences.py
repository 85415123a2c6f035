"""Sentence splitting for the deadline finder: the regex it used, pysbd and syntok, compared.

Run from the repository root: `.venv/bin/python -m bench.bench_sentences`. The labelled
sentences of tests/data/signals/deadline_sentences.jsonl are joined, in file order, into
paragraphs of four (as an item's summary joins sentences); a splitter scores a boundary when
it splits exactly where two labelled sentences meet, and loses one for every other split.
Speed is sentences per second over all paragraphs, repeated. Writes its section of
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pysbd
from syntok import segmenter

from bench._report import write_section
from jobs.signals.deadline_finder import split_sentences

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ROOT / "tests" / "data" / "signals" / "deadline_sentences.jsonl"
COMMAND = ".venv/bin/python -m bench.bench_sentences"
PER_PARAGRAPH = 4
SPEED_ROUNDS = 20
# The splitter the deadline finder used before: a stop, then a capital.
OLD_SPLIT_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“‘'(])|\n+")
# Written cases the labelled set lacks: abbreviations followed by a capital.
HARD = [
    ["The filing is due by 5 p.m. ET on August 12, 2025.", "Late filings are refused."],
    ["The U.S. and China extended the tariff truce by 90 days.", "Markets rose."],
    ["Talks resume on Sept. 3 in Geneva.", "Officials from the U.K. and the E.U. will attend."],
    ["Comments close at 11:59 p.m. EDT on Friday.", "The rule takes effect in January."],
]

Splitter = Callable[[str], list[str]]


def _old(text: str) -> list[str]:
    return [s.strip() for s in OLD_SPLIT_RE.split(text) if s.strip()]


_PYSBD = pysbd.Segmenter(language="en", clean=False)


def _pysbd(text: str) -> list[str]:
    return [s.strip() for s in _PYSBD.segment(text) if s.strip()]


def _syntok(text: str) -> list[str]:
    out = []
    for paragraph in segmenter.analyze(text):
        for tokens in paragraph:
            out.append(text[tokens[0].offset : tokens[-1].offset + len(tokens[-1].value)])
    return out


SPLITTERS: dict[str, Splitter] = {
    "regex (before)": _old,
    "pysbd 0.3.4": _pysbd,
    "syntok 1.4.4 alone": _syntok,
    "syntok where a stop may be an abbreviation (kept)": split_sentences,
}


def paragraphs() -> list[list[str]]:
    rows = [json.loads(line) for line in SENTENCES.read_text("utf-8").splitlines() if line]
    texts = [str(r["text"]).strip() for r in rows]
    groups = [texts[i : i + PER_PARAGRAPH] for i in range(0, len(texts), PER_PARAGRAPH)]
    return groups + HARD


def boundaries(sentences: Sequence[str]) -> set[int]:
    """Character offsets, in the joined text, where each sentence after the first starts."""
    out, at = set(), 0
    for sentence in sentences[:-1]:
        at += len(sentence) + 1
        out.add(at)
    return out


def found_boundaries(text: str, parts: Sequence[str]) -> set[int]:
    out, at = set(), 0
    for part in parts:
        start = text.find(part, at)
        if start > 0:
            out.add(start)
        at = max(at, start + len(part))
    return out


def score(splitter: Splitter, groups: list[list[str]]) -> tuple[int, int, int, float]:
    tp = fp = fn = 0
    for group in groups:
        text = " ".join(group)
        want, got = boundaries(group), found_boundaries(text, splitter(text))
        tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
    texts = [" ".join(g) for g in groups]
    began = time.perf_counter()
    for _ in range(SPEED_ROUNDS):
        for text in texts:
            splitter(text)
    elapsed = time.perf_counter() - began
    sentences = sum(len(g) for g in groups) * SPEED_ROUNDS
    return tp, fp, fn, sentences / elapsed


def main(argv: Sequence[str]) -> None:
    groups = paragraphs()
    lines = [
        f"{sum(len(g) for g in groups)} sentences in {len(groups)} paragraphs: the labelled "
        f"sentences of `tests/data/signals/deadline_sentences.jsonl` joined {PER_PARAGRAPH} at "
        f"a time, and {len(HARD)} written pairs with abbreviations before a capital "
        '("5 p.m. ET", "U.S. and", "Sept. 3", "U.K.").',
        "",
        "| splitter | boundaries found | wrong splits | missed | precision | recall "
        "| sentences/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, splitter in SPLITTERS.items():
        tp, fp, fn, rate = score(splitter, groups)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        lines.append(
            f"| {name} | {tp} | {fp} | {fn} | {precision:.3f} | {recall:.3f} | {rate:,.0f} |"
        )
    lines += [
        "",
        "The machine is shared with other work, so rates vary between runs.",
    ]
    body = "\n".join(lines)
    write_section("sentences", "Sentence splitting for deadline finding", COMMAND, body)
    print(body)


if __name__ == "__main__":
    main(sys.argv[1:])
