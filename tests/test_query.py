"""Topic query syntax: normalization, parsing into the AST, and precise syntax errors."""

from __future__ import annotations

import random
import string

import pytest

import bot.domain.query as query_module
from bot.domain.query import (
    FIELD_BREAK,
    MAX_NESTING_DEPTH,
    MAX_QUERY_CHARS,
    And,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Site,
    Term,
    fold_plural,
    leaves,
    normalize_domain,
    parse_query,
    plural_forms,
    tokenize,
    tokenize_fields,
)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Exportación", ["exportacion"]),
        ("ZÜRICH Straße", ["zurich", "strasse"]),
        ("ﬁnance", ["finance"]),
        ("US-China trade", ["us", "china", "trade"]),
        ("China's tariffs", ["china", "tariff"]),
        ("China’s", ["china"]),
        ("U.S. and U.K", ["us", "and", "uk"]),
        ("x.com 3.5%", ["x", "com", "3", "5"]),
        ("rare_earths!", ["rare", "earth"]),
        ("U.S.—China’s e.u", ["us", "china", "eu"]),
        ("Ａｐｐｌｅ № 5", ["apple", "no", "5"]),
        ("“Rare earths” — China’s…", ["rare", "earth", "china"]),
        ("", []),
        ("—", []),
        ("Xi X-ray", ["xi", "x", "ray"]),  # only apostrophes are dropped, not an upper-case X
    ],
)
def test_tokens_are_lowercase_unaccented_singular_words_split_at_punctuation(
    text: str, tokens: list[str]
) -> None:
    assert tokenize(text) == tokens


ALPHABET = string.ascii_letters + string.digits + " .'-_,;:!?()/%$&`\"\t\n"


def test_ascii_fast_path_agrees_with_unicode_path() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choices(ALPHABET + "’—“", k=rng.randint(0, 40)))
        assert tokenize(text + " é") == [*tokenize(text), "e"], text


def test_tokenize_fields_agrees_with_tokenize() -> None:
    rng = random.Random(8)
    for _ in range(2000):
        first, second = (
            "".join(rng.choices(ALPHABET + "\x01é", k=rng.randint(0, 30))) for _ in "ab"
        )
        assert tokenize_fields(first, second) == [*tokenize(first), FIELD_BREAK, *tokenize(second)]


def test_a_field_with_non_ascii_punctuation_is_tokenized_like_tokenize() -> None:
    # "¡" has no ASCII form: the field takes the Unicode path, which drops it.
    assert tokenize_fields("a", "¡hola! 北京") == ["a", FIELD_BREAK, "hola", "北京"]
    assert tokenize_fields("¡hola!", "a") == ["hola", FIELD_BREAK, "a"]


def test_tokens_are_folded_when_the_cache_is_cleared_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another thread may clear the cache between remembering the folds and reading them.
    monkeypatch.setattr(query_module, "_fold_cache", {})
    monkeypatch.setattr(query_module, "_remember_folds", lambda raw: None)
    assert tokenize("tariffs on policies") == ["tariff", "on", "policy"]


def test_fold_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(query_module, "_fold_cache", {})
    monkeypatch.setattr(query_module, "_FOLD_CACHE_MAX_ENTRIES", 4)
    text = "alphas betas gammas deltas epsilons"
    assert tokenize(text) == ["alpha", "beta", "gamma", "delta", "epsilon"]
    assert tokenize("zetas etas") == ["zeta", "eta"]
    assert len(query_module._fold_cache) == 2


def test_fold_cache_is_kept_when_it_fills_exactly_to_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(query_module, "_fold_cache", {})
    monkeypatch.setattr(query_module, "_FOLD_CACHE_MAX_ENTRIES", 4)
    assert tokenize("alphas betas") == ["alpha", "beta"]
    assert tokenize("gammas deltas") == ["gamma", "delta"]
    assert set(query_module._fold_cache) == {"alphas", "betas", "gammas", "deltas"}


@pytest.mark.parametrize(
    ("word", "folded"),
    [
        ("tariffs", "tariff"),
        ("tariff", "tariff"),
        ("tariffed", "tariffed"),
        ("earths", "earth"),
        ("policies", "policy"),
        ("ties", "tie"),
        ("flies", "fly"),
        ("taxes", "tax"),
        ("classes", "class"),
        ("matches", "match"),
        ("crashes", "crash"),
        ("class", "class"),
        ("status", "status"),
        ("analysis", "analysis"),
        ("news", "news"),
        ("series", "series"),
        ("gas", "gas"),
        ("us", "us"),
    ],
)
def test_plural_endings_fold_to_the_singular_and_other_words_stay_as_they_are(
    word: str, folded: str
) -> None:
    assert fold_plural(word) == folded


def test_plural_forms_are_exactly_the_tokens_folding_to_a_word() -> None:
    # The matcher finds an item's query words by looking its raw tokens up in the plural
    # forms of those words, instead of folding every token: both must give the same words.
    rng = random.Random(9)
    stems = ["tariff", "polic", "class", "tax", "match", "crash", "statu", "analys", "ga", "bu"]
    endings = ["", "s", "es", "ies", "y", "ss", "us", "is", "sses", "xes", "ches", "shes", "ys"]
    tokens = {stem + end for stem in stems for end in endings}
    tokens |= {"news", "series", "us", "is", "s", "ies", "yes", "eyes", "flies"}
    tokens |= {"".join(rng.choices("abcehisuxy", k=rng.randint(1, 7))) for _ in range(3000)}
    for token in tokens:
        word = fold_plural(token)
        assert token in plural_forms(word), token
        assert all(fold_plural(form) == word for form in plural_forms(word)), word


def test_or_between_phrases_that_fold_alike_collapses_to_one_phrase() -> None:
    query = parse_query('"rare earth" OR "rare earths" -"stock tips"')
    # Both phrases fold to the same tokens, so the OR collapses to one phrase.
    assert query.root == And((Phrase(("rare", "earth")), Not(Phrase(("stock", "tip")))))
    assert query.text == '"rare earth" OR "rare earths" -"stock tips"'


@pytest.mark.parametrize(
    ("text", "root"),
    [
        ("tariffs", Term("tariff")),
        ("a b OR c", And((Term("a"), Or((Term("b"), Term("c")))))),
        ("a | b", Or((Term("a"), Term("b")))),
        ("a AND b", And((Term("a"), Term("b")))),
        ("a or b", And((Term("a"), Term("or"), Term("b")))),
        ("(a b) OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
        ("a (b c)", And((Term("a"), Term("b"), Term("c")))),
        ("a OR (b OR c)", Or((Term("a"), Term("b"), Term("c")))),
        ("a a", Term("a")),
        ("US-China", Phrase(("us", "china"))),
        ('"rare earth"', Phrase(("rare", "earth"))),
        ("“rare earth”", Phrase(("rare", "earth"))),
        ('"tariffs"', Term("tariff")),
        ("x -y", And((Term("x"), Not(Term("y"))))),
        ('x -"y z"', And((Term("x"), Not(Phrase(("y", "z")))))),
        ("x -(y OR z)", And((Term("x"), Not(Or((Term("y"), Term("z"))))))),
        ("x-ray", Phrase(("x", "ray"))),
        ("site:Reuters.com", Site("reuters.com")),
        ("SITE:bbc.co.uk x", And((Site("bbc.co.uk"), Term("x")))),
        ("site:bücher.de", Site("xn--bcher-kva.de")),
        ("intitle:tariffs", Term("tariff", in_title=True)),
        ('intitle:"trade war"', Phrase(("trade", "war"), in_title=True)),
        ("-intitle:opinion x", And((Not(Term("opinion", in_title=True)), Term("x")))),
        ("10:30", Phrase(("10", "30"))),
        ("intitle:10:30", Phrase(("10", "30"), in_title=True)),
        ('"rare earth"x', And((Phrase(("rare", "earth")), Term("x")))),
        ('intitle:trade"war"', And((Term("trade", in_title=True), Term("war")))),
        ("a -Xi", And((Term("a"), Not(Term("xi"))))),
        # an operator's name without its colon is an ordinary word
        ("site", Term("site")),
        ('intitle "war"', And((Term("intitle"), Term("war")))),
        ("inurl", Term("inurl")),
    ],
)
def test_each_query_form_parses_to_its_and_or_not_phrase_or_site_tree(
    text: str, root: object
) -> None:
    assert parse_query(text).root == root


def test_leaves_under_an_excluded_group_are_negated() -> None:
    assert leaves(parse_query("x -(y OR z)").root) == [
        (Term("x"), False),
        (Term("y"), True),
        (Term("z"), True),
    ]


def test_labels_keep_the_users_spelling() -> None:
    query = parse_query('Exportación intitle:"Trade War" -site:x.com')
    assert [(leaf.label, negated) for leaf, negated in leaves(query.root)] == [
        ("Exportación", False),
        ('intitle:"Trade War"', False),
        ("site:x.com", True),
    ]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "empty query", 0),
        ("  AND ", "empty query", 0),
        ('"rare earth" "stock tips', 'unclosed quote at position 13: add a closing "', 13),
        ("tariffs) x", "unbalanced ')' at position 7: remove it or add a '(' before it", 7),
        ("(a OR b", "unclosed '(' at position 0: add a closing ')'", 0),
        ("OR tariffs", "OR at position 0 needs a term on each side", 0),
        ("tariffs OR", "OR at position 8 needs a term on each side", 8),
        ("a OR OR b", "OR at position 2 needs a term on each side", 2),
        ("(a OR) b", "OR at position 3 needs a term on each side", 3),
        ("a | ", "'|' at position 2 needs a term on each side", 2),
        ("-a -b", "query has only exclusions; add at least one word to look for", 0),
        (
            "x (-a -b)",
            "group at position 2 has only exclusions; add at least one word to look for",
            2,
        ),
        ("x () y", "empty parentheses at position 2: put a term inside or remove them", 2),
        ('x ""', "empty phrase at position 2: put words inside", 2),
        ('x "--"', "phrase at position 2 has no letters or digits; remove it", 2),
        ("x & y", "'&' at position 2 has no letters or digits; remove it", 2),
        ("x - y", "'-' at position 2 must be followed by a word, phrase or group", 2),
        ("x --y", "'-' at position 2 must be followed by a word, phrase or group", 2),
        ("x -OR y", "'-' at position 2 must be followed by a word, phrase or group", 2),
        ("x -", "'-' at position 2 must be followed by a word, phrase or group", 2),
        (
            "a|-b",
            "exclusion next to '|' at position 1 cannot be an alternative; move it out of the OR",
            1,
        ),
        (
            "-a OR b",
            "exclusion next to OR at position 3 cannot be an alternative; move it out of the OR",
            3,
        ),
        (
            "a OR -b",
            "exclusion next to OR at position 2 cannot be an alternative; move it out of the OR",
            2,
        ),
        ("x site:", "site: at position 2 needs a domain, e.g. site:reuters.com", 2),
        ("site:https://x.com", "site: at position 0 needs a domain, e.g. site:reuters.com", 0),
        ("x intitle:", 'intitle: at position 2 needs a word or a "phrase"', 2),
        ("x intitle:--", "'intitle:--' at position 2 has no letters or digits; remove it", 2),
        ('x intitle:"--"', "phrase at position 2 has no letters or digits; remove it", 2),
        ('intitle:"war', 'unclosed quote at position 8: add a closing "', 8),
        ("x inurl:tariff", "inurl: at position 2 is not supported; use site: or intitle:", 2),
    ],
)
def test_a_malformed_query_is_refused_with_a_specific_message_and_position(
    text: str, message: str, position: int
) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(text)
    assert (caught.value.message, caught.value.position) == (message, position)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


def test_a_query_over_the_length_limit_is_refused_and_one_at_the_limit_is_read() -> None:
    with pytest.raises(QuerySyntaxError) as too_long:
        parse_query("a" * (MAX_QUERY_CHARS + 1))
    assert too_long.value.position == MAX_QUERY_CHARS
    assert too_long.value.message == (
        f"query is {MAX_QUERY_CHARS + 1} characters long; shorten it to {MAX_QUERY_CHARS}"
    )
    assert parse_query("a" * MAX_QUERY_CHARS).root == Term("a" * MAX_QUERY_CHARS)


def test_parentheses_nested_past_the_limit_are_refused_and_at_the_limit_are_read() -> None:
    deep = "(" * (MAX_NESTING_DEPTH + 1) + "a" + ")" * (MAX_NESTING_DEPTH + 1)
    with pytest.raises(QuerySyntaxError) as too_deep:
        parse_query(deep)
    assert too_deep.value.message == (
        f"too many nested parentheses at position {MAX_NESTING_DEPTH}"
    )
    ok = "(" * MAX_NESTING_DEPTH + "a" + ")" * MAX_NESTING_DEPTH
    assert parse_query(ok).root == Term("a")


@pytest.mark.parametrize(
    ("domain", "normalized"),
    [
        ("Reuters.COM.", "reuters.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("a/b", ""),
        ("", ""),
        ("News.FOX", "news.fox"),  # an upper-case X at the end is a letter, not stripped
        ("ü" * 64 + ".de", ""),  # IDNA refuses a label over 63 characters
    ],
)
def test_a_domain_is_normalized_to_lowercase_idna_or_to_empty_when_invalid(
    domain: str, normalized: str
) -> None:
    assert normalize_domain(domain) == normalized


def test_a_parsed_query_cannot_be_changed() -> None:
    query = parse_query("a")
    with pytest.raises(AttributeError):
        query.text = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        query.root = Term("b")  # type: ignore[misc]
    assert (query.text, query.root) == ("a", Term("a"))
