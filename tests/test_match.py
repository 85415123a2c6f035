"""Matching items against topic queries: semantics, index vs naive, explain, `try query`."""

from __future__ import annotations

import io
import json
import random
from urllib.parse import urlsplit

import pytest

import jobs.sources.match as match_module
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
from jobs.sources.match import (
    Document,
    Matcher,
    _Frequencies,
    explain_query,
    host_suffixes,
    match_query,
)
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
def test_each_query_matches_exactly_as_expected_in_the_index_direct_and_naive_evaluation(
    query: str, doc: Document, expected: bool
) -> None:
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


def test_explain_lists_a_term_repeated_in_two_groups_once() -> None:
    assert explain_query(parse_query("(a x) OR (b x)"), Document("x")) == (["x"], [])


def test_query_text_is_data_not_code() -> None:
    matcher = Matcher({"q": '"__import__(\'os\')" OR intitle:"1 + 1"'})
    assert matcher.match(Document("Import OS")) == ["q"]
    assert matcher.match(Document("One", "1 1")) == []
    assert matcher.match(Document("1 1")) == ["q"]


def test_host_suffixes_are_every_lowercased_parent_domain_and_none_without_a_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(match_module, "_host_cache", {})  # computed here, not remembered
    assert host_suffixes("https://a.b.Example.com:8080/x") == {
        "a.b.example.com",
        "b.example.com",
        "example.com",
        "com",
    }
    assert host_suffixes("example.org/path") == {"example.org", "org"}
    assert host_suffixes("") == frozenset()
    assert host_suffixes("http://[::1") == frozenset()


def test_host_cache_is_cleared_when_it_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_module, "_host_cache", {})
    monkeypatch.setattr(match_module, "_HOST_CACHE_MAX_ENTRIES", 2)
    host_suffixes("https://a.com/x")
    host_suffixes("https://b.com/x")
    assert set(match_module._host_cache) == {"a.com", "b.com"}
    assert host_suffixes("https://c.com/x") == {"c.com", "com"}
    assert set(match_module._host_cache) == {"c.com"}


def test_a_repeated_host_is_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(match_module, "_host_cache", {})
    computed: list[str] = []
    compute = match_module._netloc_suffixes

    def counted(netloc: str) -> frozenset[str]:
        computed.append(netloc)
        return compute(netloc)

    monkeypatch.setattr(match_module, "_netloc_suffixes", counted)
    first = host_suffixes("https://a.example.com/1")
    assert (
        host_suffixes("http://a.example.com/2?x")
        == first
        == {"a.example.com", "example.com", "com"}
    )
    assert computed == ["a.example.com"]


# --- planning: which term of a query anchors it in the index -----------------------------------


def anchor_of(plan: _Frequencies, query: str) -> set[tuple[str, str]] | None:
    found = plan.anchors(parse_query(query).root)
    return None if found is None else set(found)


def test_anchor_before_any_sample_is_the_longest_word_or_a_site() -> None:
    plan = _Frequencies()
    assert anchor_of(plan, '"rare earth exports"') == {("w", "export")}
    assert anchor_of(plan, "rare earths") == {("w", "earth")}
    assert anchor_of(plan, "tariffs site:x.com") == {("h", "x.com")}
    assert anchor_of(plan, "steel OR site:x.com") == {
        ("w", "steel"),
        ("h", "x.com"),
    }
    assert anchor_of(plan, "x -yyyyyy") == {("w", "x")}


def test_a_node_without_a_term_every_match_contains_has_no_anchor() -> None:
    plan = _Frequencies()
    assert plan.anchors(Not(Term("y"))) is None
    assert plan.anchors(And((Not(Term("x")), Not(Term("y"))))) is None
    assert plan.anchors(Or((Term("x"), Not(Term("y"))))) is None


def test_anchor_after_samples_is_the_rarest_term() -> None:
    plan = _Frequencies()
    plan.words.update({"export": 3, "tariff": 1})
    plan.hosts.update({"x.com": 1})
    assert anchor_of(plan, '"rare earth exports"') == {("w", "earth")}
    # A one-letter word seen in no sample (1/1) beats a long one seen once (1 + 1/6),
    # and a site seen once (1.01).
    assert anchor_of(plan, "a tariffs") == {("w", "a")}
    assert anchor_of(plan, "a site:x.com") == {("w", "a")}


def test_every_nth_item_is_sampled_and_the_index_replanned_after_4_times_more_samples() -> None:
    matcher = Matcher(
        {"q": '"rare earth exports"', "s": "steel site:x.com"},
        sample_every_items=2,
        first_replan_samples=2,
    )
    assert matcher._word_keys == {"export"}  # longest word, nothing sampled yet
    assert matcher._host_keys == {"x.com"}
    matcher.match(Document("exports", url="https://x.com/a"))
    assert matcher._frequencies.words == {}
    matcher.match(Document("exports", url="https://x.com/a"))
    assert matcher._frequencies.words == {"export": 1}
    assert matcher._frequencies.hosts == {"x.com": 1}  # a site of some query, not "com"
    matcher.match(Document("exports"))
    assert matcher._word_keys == {"export"}  # one sample: not re-planned yet
    matcher.match(Document("exports"))
    assert matcher._frequencies.words == {"export": 2}
    # Re-planned after two samples: "export" and the site are no longer the rarest.
    assert (set(matcher._word_keys), set(matcher._host_keys)) == ({"earth", "steel"}, set())
    for _ in range(4):  # two more samples of "earth": the next plan is due after eight
        matcher.match(Document("earths"))
    assert matcher._word_keys == {"earth", "steel"}
    for _ in range(7):
        matcher.match(Document("earths"))
    assert matcher._frequencies.words == {"export": 2, "earth": 5}
    assert matcher._word_keys == {"earth", "steel"}
    matcher.match(Document("earths"))  # the eighth sample
    assert matcher._word_keys == {"rare", "steel"}


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


def test_try_query_reports_matched_and_excluded_terms_and_exits_0_or_1() -> None:
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


def test_try_query_json_reports_the_matched_terms_or_the_error_and_its_position() -> None:
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


def test_document_from_text_reads_url_title_and_body_lines_and_a_given_url_wins() -> None:
    assert document_from_text("https://a.com/x\nTitle here\nline 1\nline 2\n") == Document(
        "Title here", "line 1\nline 2", "https://a.com/x"
    )
    assert document_from_text("Only a title") == Document("Only a title")
    assert document_from_text("https://a.com/x", url="https://b.com") == Document(
        "", "", "https://b.com"
    )
