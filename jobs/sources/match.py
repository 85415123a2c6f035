"""Match news items against many topic queries at once, and explain why a query matched.

Each item is tokenized once, and its tokens are not plural-folded one by one: every plural
form of every query word is mapped to that word, and the item's tokens are looked up in that map,
in C (the comment in `Matcher.__init__` says why this is exact). An inverted index maps an
"anchor" term of each query (one that every item it matches must contain) to the query, so only
queries whose anchor occurs in the item are evaluated. Each query is compiled to one Python
function of set and substring tests. Which term anchors a query is re-planned from sampled term
frequencies; the choice changes speed only, never results.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeGuard
from urllib.parse import urlsplit

from bot.domain.query import (
    FIELD_BREAK,
    And,
    Leaf,
    Node,
    Not,
    Or,
    Phrase,
    Query,
    QuerySyntaxError,
    Site,
    Term,
    leaves,
    normalize_domain,
    parse_query,
    plural_forms,
    tokenize_fields,
    unfolded_fields,
)

__all__ = [
    "Document",
    "Matcher",
    "QuerySyntaxError",
    "compile_query",
    "explain_query",
    "match_query",
    "prepare",
]


@dataclass(frozen=True)
class Document:
    title: str
    summary: str = ""
    url: str = ""


SAMPLE_EVERY_ITEMS = 8
FIRST_REPLAN_SAMPLES = 256
_HOST_CACHE_MAX_ENTRIES = 50_000
# The part of a URL between "//" (optional) and the path; feeds repeat hosts, so it is cached.
_NETLOC_RE = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?(?://)?([^/?#]*)", re.IGNORECASE)
_host_cache: dict[str, frozenset[str]] = {}


# (words, title, text, URL host suffixes). `words` holds the query words found in the item;
# `title` and `text` hold the tokens of the title and of both fields, space-separated with
# spaces at both ends and FIELD_BREAK between the fields.
Prepared = tuple[frozenset[str], str, str, frozenset[str]]
_NO_HOSTS: frozenset[str] = frozenset()
_BREAK = f" {FIELD_BREAK} "


def prepare(doc: Document, vocabulary: frozenset[str], with_hosts: bool = True) -> Prepared:
    """Tokenize an item once for all queries (the argument tuple of every compiled check).

    A phrase is a substring test on the space-separated tokens, the same as "tokens at
    adjacent positions" as tokens hold no spaces; no phrase spans title and summary, as none
    contains FIELD_BREAK. `words` keeps only the `vocabulary` (every word of the queries):
    checks look at nothing else, and a small set is quicker to build and to intersect.
    """
    tokens = tokenize_fields(doc.title, doc.summary)
    title, text = _spaced(tokens)
    hosts = host_suffixes(doc.url) if with_hosts else _NO_HOSTS
    return vocabulary.intersection(tokens), title, text, hosts


def _spaced(tokens: Iterable[str]) -> tuple[str, str]:
    """The title's and both fields' tokens as `Prepared` holds them."""
    text = f" {' '.join(tokens)} "
    return text[: text.index(_BREAK) + 1], text


def host_suffixes(url: str) -> frozenset[str]:
    """The URL's host and its parent domains: a.example.com -> a.example.com, example.com, com."""
    found = _NETLOC_RE.match(url)
    netloc = found.group(1) if found else ""
    cached = _host_cache.get(netloc)
    if cached is None:
        if len(_host_cache) >= _HOST_CACHE_MAX_ENTRIES:
            _host_cache.clear()
        cached = _host_cache[netloc] = _netloc_suffixes(netloc)
    return cached


def _netloc_suffixes(netloc: str) -> frozenset[str]:
    try:
        host = urlsplit("//" + netloc).hostname
    except ValueError:
        return frozenset()
    host = normalize_domain(host or "")
    if not host:
        return frozenset()
    parts = host.split(".")
    return frozenset(".".join(parts[i:]) for i in range(len(parts)))


Check = Callable[[frozenset[str], str, str, frozenset[str]], bool]


class _Source:
    """One query as one Python expression over (w)ords, (t)itle, (b)oth fields and (h)osts.

    Query text never enters the source: every value is a constant passed by name (_k0, _k1...),
    so the generated code holds only those names, operators and keywords.
    """

    def __init__(self) -> None:
        self.constants: dict[str, object] = {}

    def const(self, value: object) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def leaf(self, node: Leaf) -> str:
        if isinstance(node, Site):
            return f"{self.const(node.domain)} in h"
        if isinstance(node, Term) and not node.in_title:
            return f"{self.const(node.word)} in w"
        needle = self.const(f" {' '.join(_leaf_words(node))} ")
        return f"{needle} in {'t' if node.in_title else 'b'}"

    def words(self, words: list[str], *, every: bool, present: bool) -> str:
        """Set tests on the item's words: all/any of `words` present, or none present."""
        if len(words) == 1:
            return f"{self.const(words[0])} {'in' if present else 'not in'} w"
        name = self.const(frozenset(words))
        if every:
            return f"{name} <= w"
        return f"not {name}.isdisjoint(w)" if present else f"{name}.isdisjoint(w)"

    def expr(self, node: Node) -> str:
        if isinstance(node, Not):
            return f"not ({self.expr(node.child)})"
        if isinstance(node, Or):
            alts = [c.word for c in node.children if _is_plain_term(c)]
            parts = [self.words(alts, every=False, present=True)] if alts else []
            parts += [self.expr(c) for c in node.children if not _is_plain_term(c)]
            return "(" + " or ".join(parts) + ")"
        if isinstance(node, And):
            return self.conjunction(node.children)
        return self.leaf(node)

    def conjunction(self, children: tuple[Node, ...]) -> str:
        need = [c.word for c in children if _is_plain_term(c)]
        avoid = [c.child.word for c in children if isinstance(c, Not) and _is_plain_term(c.child)]
        parts = [self.words(need, every=True, present=True)] if need else []
        if avoid:
            parts.append(self.words(avoid, every=False, present=False))
        parts += [
            self.expr(c)
            for c in children
            if not _is_plain_term(c) and not (isinstance(c, Not) and _is_plain_term(c.child))
        ]
        return "(" + " and ".join(parts) + ")"


def _is_plain_term(node: Node) -> TypeGuard[Term]:
    return isinstance(node, Term) and not node.in_title


def compile_query(node: Node) -> Check:
    """Compile a query tree to one Python function: a single call per evaluation."""
    source = _Source()
    body = source.expr(node)
    namespace: dict[str, object] = {"__builtins__": {}, **source.constants}
    exec(compile(f"def check(w, t, b, h):\n    return {body}\n", "<query>", "exec"), namespace)  # noqa: S102 no query text in the source: see _Source
    check: Check = namespace["check"]  # type: ignore[assignment]
    return check


Anchor = tuple[str, str]  # ("w", token) or ("h", domain)


class _Frequencies:
    """How often anchor candidates occur in sampled items; guides which anchor a query gets.

    Before any sample every count is 0 and longer words (usually rarer) win. Results never
    depend on the choice: any anchor is a term every match must contain.
    """

    def __init__(self) -> None:
        self.words: Counter[str] = Counter()
        self.hosts: Counter[str] = Counter()

    def estimate(self, anchor: Anchor) -> float:
        kind, value = anchor
        if kind == "h":
            return self.hosts[value] + 0.01
        return self.words[value] + 1 / len(value)

    def anchors(self, node: Node) -> frozenset[Anchor] | None:
        """Terms of which one must occur in any item `node` matches; None if there are none."""
        if isinstance(node, Term):
            return frozenset({("w", node.word)})
        if isinstance(node, Phrase):
            return frozenset({min((("w", w) for w in node.words), key=self.estimate)})
        if isinstance(node, Site):
            return frozenset({("h", node.domain)})
        if isinstance(node, Or):
            found = [self.anchors(child) for child in node.children]
            if any(anchor is None for anchor in found):
                return None
            return frozenset().union(*(anchor for anchor in found if anchor is not None))
        if isinstance(node, And):
            options = [a for a in map(self.anchors, node.children) if a is not None]
            return min(options, key=self.cost) if options else None
        return None

    def cost(self, anchors: frozenset[Anchor]) -> float:
        return sum(map(self.estimate, anchors))


def _required_words(node: Node) -> frozenset[str]:
    """Words every item matching `node` contains (in some field): a cheap filter before `check`."""
    if isinstance(node, Term):
        return frozenset({node.word})
    if isinstance(node, Phrase):
        return frozenset(node.words)
    if isinstance(node, And):
        return frozenset().union(*map(_required_words, node.children))
    if isinstance(node, Or):
        return frozenset.intersection(*map(_required_words, node.children))
    return frozenset()


def _leaf_words(leaf: Term | Phrase) -> tuple[str, ...]:
    return (leaf.word,) if isinstance(leaf, Term) else leaf.words


def _query_vocabulary(roots: Iterable[Node]) -> frozenset[str]:
    all_leaves = [leaf for root in roots for leaf, _ in leaves(root)]
    return frozenset(
        w for leaf in all_leaves if not isinstance(leaf, Site) for w in _leaf_words(leaf)
    )


def match_query(query: Query, doc: Document) -> bool:
    """Whether one query matches one item (no index; for one-off checks)."""
    return compile_query(query.root)(*prepare(doc, _query_vocabulary([query.root])))


def explain_query(query: Query, doc: Document) -> tuple[list[str], list[str]]:
    """The query's wanted terms found in the item, and its excluded terms found in the item."""
    prepared = prepare(doc, _query_vocabulary([query.root]))
    found: list[str] = []
    excluded: list[str] = []
    for leaf, negated in leaves(query.root):
        target = excluded if negated else found
        if leaf.label not in target and compile_query(leaf)(*prepared):
            target.append(leaf.label)
    return found, excluded


class Matcher:
    """All topic queries compiled together; `match` cost grows slowly with the query count.

    One item in `sample_every_items` is sampled to learn which query terms are rare, and the
    index is re-planned after `first_replan_samples` samples, then 4, 16, 64... times as many.
    `match` updates that state: share a Matcher between threads only behind a lock.
    """

    def __init__(
        self,
        queries: Mapping[str, str],
        *,
        sample_every_items: int = SAMPLE_EVERY_ITEMS,
        first_replan_samples: int = FIRST_REPLAN_SAMPLES,
    ) -> None:
        self._queries: dict[str, Query] = {}
        for query_id, text in queries.items():
            try:
                self._queries[query_id] = parse_query(text)
            except QuerySyntaxError as exc:
                raise QuerySyntaxError(
                    "query {query_id}: {problem}",
                    exc.position,
                    query_id=repr(query_id),
                    problem=exc,
                ) from exc
        self._ids = sorted(self._queries)
        self._roots = [self._queries[qid].root for qid in self._ids]
        self._checks = [compile_query(root) for root in self._roots]
        self._required = [_required_words(root) for root in self._roots]
        all_leaves = [leaf for root in self._roots for leaf, _ in leaves(root)]
        vocabulary = _query_vocabulary(self._roots)
        # Each token that folds to a query word, mapped to that word: an item's query words
        # are found without folding its every token. The text that phrase and intitle:
        # checks read maps only those tokens too: a token that folds to no query word
        # equals no query word either (query words fold to themselves), so leaving it as
        # it is changes no phrase's match.
        self._forms = {form: w for w in vocabulary for form in plural_forms(w)}
        self._form_keys = frozenset(self._forms)
        self._reads_text = [
            any(isinstance(leaf, Phrase) or leaf.in_title for leaf, _ in leaves(root)
                if not isinstance(leaf, Site))
            for root in self._roots
        ]  # fmt: skip
        self._domains = frozenset(leaf.domain for leaf in all_leaves if isinstance(leaf, Site))
        self._frequencies = _Frequencies()
        self._sample_every = sample_every_items
        self._items_until_sample = sample_every_items
        self._samples = 0
        self._next_replan = first_replan_samples
        self._plan()

    def _plan(self) -> None:
        """(Re)build the inverted index from anchor terms to query indexes."""
        by_word: dict[str, list[int]] = {}
        by_host: dict[str, list[int]] = {}
        always: list[int] = []
        for index, root in enumerate(self._roots):
            anchors = self._frequencies.anchors(root)
            if anchors is None:
                always.append(index)
                continue
            for kind, value in anchors:
                (by_host if kind == "h" else by_word).setdefault(value, []).append(index)
        self._by_word, self._by_host, self._always = by_word, by_host, always
        self._word_keys = frozenset(by_word)
        self._host_keys = frozenset(by_host)

    def _sample(self, words: frozenset[str], hosts: frozenset[str]) -> None:
        self._items_until_sample = self._sample_every
        self._frequencies.words.update(words)
        self._frequencies.hosts.update(hosts & self._domains)
        self._samples += 1
        if self._samples >= self._next_replan:
            self._next_replan *= 4
            self._plan()

    def __len__(self) -> int:
        return len(self._ids)

    def match(self, doc: Document) -> list[str]:
        """Ids of the queries that match `doc`, sorted."""
        raw = unfolded_fields(doc.title, doc.summary)
        words = frozenset(map(self._forms.__getitem__, self._form_keys.intersection(raw)))
        hosts = host_suffixes(doc.url) if self._domains else _NO_HOSTS
        self._items_until_sample -= 1
        if not self._items_until_sample:
            self._sample(words, hosts)
        candidates = set(self._always)
        candidates.update(*map(self._by_word.__getitem__, words & self._word_keys))
        if hosts:
            candidates.update(*map(self._by_host.__getitem__, hosts & self._host_keys))
        ids, checks, required = self._ids, self._checks, self._required
        reads_text = self._reads_text
        title = body = ""
        matched = []
        for i in candidates:
            if not required[i] <= words:
                continue
            if reads_text[i] and not body:
                title, body = _spaced(map(self._forms.get, raw, raw))
            if checks[i](words, title, body, hosts):
                matched.append(ids[i])
        matched.sort()
        return matched

    def explain(self, query_id: str, doc: Document) -> list[str]:
        """The wanted terms of query `query_id` (as written) that occur in `doc`.

        Raises KeyError for an unknown id.
        """
        return explain_query(self._queries[query_id], doc)[0]
