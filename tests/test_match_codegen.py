"""The matcher compiles each topic query to Python; no query text may reach that code as code.

The generated source may hold only the names of the constants it is given (_k0, _k1…), the
four parameters, `isdisjoint`, keywords and a few operators. Every query text below, and any
text hypothesis makes up, must compile to such a source.
"""

from __future__ import annotations

import io
import re
import tokenize

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.query import QuerySyntaxError, parse_query
from jobs.sources.match import Document, Matcher, _Source

ALLOWED_NAMES = {"w", "t", "b", "h", "not", "in", "and", "or", "isdisjoint"}
ALLOWED_OPS = {"(", ")", "<=", "."}
CONSTANT_NAME = re.compile(r"_k\d+")

HOSTILE_QUERIES = [
    "__import__('os').system('id')",
    '"__import__(\'os\')" OR intitle:"1 + 1"',
    'a" or True or "b',
    "x' or __builtins__ or 'x",
    '"line one\nline two" OR "tab\there"',
    "back\\slash a\\'b \\\\e",
    "__class__ __subclasses__ __globals__ __dict__",
    "site:evil.com intitle:\"exec('1')\"",
    "f'{open(\"/etc/passwd\")}'x lambda:0",
    "#comment\nimport os",
    '-"stock tips" (eval OR exec) -breakpoint',
    "a\u2028b \u0085c \x0cd \r\ne ＂f＇",
]


def generated(query: str) -> tuple[str, dict[str, object]]:
    source = _Source()
    return source.expr(parse_query(query).root), source.constants


def offending_tokens(body: str) -> list[str]:
    """Tokens of the generated body that are not among the few it may contain."""
    bad = []
    for token in tokenize.generate_tokens(io.StringIO(body).readline):
        if token.type == tokenize.NAME:
            if token.string not in ALLOWED_NAMES and not CONSTANT_NAME.fullmatch(token.string):
                bad.append(token.string)
        elif token.type == tokenize.OP:
            if token.string not in ALLOWED_OPS:
                bad.append(token.string)
        elif token.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            bad.append(token.string)  # a string, a number, a comment: text that came in
    return bad


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_query_text_becomes_constants_never_code(query: str) -> None:
    body, constants = generated(query)
    assert offending_tokens(body) == []
    assert set(CONSTANT_NAME.findall(body)) == set(constants)


def test_the_check_finds_a_hostile_looking_query_as_plain_words() -> None:
    matcher = Matcher({"q": "__import__('os').system('id')"})
    assert matcher.match(Document("Import OS system ID")) == ["q"]
    assert matcher.match(Document("Import OS")) == []


def test_the_generated_code_runs_without_builtins() -> None:
    check = Matcher({"q": "tariffs"})._checks[0]
    assert check.__globals__["__builtins__"] == {}


@pytest.mark.parametrize(
    "body",
    ["_k0 in w or __import__", "'text' in w", "_k0 in w # note", "_k0 + 1"],
)
def test_the_token_check_itself_catches_code_that_is_not_allowed(body: str) -> None:
    assert offending_tokens(body) != []


@given(st.text(max_size=200))
def test_any_text_that_parses_compiles_to_allowed_tokens_only(text: str) -> None:
    try:
        body, _ = generated(text)
    except QuerySyntaxError:
        return
    assert offending_tokens(body) == []
