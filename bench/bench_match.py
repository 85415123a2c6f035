"""Benchmark topic matching: 100,000 news-like items against 1,000 queries, vs one regex per query.

Run from the repository root: `.venv/bin/python -m bench.bench_match`. The baseline compiles one
regex per query straight from its parsed form and runs every regex on every item (on a subset,
since it is slow); both sides see the same normalized text, so their results must be identical.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import re
import resource
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from bench._report import write_section
from bot.domain.query import And, Node, Not, Or, Phrase, Site, Term, parse_query, tokenize
from jobs.sources.match import Document, Matcher, host_suffixes

ITEM_COUNT = 100_000
QUERY_COUNT = 1_000
BASELINE_ITEM_COUNT = 300
SEED = 20250709
FLOOR_ITEMS_PER_S = 20_000
FLOOR_SPEEDUP = 100
MATCH_PASSES = 3  # over all items
BASELINE_PASSES = 2  # over the baseline's subset
TIMED_CHUNKS = 10  # each tenth of the items is timed apart; its fastest pass counts
T = TypeVar("T")

ACTORS = [
    "US", "China", "EU", "UK", "Japan", "India", "Mexico", "México", "Canada", "Germany",
    "France", "Brazil", "South Korea", "Taiwan", "Vietnam", "Australia", "Beijing",
    "Washington", "Brussels", "Tokyo", "Zürich", "White House", "Commerce Department",
    "European Commission", "WTO", "Treasury",
]  # fmt: skip
TOPICS = [
    "tariffs", "rare earths", "rare earth magnets", "chip export controls", "semiconductors",
    "steel", "aluminium", "soybeans", "lithium", "gallium", "germanium", "electric vehicles",
    "solar panels", "batteries", "graphite", "sanctions", "trade deal", "trade talks",
    "trade war", "supply chains", "shipping", "ports", "inflation", "interest rates",
    "oil prices", "wheat", "copper", "the yuan", "the dollar", "export licences", "AI chips",
    "exportaciones", "car parts", "pharmaceuticals", "critical minerals", "stock tips",
]  # fmt: skip
VERBS = [
    "imposes", "lifts", "extends", "delays", "announces", "threatens", "raises", "cuts",
    "suspends", "signs", "rejects", "eases", "tightens", "expands", "probes", "warns on",
    "welcomes", "weighs", "targets", "pauses",
]  # fmt: skip
NOUNS = [
    "officials", "ministers", "negotiators", "exporters", "importers", "manufacturers",
    "investors", "markets", "analysts", "companies", "factories", "farmers", "consumers",
    "deadline", "truce", "agreement", "retaliation", "duties", "quotas", "restrictions",
    "policy", "policies", "talks", "prices", "jobs", "growth", "outlook", "profits",
]  # fmt: skip
FILLER = [
    "the", "a", "of", "on", "in", "for", "with", "amid", "after", "over", "as", "to", "and",
    "its", "new", "says", "could", "would", "this", "week", "month", "year", "percent",
    "billion", "million", "said", "on Monday", "on Tuesday", "late", "early", "more", "less",
]  # fmt: skip
DOMAINS = [
    "reuters.com", "bbc.co.uk", "ft.com", "bloomberg.com", "nytimes.com", "theguardian.com",
    "scmp.com", "nikkei.com", "cnbc.com", "wsj.com", "politico.eu", "apnews.com", "elpais.com",
    "gov.uk", "ustr.gov",
]  # fmt: skip
SUBDOMAINS = ["", "www.", "uk.", "asia.", "feeds."]
APOSTROPHES = ["'", "’"]


GENERIC = [
    "said", "government", "year", "people", "minister", "president", "market", "report",
    "official", "country", "state", "company", "economy", "world", "first", "last", "plan",
    "group", "time", "since", "including", "national", "public", "global", "security",
    "foreign", "former", "told", "statement", "according", "bank", "data", "industry",
    "leaders", "reported", "business", "sector", "major", "move", "further", "expected",
    "rise", "fall", "deal", "talks", "week", "today", "city", "general", "news",
]  # fmt: skip
SYLLABLES = ["ka", "ro", "men", "tal", "vi", "son", "dra", "lu", "per", "ist", "o", "bran"]
SYLLABLES += ["cor", "fen", "gal", "hu", "mit", "nor", "pla", "que", "zan", "bel", "tor"]
TAIL_WORD_COUNT = 12_000  # made-up words standing in for the long tail of a news vocabulary
TOPICAL_RANKS = (50, 5_000)  # topic queries use words in this band of the frequency ranking


class Vocabulary:
    """Words ranked by frequency (Zipf): generic news words, then trade words mixed into a
    seeded tail of made-up words, so topic words are common but not ubiquitous."""

    def __init__(self, rng: random.Random) -> None:
        trade = [w for t in TOPICS + NOUNS + VERBS for w in t.split() if len(w) > 3]
        tail: set[str] = set()
        while len(tail) < TAIL_WORD_COUNT:
            tail.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))))
        ranked = sorted(tail)
        rng.shuffle(ranked)
        for word in dict.fromkeys(trade):
            ranked.insert(rng.randrange(600), word)
        self.words = GENERIC + ranked
        weights = (1 / rank for rank in range(1, len(self.words) + 1))
        self.cum_weights = list(itertools.accumulate(weights))
        self.rng = rng

    def sample(self, count: int) -> list[str]:
        words = self.rng.choices(self.words, cum_weights=self.cum_weights, k=count)
        return [w + "s" if w[-1] != "s" and self.rng.random() < 0.15 else w for w in words]

    def topical(self) -> str:
        """A word specific enough for a topic query (log-uniform rank in TOPICAL_RANKS)."""
        low, high = TOPICAL_RANKS
        return self.words[int(math.exp(self.rng.uniform(math.log(low), math.log(high))))]


def make_items(vocab: Vocabulary, count: int) -> list[Document]:
    rng = vocab.rng
    items = []
    for _ in range(count):
        title = (
            f"{rng.choice(ACTORS)} {rng.choice(VERBS)} {rng.choice(TOPICS)} "
            f"{' '.join(vocab.sample(rng.randint(1, 4)))} {rng.choice(['', '-', '|'])} "
            f"{rng.choice(ACTORS)}{rng.choice(APOSTROPHES)}s {rng.choice(NOUNS)}"
        )
        words = rng.choices(FILLER, k=14) + vocab.sample(rng.randint(16, 30))
        words += [rng.choice(TOPICS), rng.choice(ACTORS), rng.choice(NOUNS)]
        words += [f"“{rng.choice(NOUNS)}”", rng.choice(["—", "-", "", "U.S."])]
        rng.shuffle(words)
        url = f"https://{rng.choice(SUBDOMAINS)}{rng.choice(DOMAINS)}/news/{rng.randrange(10**6)}"
        items.append(Document(title, " ".join(words).capitalize() + ".", url))
    return items


def make_queries(vocab: Vocabulary, count: int) -> dict[str, str]:
    rng = vocab.rng

    def word() -> str:
        return vocab.topical()

    def phrase() -> str:
        return f'"{rng.choice([t for t in TOPICS + ACTORS if " " in t])}"'

    shapes = [
        lambda: word(),
        lambda: f"{word()} {word()}",
        lambda: f"{rng.choice(ACTORS)} {phrase()} {word()}",
        lambda: f"{phrase()} OR {phrase()} {word()}",
        lambda: f'{word()} {word()} -"stock tips" -{word()}',
        lambda: f"site:{rng.choice(DOMAINS)} {word()}",
        lambda: f"intitle:{word()} {word()} | {word()}",
        lambda: f'({word()} OR {phrase()}) {word()} -({word()} | "trade war")',
        lambda: f"intitle:{phrase()} -site:{rng.choice(DOMAINS)} {word()}",
        lambda: f'"{word()} {word()}" OR {word()}-{word()}',
    ]
    return {f"topic-{i:04d}": rng.choice(shapes)() for i in range(count)}


def _assertion(node: Node) -> str:
    """A zero-width regex assertion for `node`, evaluated at the start of a haystack."""
    if isinstance(node, Term | Phrase):
        words = (node.word,) if isinstance(node, Term) else node.words
        needle = re.escape(" " + " ".join(words) + " ")
        return f"(?=[^|]*?{needle})" if node.in_title else f"(?=.*?{needle})"
    if isinstance(node, Site):
        return rf"(?=[^\n]*\n(?:[^\n]*\.)?{re.escape(node.domain)}\Z)"
    if isinstance(node, Not):
        return f"(?!{_assertion(node.child)})"
    if isinstance(node, And):
        return "".join(_assertion(child) for child in node.children)
    assert isinstance(node, Or)
    return "(?:" + "|".join(_assertion(child) for child in node.children) + ")"


def haystack(doc: Document) -> str:
    """Title tokens | summary tokens, newline, host: what the baseline regexes scan."""
    hosts = host_suffixes(doc.url)
    host = max(hosts, key=len) if hosts else ""
    return f" {' '.join(tokenize(doc.title))} | {' '.join(tokenize(doc.summary))} \n{host}"


def compile_regexes(queries: dict[str, str]) -> list[tuple[str, re.Pattern[str]]]:
    return sorted((qid, re.compile(_assertion(parse_query(q).root))) for qid, q in queries.items())


def regex_loop(
    regexes: list[tuple[str, re.Pattern[str]]], items: list[Document]
) -> list[list[str]]:
    results = []
    for doc in items:
        text = haystack(doc)
        results.append([qid for qid, pattern in regexes if pattern.match(text)])
    return results


def current_rss_bytes() -> int:
    """Resident set size now (Linux /proc); 0 where that is not available."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def timed(run: Callable[[], T]) -> tuple[T, float]:
    """Run once; return the result and the CPU seconds it took."""
    cpu = time.process_time()
    result = run()
    return result, time.process_time() - cpu


def timed_chunks(
    run: Callable[[list[Document]], list[list[str]]],
    items: list[Document],
    chunks: int,
    passes: int,
) -> tuple[list[list[str]], float, float]:
    """Run over all items `passes` times, timing each of `chunks` slices of them separately.

    The machine is shared, so a slice's fastest pass is the best estimate of the code's own
    cost (as timeit takes the minimum); the total is the sum over slices, in CPU and wall
    seconds. Every pass must return the same results.
    """
    size = -(-len(items) // chunks)
    slices = [items[start : start + size] for start in range(0, len(items), size)]
    best_cpu = [float("inf")] * len(slices)
    best_wall = [float("inf")] * len(slices)
    passes_results = []
    for _ in range(passes):
        results: list[list[str]] = []
        for index, part in enumerate(slices):
            cpu, wall = time.process_time(), time.perf_counter()
            results += run(part)
            best_cpu[index] = min(best_cpu[index], time.process_time() - cpu)
            best_wall[index] = min(best_wall[index], time.perf_counter() - wall)
        passes_results.append(results)
    if any(results != passes_results[0] for results in passes_results):
        raise AssertionError("passes disagree")
    return passes_results[-1], sum(best_cpu), sum(best_wall)


def main() -> int:
    vocab = Vocabulary(random.Random(SEED))
    items = make_items(vocab, ITEM_COUNT)
    queries = make_queries(vocab, QUERY_COUNT)

    rss_before = current_rss_bytes()
    matcher, compile_cpu_s = timed(lambda: Matcher(queries))
    matcher_mib = (current_rss_bytes() - rss_before) / 2**20
    results, match_cpu_s, match_wall_s = timed_chunks(
        lambda part: [matcher.match(doc) for doc in part], items, TIMED_CHUNKS, MATCH_PASSES
    )
    items_per_s = ITEM_COUNT / match_cpu_s

    subset = items[:BASELINE_ITEM_COUNT]
    regexes = compile_regexes(queries)
    baseline, baseline_cpu_s, _ = timed_chunks(
        lambda part: regex_loop(regexes, part), subset, TIMED_CHUNKS, BASELINE_PASSES
    )
    baseline_per_s = BASELINE_ITEM_COUNT / baseline_cpu_s
    identical = baseline == results[:BASELINE_ITEM_COUNT]
    speedup = items_per_s / baseline_per_s
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load_1min = os.getloadavg()[0]

    matched_items = sum(1 for r in results if r)
    hits = sum(len(r) for r in results)
    floors_met = items_per_s >= FLOOR_ITEMS_PER_S and speedup >= FLOOR_SPEEDUP
    body = f"""
{ITEM_COUNT:,} synthetic news items (title + summary + URL, seeded, Zipf vocabulary) against
{QUERY_COUNT:,} topic queries (words, phrases, OR, exclusions, groups, `site:`, `intitle:`).
Rates are per CPU second of the single benchmark thread (one core). Each tenth of the items
is timed apart and its fastest of {MATCH_PASSES} passes counts ({BASELINE_PASSES} passes for
the regex loop over its subset), as the machine is shared with other work.

| measure | value |
| --- | --- |
| compile {QUERY_COUNT:,} queries | {compile_cpu_s * 1000:.0f} ms, {matcher_mib:.1f} MiB of RSS |
| `Matcher.match`, all items | {match_cpu_s:.2f} s CPU ({match_wall_s:.2f} s wall) |
| **items per second** | **{items_per_s:,.0f}** |
| one regex per query, first {BASELINE_ITEM_COUNT} items | {baseline_cpu_s:.2f} s CPU |
| regex loop, items per second | {baseline_per_s:,.0f} |
| **speed-up over the regex loop** | **{speedup:,.0f}×** |
| results identical on the subset | {"yes" if identical else "NO"} |
| items with a match | {matched_items / ITEM_COUNT:.1%} ({hits / ITEM_COUNT:.2f} per item) |
| peak RSS (whole process, items included) | {peak_rss_mib:.0f} MiB |
| load average (1 min) at the end, on a shared machine | {load_1min:.1f} |

Floors: ≥ {FLOOR_ITEMS_PER_S:,} items/s and ≥ {FLOOR_SPEEDUP}× the regex loop:
{"met" if floors_met else "NOT MET"}. Both sides tokenize each item once (same normalization);
the baseline then runs every query's regex over the normalized text, while the matcher
evaluates only the queries whose anchor term occurs in the item.
"""
    write_section("match", "Topic matching", ".venv/bin/python -m bench.bench_match", body)
    print(body.strip())
    return 0 if identical and floors_met else 1


if __name__ == "__main__":
    sys.exit(main())
