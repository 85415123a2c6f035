"""Quality of story clustering and deadline finding on the labelled sets, and clustering speed.

Run from the repository root: `.venv/bin/python -m bench.bench_stories` (add `--quick` for a
20,000-item throughput run, `--quality` to rewrite docs/quality.md only). It rewrites the
signal sections of docs/quality.md (the test quality section after them is kept as written)
and its own section of docs/benchmarks.md. Labelled rows marked `"split": "holdout"` were written after the code and
never used to adjust it; their figures are reported apart from the development rows.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench._report import write_section
from jobs.signals.deadline_finder import find_deadlines
from jobs.signals.stories import ItemFeatures, NewsItem, StoryClusterer

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "signals"
QUALITY_MD = ROOT / "docs" / "quality.md"
COMMAND = ".venv/bin/python -m bench.bench_stories"
SYNTHETIC_ITEMS = 100_000
QUICK_ITEMS = 20_000
NAIVE_SUBSETS = (500, 1_000, 2_000)
WINDOW_H = 48.0
SEED = 20250609
SPLITS = ("dev", "holdout", "all")


@dataclass(frozen=True)
class Score:
    """Precision and recall from true-positive, false-positive and false-negative counts."""

    tp: int
    fp: int
    fn: int
    misses: tuple[str, ...] = ()

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load_jsonl(name: str, split: str = "all") -> list[dict[str, object]]:
    """Rows of a labelled file; split "dev" or "holdout" keeps only that part."""
    with (DATA / name).open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    if split == "all":
        return rows
    return [r for r in rows if r.get("split", "dev") == split]


def score_deadlines(rows: Iterable[dict[str, object]]) -> Score:
    """Compare (date, kind) pairs found per sentence with the expected ones."""
    tp = fp = fn = 0
    misses: list[str] = []
    for row in rows:
        published = date.fromisoformat(str(row["published"]))
        found = find_deadlines(str(row["text"]), published=published)
        got = {(f.date.isoformat(), f.kind) for f in found}
        expected = {(str(e["date"]), str(e["kind"])) for e in row["expected"]}  # type: ignore[attr-defined]
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
        for label, pairs in (("extra", got - expected), ("missed", expected - got)):
            for day, kind in sorted(pairs):
                misses.append(f"{label} {day} ({kind}), published {published}: {row['text']}")
    return Score(tp, fp, fn, tuple(misses))


def score_things(rows: Iterable[dict[str, object]]) -> tuple[int, int, list[str]]:
    """Sentences whose labelled thing the finder names (exactly, or inside a longer phrase),
    among those whose first labelled date it finds; and the misses."""
    right = total = 0
    misses: list[str] = []
    for row in rows:
        expected = row["expected"]
        if not expected:
            continue
        want = expected[0]  # type: ignore[index]
        published = date.fromisoformat(str(row["published"]))
        same = [
            f
            for f in find_deadlines(str(row["text"]), published=published)
            if f.date.isoformat() == want["date"]
        ]
        if not same:
            continue
        total += 1
        if _phrase(str(want["what"])) in _phrase(same[0].what):
            right += 1
        else:
            misses.append(f"“{same[0].what}” for “{want['what']}”: {row['text']}")
    return right, total, misses


def _phrase(text: str) -> str:
    text = re.sub(r"['’]s\b", "", text.lower())
    words = re.sub(r"[^\w%–-]+", " ", text).split()
    return " " + " ".join(w for w in words if w not in {"the", "a", "an", "its", "their"}) + " "


def item_of(row: dict[str, object]) -> NewsItem:
    """The NewsItem for one labelled headline row."""
    published = datetime.fromisoformat(str(row["published"]).replace("Z", "+00:00"))
    return NewsItem(
        str(row["id"]), str(row["title"]), str(row["source"]), published, str(row["summary"])
    )


def cluster(rows: Sequence[dict[str, object]], clusterer: StoryClusterer) -> dict[str, str]:
    """Story id per item id, adding items in publication order."""
    ordered = sorted(rows, key=lambda r: str(r["published"]))
    stories: dict[str, str] = {}
    for row in ordered:
        stories[str(row["id"])] = clusterer.add(item_of(row)).story_id
        stories = {k: clusterer.story_of(v) for k, v in stories.items()}  # stories joined later
    return stories


def score_stories(rows: Sequence[dict[str, object]]) -> Score:
    """Pairwise precision/recall: a pair counts when both items are put in one story."""
    predicted = cluster(rows, StoryClusterer(window_h=WINDOW_H))
    gold = {str(r["id"]): str(r["story"]) for r in rows}
    titles = {str(r["id"]): str(r["title"]) for r in rows}
    tp = fp = fn = 0
    misses: list[str] = []
    for a, b in itertools.combinations(sorted(gold), 2):
        same_gold, same_pred = gold[a] == gold[b], predicted[a] == predicted[b]
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
        if same_gold != same_pred:
            label = "merged" if same_pred else "split"
            misses.append(f"{label}: {a} “{titles[a]}” / {b} “{titles[b]}”")
    return Score(tp, fp, fn, tuple(misses))


def misses_by_story(rows: Sequence[dict[str, object]]) -> list[str]:
    """Pairs wrongly split or joined, counted by the gold stories involved."""
    predicted = cluster(rows, StoryClusterer(window_h=WINDOW_H))
    gold = {str(r["id"]): str(r["story"]) for r in rows}
    counts: dict[tuple[str, str, str], int] = {}
    for a, b in itertools.combinations(sorted(gold), 2):
        same_gold, same_pred = gold[a] == gold[b], predicted[a] == predicted[b]
        if same_gold != same_pred:
            key = (
                ("split", gold[a], gold[b])
                if same_gold
                else ("joined", *sorted((gold[a], gold[b])))
            )
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    return [
        f"- {kind} {n} pairs: {a}" + ("" if kind == "split" else f" + {b}")
        for (kind, a, b), n in ranked
    ]


def synthetic_items(n: int, seed: int = SEED) -> list[NewsItem]:
    """`n` items in 48 h: stories of 1–6 items sharing key words, plus common filler words."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    vocab = sorted({"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(30_000)})
    common = vocab[:300]
    items: list[NewsItem] = []
    start = datetime(2025, 6, 9, tzinfo=UTC)
    story = 0
    while len(items) < n:
        story += 1
        keys = rng.sample(vocab, 6)
        number = str(rng.randint(2, 400))
        at = start + timedelta(seconds=rng.uniform(0, WINDOW_H * 3600 - 7200))
        for k in range(min(rng.randint(1, 6), n - len(items))):
            title = [*rng.sample(keys, 3), *rng.sample(common, 3), number]
            summary = [*rng.sample(keys, 3), *rng.sample(common, 5)]
            published = at + timedelta(seconds=rng.uniform(0, 7200))
            items.append(
                NewsItem(
                    f"s{story}-{k}", " ".join(title), f"outlet{k}", published, " ".join(summary)
                )
            )
    items.sort(key=lambda i: i.published)
    return items


class AllPairsClusterer(StoryClusterer):
    """The naive baseline: the same scoring, but every item in the window is a candidate."""

    def _candidates(self, features: ItemFeatures) -> list[int]:
        return list(self._w.entries)


def throughput(clusterer: StoryClusterer, items: Sequence[NewsItem]) -> tuple[float, list[str]]:
    """Items per second and the story of each item."""
    began = time.perf_counter()
    stories = [clusterer.add(item).story_id for item in items]
    return len(items) / (time.perf_counter() - began), stories


def pair_agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """Share of the same-story pairs of `b` that `a` also puts together (recall of a vs b)."""
    groups: dict[str, list[int]] = {}
    for index, story in enumerate(b):
        groups.setdefault(story, []).append(index)
    pairs = [(i, j) for members in groups.values() for i, j in itertools.combinations(members, 2)]
    if not pairs:
        return 1.0
    return sum(a[i] == a[j] for i, j in pairs) / len(pairs)


def speed_section(total: int) -> str:
    """Markdown table: indexed vs all-pairs on growing subsets, then indexed on `total` items."""
    items = synthetic_items(total)
    lines = [
        f"Synthetic items, all published within one {WINDOW_H:.0f} h window (seed {SEED}).",
        "",
        "| items | indexed items/s | all-pairs items/s | same-story pairs kept by the index |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for size in NAIVE_SUBSETS:
        fast, fast_stories = throughput(StoryClusterer(window_h=WINDOW_H), items[:size])
        slow, slow_stories = throughput(AllPairsClusterer(window_h=WINDOW_H), items[:size])
        agreement = pair_agreement(fast_stories, slow_stories)
        lines.append(f"| {size:,} | {fast:,.0f} | {slow:,.0f} | {agreement:.1%} |")
    fast, stories = throughput(StoryClusterer(window_h=WINDOW_H), items)
    lines.append(f"| {total:,} | {fast:,.0f} | (not run: quadratic) | – |")
    truth = [i.id.split("-")[0] for i in items]
    precision, recall = pair_agreement(truth, stories), pair_agreement(stories, truth)
    lines += [
        "",
        f"On the {total:,}-item run, against the generated stories: pairwise precision "
        f"{precision:.3f}, recall {recall:.3f}. The all-pairs rate falls as the window fills "
        "(its total cost is quadratic); the indexed rate is held up by a fixed candidate budget "
        "per item. The machine is shared with other work, so rates vary between runs.",
    ]
    return "\n".join(lines)


def _score_rows(title: str, scores: dict[str, Score]) -> list[str]:
    lines = [
        f"| {title} | precision | recall | TP | FP | FN |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for split, s in scores.items():
        lines.append(f"| {split} | {s.precision:.3f} | {s.recall:.3f} | {s.tp} | {s.fp} | {s.fn} |")
    return lines


def quality_markdown() -> str:
    """docs/quality.md: figures per split, then every miss."""
    deadline_scores = {
        s: score_deadlines(load_jsonl("deadline_sentences.jsonl", s)) for s in SPLITS
    }
    story_scores = {s: score_stories(load_jsonl("headlines.jsonl", s)) for s in SPLITS}
    evaluation = load_jsonl("stories_eval.jsonl")
    real = [r for r in evaluation if not str(r["origin"]).startswith("written")]
    written = [r for r in evaluation if str(r["origin"]).startswith("written")]
    eval_scores = {
        "real headlines": score_stories(real),
        "written (names shared, events differ)": score_stories(written),
        "all": score_stories(evaluation),
    }
    sentences = load_jsonl("deadline_sentences.jsonl")
    things = score_things(sentences)
    headlines = load_jsonl("headlines.jsonl")
    out = [
        "# Signal quality",
        "",
        f"Written by `{COMMAND}` (up to the test quality section); do not edit by hand. Sets: "
        f"`tests/data/signals/deadline_sentences.jsonl` ({len(sentences)} sentences) and "
        f"`tests/data/signals/headlines.jsonl` ({len(headlines)} headlines, "
        f"{len({str(h['story']) for h in headlines})} stories).",
        "",
        "*dev* rows were written before the code and used while building it, so their figures are",
        "optimistic; *holdout* rows were written after the code and never used to change it.",
        "One rule was added after the holdout rows were written, because of false positives on",
        "real captured feeds (a bare weekday in a past-tense sentence is past); it costs one",
        'holdout deadline ("on Friday has led", listed below). The holdout sets are small.',
        "The last 20 holdout sentences are held out for dates only: their labelled things were",
        "used to extend how `what` is read (see below).",
        "Floors (asserted by the tests on every row): stories precision ≥ 0.95 and recall ≥ 0.90",
        "over same-story pairs; deadlines precision ≥ 0.95 and recall ≥ 0.85 over (date, kind);",
        "the thing due named right in ≥ 0.80 of the found deadlines.",
        "",
        "## Deadlines found in text",
        "",
        *_score_rows("deadlines", deadline_scores),
        "",
        "### Misses",
        "",
        *(f"- {m}" for m in deadline_scores["all"].misses or ("none",)),
        "",
        "### The thing that is due",
        "",
        "Each sentence with a deadline is labelled with the thing due on its first date (labels",
        "written after a first subject-only reading, before the rules that read an object",
        '("will face a 50% tariff") were then built on this same set, so this is a development',
        "figure). Twenty more sentences (the last rows) were written after those rules: the",
        'finder named 11 of their 20 things; phrases attached by on/to/for ("tariffs on Chinese',
        'cars"), "gave X until … to" and a preposition after the verb were then added, after',
        "which it named 18 of 20, so no figure here is held out. Counted right when the finder's",
        "`what` is the label or holds it.",
        "",
        f"Right: {things[0]} of {things[1]} ({things[0] / things[1]:.3f}); floor 0.80.",
        "",
        *(f"- {m}" for m in things[2] or ("none",)),
        "",
        "## Stories",
        "",
        *_score_rows("stories (pairs)", story_scores),
        "",
        "### Misses",
        "",
        *(f"- {m}" for m in story_scores["all"].misses or ("none",)),
        "",
        "## Stories on real feeds (`tests/data/signals/stories_eval.jsonl`)",
        "",
        f"{len(evaluation)} headlines in {len({str(r['story']) for r in evaluation})} stories: "
        f"{len(real)} are every item of the captured feeds in `tests/data/samples/` (Google News",
        "searches, including the headlines Google grouped in an item's description, BBC World,",
        "the Guardian US front page), labelled by event; "
        f"{len(written)} are written to cover headlines",
        "that share only names (countries, capitals, cities) but report different events. Rebuilt",
        "by `tests/data/signals/build_stories_eval.py`, which holds the labels and their rules.",
        "The real set is dominated by one dense burst (92 Google News items on one monument",
        "decision, one story of 60 items), so its pairs weigh most. Labels were fixed before",
        "tuning except one change: the reports that the monuments would be cut were split into",
        "10–11 July and 13 July stories, by the rule already written for the wildfire updates",
        "(updates of a subject two days apart are two stories). `MERGE_FIRST_SCORE` (0.11) and the",
        "threshold (0.21) were chosen on this set: a join bar of 0.10 lets one wrong join through",
        "and the one right join needs 0.111, so these figures are fitted, not held out.",
        "",
        *_score_rows("stories (pairs)", eval_scores),
        "",
        "### Misses, by story",
        "",
        *(misses_by_story(evaluation) or ["none"]),
        "",
    ]
    return "\n".join(out)


# docs/quality.md also says how well the tests catch mistakes; that part is written by hand.
KEPT_HEADING = "\n# Tests that fail when the code is wrong"


def kept_section() -> str:
    text = QUALITY_MD.read_text(encoding="utf-8") if QUALITY_MD.exists() else ""
    return text[text.index(KEPT_HEADING) :] if KEPT_HEADING in text else ""


def main(argv: Sequence[str]) -> None:
    total = QUICK_ITEMS if "--quick" in argv else SYNTHETIC_ITEMS
    quality = quality_markdown()
    QUALITY_MD.parent.mkdir(parents=True, exist_ok=True)
    QUALITY_MD.write_text(quality + kept_section(), encoding="utf-8")
    if "--quality" in argv:  # docs/quality.md only, no throughput run
        print(quality)
        return
    body = speed_section(total)
    write_section("stories", "Story clustering throughput", COMMAND, body)
    print(quality)
    print(body)


if __name__ == "__main__":
    main(sys.argv[1:])
