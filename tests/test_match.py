"""Matching items against topic queries: semantics, index vs naive, explain, `try query`."""

from __future__ import annotations

import io
import json
import random
from urllib.parse import urlsplit

import pytest

from bot.domain.query import (
    And,
    Node,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Site,
    Term,
    parse_query,
    tokenize,
)
from jobs.sources.match import Document, Matcher, explain_query, host_suffixes, match_query
from jobs.sources.try_query import document_from_text, run_try_query


def naive_eval(node: Node, doc: Document) -> bool:
    """Reference semantics, straight from the AST over token positions; no index, no sets."""
    return _eval(node, *_fields(doc))


def _fields(doc: Document) -> tuple[list[str], list[str], str]:
    host = (urlsplit(doc.url).hostname or "").lower() if "//" in doc.url else ""
    return tokenize(doc.title), tokenize(doc.summary), host.encode("idna").decode("ascii")


def _eval(node: Node, title: list[str], body: list[str], host: str) -> bool:
    if isinstance(node, Term):
        return node.word in title or (not node.in_title and node.word in body)
    if isinstance(node, Phrase):
        fields = [title] if node.in_title else [title, body]
        size = len(node.words)
        return any(
            tuple(field[i : i + size]) == node.words
            for field in fields
            for i in range(len(field) - size + 1)
        )
    if isinstance(node, Site):
        return host == node.domain or host.endswith("." + node.domain)
    if isinstance(node, Not):
        return not _eval(node.child, title, body, host)
    if isinstance(node, And):
        return all(_eval(child, title, body, host) for child in node.children)
    assert isinstance(node, Or)
    return any(_eval(child, title, body, host) for child in node.children)


@pytest.mark.parametrize(
    ("query", "doc", "expected"),
    [
        ("tariff", Document("New tariffs on steel"), True),
        ("tariffs", Document("A tariff on steel"), True),
        ("tariff", Document("Tariffed goods pile up"), False),
        ("tariff", Document("Antitariff campaign"), False),
        ("rare earth", Document("Rare earths exports"), True),
        ('"rare earth"', Document("Rare earths exports"), True),
        ('"rare earth"', Document("Earth is rare"), False),
        ("rare earth", Document("Earth is rare"), True),
        ('"rare earth export ban"', Document("Rare earths exports bans"), True),
        ('"rare earth export ban"', Document("Rare earths export, ban"), True),
        ('"rare earth export ban"', Document("Rare earths export a ban"), False),
        ('intitle:"trade wars"', Document("Trade war", "trade wars"), True),
        ('"' + "tariffs " * 60 + '"', Document("tariff " * 60), True),
        ('"' + "tariffs " * 60 + '"', Document("tariff " * 59), False),
        ("policy", Document("Trade policies"), True),
        ("Exportación", Document("exportacion de cobre"), True),
        ("exportacion", Document("EXPORTACIÓN de cobre"), True),
        ("US-China", Document("US China talks"), True),
        ("US China", Document("US-China talks"), True),
        ('"US China"', Document("China and the US"), False),
        ("China's", Document("Chinas exports"), True),
        ("U.S.", Document("US tariffs"), True),
        ("a b OR c", Document("a c"), True),
        ("a b OR c", Document("b c"), False),
        ("(a b) OR c", Document("c"), True),
        ("x -y", Document("x y"), False),
        ("x -y", Document("x", "z"), True),
        ("x -y", Document("x", "y"), False),
        ('x -"y z"', Document("x y", "q z"), True),
        ("x -(y OR z)", Document("x", "z"), False),
        ("intitle:tariff", Document("Steel", "tariffs"), False),
        ("intitle:tariff", Document("Steel tariffs", ""), True),
        ('intitle:"trade war"', Document("Trade war looms"), True),
        ('intitle:"trade war"', Document("Trade", "war looms"), False),
        ("trade war", Document("Trade", "war looms"), True),
        ('"trade war"', Document("Trade", "war looms"), False),
        ("x -intitle:opinion", Document("x", "opinion"), True),
        ("x -intitle:opinion", Document("Opinion: x"), False),
        ("x site:reuters.com", Document("x", url="https://reuters.com/a"), True),
        ("x site:reuters.com", Document("x", url="https://www.Reuters.com/a"), True),
        ("x site:reuters.com", Document("x", url="https://notreuters.com/a"), False),
        ("x site:reuters.com", Document("x", url="https://reuters.com.evil.io/a"), False),
        ("x site:reuters.com", Document("x"), False),
        ("x -site:reuters.com", Document("x", url="https://uk.reuters.com/a"), False),
        ("site:gov.uk", Document("x", url="https://www.gov.uk/news"), True),
        ("site:bücher.de", Document("x", url="https://www.bücher.de/a"), True),
    ],
)
def test_match_semantics(query: str, doc: Document, expected: bool) -> None:
    assert Matcher({"q": query}).match(doc) == (["q"] if expected else [])
    assert match_query(parse_query(query), doc) is expected
    assert naive_eval(parse_query(query).root, doc) is expected


def test_match_returns_sorted_ids() -> None:
    matcher = Matcher({"zeta": "steel", "alpha": "steel tariffs", "mid": "aluminium", "b": "x"})
    assert matcher.match(Document("Steel tariffs rise")) == ["alpha", "zeta"]
    assert matcher.match(Document("Nothing here")) == []
    assert len(matcher) == 4


def test_bad_query_names_its_id() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        Matcher({"ok": "steel", "rare-earths": '"rare earth'})
    assert caught.value.message == (
        "query 'rare-earths': unclosed quote at position 0: add a closing \""
    )
    assert caught.value.position == 0


def test_explain_lists_found_terms_as_written() -> None:
    matcher = Matcher({"re": '"Rare earth" OR magnets -"stock tips" intitle:China OR site:x.com'})
    doc = Document("China curbs rare earths", "Magnet makers worry", "https://x.com/a")
    assert matcher.match(doc) == ["re"]
    assert matcher.explain("re", doc) == ['"Rare earth"', "magnets", "intitle:China", "site:x.com"]
    found, excluded = explain_query(parse_query("steel -tips"), Document("Steel tips"))
    assert (found, excluded) == (["steel"], ["tips"])


def test_query_text_is_data_not_code() -> None:
    matcher = Matcher({"q": '"__import__(\'os\')" OR intitle:"1 + 1"'})
    assert matcher.match(Document("Import OS")) == ["q"]
    assert matcher.match(Document("One", "1 1")) == []
    assert matcher.match(Document("1 1")) == ["q"]


def test_host_suffixes() -> None:
    assert host_suffixes("https://a.b.Example.com:8080/x") == {
        "a.b.example.com",
        "b.example.com",
        "example.com",
        "com",
    }
    assert host_suffixes("example.org/path") == {"example.org", "org"}
    assert host_suffixes("") == frozenset()
    assert host_suffixes("http://[::1") == frozenset()


# --- property test: the indexed matcher agrees with the naive evaluation ----------------------

WORDS = [
    "tariff", "tariffs", "tariffed", "rare", "earth", "earths", "china", "China's", "US", "U.S.",
    "policy", "policies", "steel", "exportación", "exportacion", "trade", "war", "talks", "news",
    "new", "class", "classes", "chip", "chips", "export", "ban", "Zürich", "deal", "eu", "uk",
]  # fmt: skip
# Words no query uses, some close to query words: items hold many such tokens.
OTHER_WORDS = ["tariffing", "earthly", "policys", "classy", "chipmaker", "deals-", "Warsaw"]
HOSTS = ["reuters.com", "uk.reuters.com", "bbc.co.uk", "www.bbc.co.uk", "ft.com", "x.com", ""]


def _random_atom(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(WORDS)
    if roll < 0.65:
        return '"' + " ".join(rng.choices(WORDS, k=rng.randint(2, 3))) + '"'
    if roll < 0.72:
        return "site:" + rng.choice([h for h in HOSTS if h])
    if roll < 0.8:
        return "intitle:" + rng.choice(WORDS)
    if roll < 0.85:
        return rng.choice(WORDS) + "-" + rng.choice(WORDS)
    if depth < 2:
        return "(" + _random_query(rng, depth + 1) + ")"
    return rng.choice(WORDS)


def _random_query(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randint(1, 3)):
        group = [_random_atom(rng, depth) for _ in range(rng.choice([1, 1, 2, 3]))]
        parts.append(rng.choice([" OR ", " | "]).join(group))
    if rng.random() < 0.35:
        parts.append("-" + _random_atom(rng, depth))
    return " ".join(parts)


def _random_doc(rng: random.Random) -> Document:
    pool = WORDS * 3 + OTHER_WORDS
    title = " ".join(rng.choices(pool, k=rng.randint(0, 6)))
    summary = " ".join(rng.choices(pool, k=rng.randint(0, 12)))
    host = rng.choice(HOSTS)
    return Document(title, summary, f"https://{host}/story" if host else "")


@pytest.mark.parametrize(
    "options",
    [{}, {"sample_every_items": 1, "first_replan_samples": 8}],
    ids=["default", "replanning"],
)
def test_index_agrees_with_naive_evaluation(options: dict[str, int]) -> None:
    rng = random.Random(20250709)
    texts = {f"q{i:03d}": _random_query(rng) for i in range(400)}
    queries = {qid: parse_query(text) for qid, text in texts.items()}
    matcher = Matcher(texts, **options)
    docs = [_random_doc(rng) for _ in range(400)]
    total_hits = 0
    for doc in docs:
        fields = _fields(doc)
        expected = sorted(qid for qid, q in queries.items() if _eval(q.root, *fields))
        assert matcher.match(doc) == expected, doc
        total_hits += len(expected)
    # The generator must produce both matches and misses, or the comparison proves little.
    assert 0.02 < total_hits / (len(docs) * len(queries)) < 0.6


# --- herald try query ---------------------------------------------------------------------------


def _try(query: str, text: str, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = run_try_query(query, text, as_json=as_json, out=out)
    return code, out.getvalue()


def test_try_query_match_and_no_match() -> None:
    query = '"rare earth" OR "rare earths" -"stock tips"'
    assert _try(query, "China curbs rare earths exports") == (
        0,
        'match\nmatched: "rare earth"\n',
    )
    assert _try(query, "Rare earth stock tips\nbuy now") == (
        1,
        'no match\nmatched: "rare earth"\nexcluded but found: "stock tips"\n',
    )
    assert _try("steel", "aluminium") == (1, "no match\nmatched: (none)\n")


def test_try_query_json() -> None:
    code, out = _try("tariffs site:reuters.com", "https://www.reuters.com/x\nNew tariffs", True)
    assert code == 0
    assert json.loads(out) == {
        "match": True,
        "matched": ["tariffs", "site:reuters.com"],
        "query": "tariffs site:reuters.com",
    }
    code, out = _try('"rare', "x", True)
    assert code == 2
    assert json.loads(out) == {
        "match": False,
        "error": 'unclosed quote at position 0: add a closing "',
        "position": 0,
        "query": '"rare',
    }


def test_try_query_invalid_shows_caret() -> None:
    assert _try('steel "rare earth', "x") == (
        2,
        'invalid query: unclosed quote at position 6: add a closing "\n'
        '  steel "rare earth\n'
        "        ^\n",
    )


def test_document_from_text() -> None:
    assert document_from_text("https://a.com/x\nTitle here\nline 1\nline 2\n") == Document(
        "Title here", "line 1\nline 2", "https://a.com/x"
    )
    assert document_from_text("Only a title") == Document("Only a title")
    assert document_from_text("https://a.com/x", url="https://b.com") == Document(
        "", "", "https://b.com"
    )
