"""Topic queries in Google-Alerts syntax: text normalization, tokenizer, parser and a frozen AST.

The same `tokenize` is used for queries and for news items, so a query word and an item word
match exactly when they fold to the same token (case, accents, simple plurals). The grammar and
every folding rule are documented for users in docs/topics.md.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field

from bot.domain.text import N_, ReaderError

MAX_QUERY_CHARS = 500
MAX_NESTING_DEPTH = 8
MAX_TEXT_CHARS = 100_000  # item fields are cut here: feeds are untrusted and may be huge
_FOLD_CACHE_MAX_ENTRIES = 200_000

QUOTES = '"“”„'
_WORD_END = frozenset(QUOTES + "()|") | frozenset(" \t\r\n\f\v")
_BARE_MINUS = N_("'-' at position {position} must be followed by a word, phrase or group")
# Google operators users may try; naming them beats silently searching for "inurl".
_UNSUPPORTED_OPERATORS = frozenset(
    {"inurl", "intext", "allintitle", "allinurl", "allintext", "filetype", "related", "source"}
)
# Words ending in "s" that are not plurals of a different, common word.
_NOT_PLURALS = frozenset({"news", "series", "species", "always", "perhaps", "whereas", "chaos"})

_WORD_RE = re.compile(r"[^\W_]+")
_ACRONYM_RE = re.compile(r"(?<![^\W_])[^\W\d_](?:\.[^\W\d_])+\.?(?![^\W_])")
_MAYBE_ACRONYM_RE = re.compile(r"\.[a-zA-Z]\b")  # cheap test that an ASCII text may hold one
# ASCII text takes a faster path: lower-case [A-Z], map all but [a-z0-9] to a space, split.
_ASCII_KEPT = string.ascii_lowercase + string.digits
_ASCII_SEPARATORS = str.maketrans(
    {i: chr(i).lower() if chr(i).lower() in _ASCII_KEPT else " " for i in range(128)}
)
_ASCII_SEPARATORS_BUT_DOTS = _ASCII_SEPARATORS | {ord("."): "."}
# Two fields are tokenized as one text with this break between them; it survives as a token
# (and tokenize() never yields it: it is neither a letter nor a digit).
FIELD_BREAK = "\x01"
_FIELD_SEPARATORS = _ASCII_SEPARATORS | {ord(FIELD_BREAK): FIELD_BREAK}
_FIELD_SEPARATORS_BUT_DOTS = _ASCII_SEPARATORS_BUT_DOTS | {ord(FIELD_BREAK): FIELD_BREAK}
# Typographic apostrophes join like "'"; other common punctuation separates words.
# Ordered by how common they are in English news, as the mapping stops once text is ASCII.
_TYPOGRAPHY = [("’", ""), ("“", " "), ("”", " "), ("—", " "), ("–", " "), ("‘", ""), ("ʼ", "")]
_TYPOGRAPHY += [(ch, " ") for ch in "…\u00a0„«»•·€£"]
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_DOMAIN_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_fold_cache: dict[str, str] = {}


class QuerySyntaxError(ReaderError):
    """A query that cannot be parsed; `position` is the 0-based character index of the problem
    (and the template's `{position}`)."""

    def __init__(self, template: str, position: int, /, **params: object) -> None:
        super().__init__(template, position=position, **params)
        self.position = position

    @property
    def message(self) -> str:
        """The English sentence (logs, command line, config checks)."""
        return str(self)


# --- AST ---------------------------------------------------------------------------------------
# `label` is the atom as the user wrote it, for explanations; it takes no part in equality.


@dataclass(frozen=True)
class Term:
    word: str  # one normalized token
    in_title: bool = False
    label: str = field(default="", compare=False)


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]  # two or more normalized tokens, adjacent and in order
    in_title: bool = False
    label: str = field(default="", compare=False)


@dataclass(frozen=True)
class Site:
    domain: str  # lower-case ASCII (IDNA) host name
    label: str = field(default="", compare=False)


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Leaf = Term | Phrase | Site
Node = Term | Phrase | Site | Not | And | Or


@dataclass(frozen=True)
class Query:
    text: str
    root: Node


# --- normalization -----------------------------------------------------------------------------


def fold_plural(token: str) -> str:
    """Fold a simple English plural to its singular; both sides of a match are folded alike."""
    if len(token) <= 3 or token[-1] != "s" or token in _NOT_PLURALS:
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "xes", "ches", "shes")):
        return token[:-2]
    if token.endswith(("ss", "us", "is")):
        return token
    return token[:-1]


def _fold_unicode(text: str) -> str:
    """Map non-ASCII text to ASCII where it can: punctuation, accents, compatibility forms.

    ASCII text is returned as it is; the tokenizer lower-cases it while splitting.
    """
    if text.isascii():
        return text
    # Most non-ASCII in English news is punctuation; mapping it first keeps the ASCII path.
    for mark, replacement in _TYPOGRAPHY:
        if mark in text:
            text = text.replace(mark, replacement)
            if text.isascii():
                return text
    decomposed = unicodedata.normalize("NFKD", text).casefold()
    return _COMBINING_RE.sub("", unicodedata.normalize("NFKD", decomposed))


def _drop_apostrophes(text: str) -> str:
    for mark in "'`":
        if mark in text:
            text = text.replace(mark, "")
    return text


def _join_acronyms(match: re.Match[str]) -> str:
    return match.group().replace(".", "")


def _split_dotted(chunks: list[str]) -> list[str]:
    """Tokens of chunks made of [a-z0-9.]: acronyms joined, other dots separate words.

    Chunks end where the text has a character other than a letter, digit or dot, which is
    exactly where the acronym pattern's look-arounds stop, so chunk by chunk gives the same
    tokens as the whole text at once (and a regex pass over the whole text is much slower).
    """
    tokens: list[str] = []
    for chunk in chunks:
        if "." not in chunk:
            tokens.append(chunk)
            continue
        word = chunk.rstrip(".")
        if "." not in word:  # a word ending a sentence: no dot is followed by a letter
            if word:
                tokens.append(word)
        else:
            tokens += _WORD_RE.findall(_ACRONYM_RE.sub(_join_acronyms, chunk))
    return tokens


def tokenize(text: str) -> list[str]:
    """Split text into normalized, plural-folded tokens: letters and digits, U.S. -> us."""
    return _folded(_raw_tokens(text))


def _raw_tokens(text: str) -> list[str]:
    text = _drop_apostrophes(_fold_unicode(text[:MAX_TEXT_CHARS]))
    if text.isascii():
        return _ascii_tokens(text, _ASCII_SEPARATORS, _ASCII_SEPARATORS_BUT_DOTS)
    return _WORD_RE.findall(_ACRONYM_RE.sub(_join_acronyms, text))


def tokenize_fields(first: str, second: str) -> list[str]:
    """`tokenize(first) + [FIELD_BREAK] + tokenize(second)`, in one pass if both are ASCII."""
    return _folded(unfolded_fields(first, second))


def unfolded_fields(first: str, second: str) -> list[str]:
    """`tokenize_fields(first, second)` before plural folding (see `plural_forms`)."""
    first = _drop_apostrophes(_fold_unicode(first[:MAX_TEXT_CHARS]))
    second = _drop_apostrophes(_fold_unicode(second[:MAX_TEXT_CHARS]))
    ascii_fields = first.isascii() and second.isascii()
    if ascii_fields and FIELD_BREAK not in first and FIELD_BREAK not in second:
        both = f"{first} {FIELD_BREAK} {second}"
        return _ascii_tokens(both, _FIELD_SEPARATORS, _FIELD_SEPARATORS_BUT_DOTS)
    return [*_raw_tokens(first), FIELD_BREAK, *_raw_tokens(second)]


def plural_forms(word: str) -> list[str]:
    """Every token that `fold_plural` folds to `word` (none if `word` is not a folded form).

    The inverse of each rule of `fold_plural`: the word itself, word+"s", word+"es", and
    "-y" -> "-ies"; a candidate counts only if it really folds back to `word`.
    """
    candidates = [word, word + "s", word + "es"]
    if word.endswith("y"):
        candidates.append(word[:-1] + "ies")
    return [form for form in candidates if fold_plural(form) == word]


def _ascii_tokens(text: str, table: dict[int, str], table_but_dots: dict[int, str]) -> list[str]:
    # The translation lower-cases too, so ASCII text needs no casefold() pass.
    if "." in text and _MAYBE_ACRONYM_RE.search(text):
        return _split_dotted(text.translate(table_but_dots).split())
    return text.translate(table).split()


def _folded(raw: list[str]) -> list[str]:
    # Items repeat a small vocabulary, so folding is a dict look-up done in C for most tokens.
    try:
        return list(map(_fold_cache.__getitem__, raw))
    except KeyError:
        _remember_folds(raw)
    try:
        return list(map(_fold_cache.__getitem__, raw))
    except KeyError:  # another thread cleared the cache meanwhile
        return [_fold_cache.get(token) or fold_plural(token) for token in raw]


def _remember_folds(raw: list[str]) -> None:
    missing = set(raw).difference(_fold_cache)
    if len(_fold_cache) + len(missing) > _FOLD_CACHE_MAX_ENTRIES:
        _fold_cache.clear()
        missing = set(raw)
    _fold_cache.update({token: fold_plural(token) for token in missing})


def normalize_domain(domain: str) -> str:
    """Lower-case a host name and convert it to its ASCII (IDNA) form; '' if it is not valid."""
    domain = domain.strip().rstrip(".").lower()
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return domain if _DOMAIN_RE.fullmatch(domain) else ""


# --- lexer -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lexeme:
    kind: str  # "atom", "or", "not", "(", ")"
    pos: int
    text: str
    node: Node | None = None


def _read_phrase(query: str, start: int) -> tuple[str, int]:
    """Return the text inside the quote opening at `start` and the index after its closing quote."""
    end = start + 1
    while end < len(query) and query[end] not in QUOTES:
        end += 1
    if end >= len(query):
        raise QuerySyntaxError(N_('unclosed quote at position {position}: add a closing "'), start)
    return query[start + 1 : end], end + 1


def _words_node(text: str, pos: int, label: str, in_title: bool = False) -> Term | Phrase:
    tokens = tokenize(text)
    if not tokens:
        if label.endswith(tuple(QUOTES)):
            raise QuerySyntaxError(
                N_("phrase at position {position} has no letters or digits; remove it"), pos
            )
        raise QuerySyntaxError(
            N_("{label} at position {position} has no letters or digits; remove it"),
            pos,
            label=repr(label),
        )
    if len(tokens) == 1:
        return Term(tokens[0], in_title, label)
    return Phrase(tuple(tokens), in_title, label)


def _operator(query: str, word: str, pos: int, end: int) -> tuple[Node, int] | None:
    """Parse `site:` / `intitle:` starting at `pos`; None if `word` is not an operator."""
    name, colon, value = word.partition(":")
    name = name.lower()
    if not colon or not name.isalpha():
        return None
    if name in _UNSUPPORTED_OPERATORS:
        raise QuerySyntaxError(
            N_("{name}: at position {position} is not supported; use site: or intitle:"),
            pos,
            name=name,
        )
    if name == "site":
        domain = normalize_domain(value)
        if not domain:
            raise QuerySyntaxError(
                N_("site: at position {position} needs a domain, e.g. site:reuters.com"), pos
            )
        return Site(domain, word), end
    if name != "intitle":
        return None
    if not value and end < len(query) and query[end] in QUOTES:
        inner, after = _read_phrase(query, end)
        return _words_node(inner, pos, query[pos:after], in_title=True), after
    if not value:
        raise QuerySyntaxError(
            N_('intitle: at position {position} needs a word or a "phrase"'), pos
        )
    return _words_node(value, pos, word, in_title=True), end


def _lex(query: str) -> list[_Lexeme]:
    out: list[_Lexeme] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(_Lexeme(ch, i, ch))
            i += 1
        elif ch == "|":
            out.append(_Lexeme("or", i, "|"))
            i += 1
        elif ch in QUOTES:
            inner, after = _read_phrase(query, i)
            if not inner.strip():
                raise QuerySyntaxError(
                    N_("empty phrase at position {position}: put words inside"), i
                )
            out.append(_Lexeme("atom", i, query[i:after], _words_node(inner, i, query[i:after])))
            i = after
        elif ch == "-" and (i == 0 or query[i - 1].isspace() or query[i - 1] in "(|"):
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] in ")|-":
                raise QuerySyntaxError(_BARE_MINUS, i)
            out.append(_Lexeme("not", i, "-"))
            i += 1
        else:
            i = _lex_word(query, i, out)
    return out


def _lex_word(query: str, start: int, out: list[_Lexeme]) -> int:
    end = start
    while end < len(query) and query[end] not in _WORD_END:
        end += 1
    word = query[start:end]
    if word == "OR":
        out.append(_Lexeme("or", start, word))
        return end
    if word == "AND":  # Google accepts it; it means the same as a space
        return end
    op = _operator(query, word, start, end)
    if op is not None:
        out.append(_Lexeme("atom", start, word, op[0]))
        return op[1]
    out.append(_Lexeme("atom", start, word, _words_node(word, start, word)))
    return end


# --- parser ------------------------------------------------------------------------------------


class _Parser:
    """Recursive descent: and-list := or-expr+ ; or-expr := unary (OR unary)* ;
    unary := '-' atom | atom ; atom := word | phrase | operator | '(' and-list ')'."""

    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lex = lexemes
        self.i = 0

    def peek(self) -> _Lexeme | None:
        return self.lex[self.i] if self.i < len(self.lex) else None

    def and_list(self, depth: int, opened_at: int | None) -> Node:
        items: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind != ")":
            items.append(self.or_expr(depth))
        if tok is None and opened_at is not None:
            raise QuerySyntaxError(
                N_("unclosed '(' at position {position}: add a closing ')'"), opened_at
            )
        if tok is not None and opened_at is None:
            raise QuerySyntaxError(
                N_("unbalanced ')' at position {position}: remove it or add a '(' before it"),
                tok.pos,
            )
        if items and all(isinstance(item, Not) for item in items):
            if opened_at is None:
                raise QuerySyntaxError(
                    N_("query has only exclusions; add at least one word to look for"), 0
                )
            raise QuerySyntaxError(
                N_(
                    "group at position {position} has only exclusions;"
                    " add at least one word to look for"
                ),
                opened_at,
            )
        return _flatten(And, items)

    def or_expr(self, depth: int) -> Node:
        first = self.peek()
        if first is not None and first.kind == "or":
            raise _or_error(first)
        alternatives = [self.unary(depth)]
        while (tok := self.peek()) is not None and tok.kind == "or":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("or", ")"):
                raise _or_error(tok)
            alternatives.append(self.unary(depth))
            if isinstance(alternatives[-1], Not) or isinstance(alternatives[0], Not):
                raise QuerySyntaxError(
                    N_(
                        "exclusion next to {operator} at position {position}"
                        " cannot be an alternative; move it out of the OR"
                    ),
                    tok.pos,
                    operator=_or_name(tok),
                )
        return _flatten(Or, alternatives)

    def unary(self, depth: int) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "not":
            self.i += 1
            return Not(self.atom(depth))
        return self.atom(depth)

    def atom(self, depth: int) -> Node:
        tok = self.peek()
        if tok is None or tok.kind not in ("atom", "("):
            pos = self.lex[self.i - 1].pos
            raise QuerySyntaxError(_BARE_MINUS, pos)
        self.i += 1
        if tok.node is not None:
            return tok.node
        if depth >= MAX_NESTING_DEPTH:
            raise QuerySyntaxError(
                N_("too many nested parentheses at position {position}"), tok.pos
            )
        closing = self.peek()
        if closing is not None and closing.kind == ")":
            raise QuerySyntaxError(
                N_("empty parentheses at position {position}: put a term inside or remove them"),
                tok.pos,
            )
        inner = self.and_list(depth + 1, tok.pos)
        self.i += 1  # the ')' that and_list stopped at
        return inner


def _or_name(tok: _Lexeme) -> str:
    return "OR" if tok.text == "OR" else f"'{tok.text}'"


def _or_error(tok: _Lexeme) -> QuerySyntaxError:
    return QuerySyntaxError(
        N_("{operator} at position {position} needs a term on each side"),
        tok.pos,
        operator=_or_name(tok),
    )


def _flatten(kind: type[And] | type[Or], items: list[Node]) -> Node:
    """Merge nested nodes of the same kind and drop duplicates, keeping first occurrences."""
    merged: list[Node] = []
    for item in items:
        for child in item.children if isinstance(item, kind) else (item,):
            if child not in merged:
                merged.append(child)
    return merged[0] if len(merged) == 1 else kind(tuple(merged))


def parse_query(text: str) -> Query:
    """Parse a topic query; raise QuerySyntaxError with the position of the first problem."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(
            N_("query is {length} characters long; shorten it to {limit}"),
            MAX_QUERY_CHARS,
            length=len(text),
            limit=MAX_QUERY_CHARS,
        )
    if not text.strip():
        raise QuerySyntaxError(N_("empty query"), 0)
    lexemes = _lex(text)
    if not lexemes:
        raise QuerySyntaxError(N_("empty query"), 0)
    parser = _Parser(lexemes)
    root = parser.and_list(0, None)
    return Query(text, root)


def leaves(node: Node, negated: bool = False) -> list[tuple[Leaf, bool]]:
    """Every leaf in query order, with whether it sits under an exclusion."""
    if isinstance(node, Not):
        return leaves(node.child, not negated)
    if isinstance(node, And | Or):
        return [pair for child in node.children for pair in leaves(child, negated)]
    return [(node, negated)]
