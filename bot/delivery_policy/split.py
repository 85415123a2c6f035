"""Split Telegram HTML messages into parts that fit the Bot API length limit.

Telegram counts a message's length after entity parsing: tags vanish, `&lt;` and friends count
as one character, and every character counts in UTF-16 code units (an emoji counts 2). The
splitter works on atoms (a tag, an entity, a space, a line break or a run of other
characters) so it never cuts inside a tag or an entity, and it closes the tags open at a cut
and reopens them in the next part.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

TELEGRAM_MAX_MESSAGE_CHARS = 4096
MIN_SPLIT_LIMIT_CHARS = 2  # one astral character must always fit in a part

# Telegram knows these named entities and every numeric one; anything else is literal text.
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = r"""(?P<tag><(?P<slash>/?)(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?:[^>"']|"[^"]*"|'[^']*')*>)"""
_ENTITY = r"(?P<entity>&(?:#(?P<dec>\d{1,7})|#[xX](?P<hex>[0-9a-fA-F]{1,6})|(?P<named>[a-zA-Z]+));)"
# Every character of the input falls in exactly one alternative, so finditer covers it all.
_TOKEN_RE = re.compile(
    rf"{_TAG}|{_ENTITY}|(?P<newline>\n)|(?P<space>[ \t])|(?P<word>[^ \t\n<&]+)|(?P<other>[<&])"
)
# Only the pieces whose visible length differs from their written length.
_MARKUP_RE = re.compile(rf"{_TAG}|{_ENTITY}")
_HREF_RE = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_ZWJ = "\u200d"
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_EMOJI_TAGS = range(0xE0020, 0xE0080)


class AtomKind(Enum):
    TEXT = "text"
    NEWLINE = "newline"
    SPACE = "space"
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True)
class Atom:
    """One piece of the message that is never cut (except a long TEXT run, by `_fit`)."""

    kind: AtomKind
    raw: str  # as written in the HTML
    text: str  # what Telegram shows ("" for tags)
    size: int  # UTF-16 length of `text`
    name: str = ""  # tag name for OPEN/CLOSE


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram counts in."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _decode_entity(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.group("dec", "hex", "named")
    if name is not None:
        return _NAMED_ENTITIES.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else None


def _text_atom(text: str, raw: str) -> Atom:
    size = utf16_len(text)
    if text == "\n":
        return Atom(AtomKind.NEWLINE, raw, text, size)
    if text in (" ", "\t"):
        return Atom(AtomKind.SPACE, raw, text, size)
    return Atom(AtomKind.TEXT, raw, text, size)


def tokenize(html_text: str) -> list[Atom]:
    """Cut HTML into atoms; a `<` or `&` that starts no tag or entity is literal text."""
    atoms: list[Atom] = []
    for match in _TOKEN_RE.finditer(html_text):
        raw = match.group(0)
        if match.group("tag") is not None:
            kind = AtomKind.CLOSE if match.group("slash") else AtomKind.OPEN
            atoms.append(Atom(kind, raw, "", 0, match.group("name").lower()))
        elif match.group("entity") is not None:
            decoded = _decode_entity(match)
            atoms.append(_text_atom(raw if decoded is None else decoded, raw))
        else:
            atoms.append(_text_atom(raw, raw))
    return atoms


def telegram_length(html_text: str) -> int:
    """Message length as Telegram counts it: UTF-16 units of the text after entity parsing."""
    total = position = 0
    for match in _MARKUP_RE.finditer(html_text):
        total += utf16_len(html_text[position : match.start()])
        if match.group("entity") is not None:
            decoded = _decode_entity(match)
            total += utf16_len(match.group(0) if decoded is None else decoded)
        position = match.end()
    return total + utf16_len(html_text[position:])


def _clings_to_previous(text: str, index: int) -> bool:
    """Would a cut before text[index] break up one visible character (emoji, accent, flag)?"""
    char, before = text[index], text[index - 1]
    code = ord(char)
    if char in (_ZWJ, "\ufe0f", "\ufe0e") or before == _ZWJ or unicodedata.combining(char):
        return True
    if code in _SKIN_TONES or code in _EMOJI_TAGS:
        return True
    if code in _REGIONAL_INDICATORS:  # flags are pairs of regional indicators
        run = 0
        while index - run - 1 >= 0 and ord(text[index - run - 1]) in _REGIONAL_INDICATORS:
            run += 1
        return run % 2 == 1
    return False


def _fit(text: str, budget: int, must_take: bool) -> int:
    """How many characters of `text` fit in `budget` UTF-16 units, not splitting a grapheme.

    With `must_take` (the part is still empty), a grapheme too long for the budget is cut
    between code points rather than not at all.
    """
    count = used = 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            break
        count += 1
    fitted = count
    while 0 < fitted < len(text) and _clings_to_previous(text, fitted):
        fitted -= 1
    return count if fitted == 0 and must_take else fitted


def _apply_tag(stack: tuple[Atom, ...], atom: Atom) -> tuple[Atom, ...]:
    if atom.kind is AtomKind.OPEN:
        return (*stack, atom)
    for index in range(len(stack) - 1, -1, -1):
        if stack[index].name == atom.name:
            return stack[:index]
    return stack  # a stray closing tag closes nothing


@dataclass(frozen=True, slots=True)
class _Cut:
    stop: int  # first atom not in the part
    resume: int  # first atom of the next part
    stack: tuple[Atom, ...]  # tags open at the cut


def _find_cut(atoms: list[Atom], start: int, stack: tuple[Atom, ...], limit: int) -> _Cut | None:
    """Where the part beginning at `start` must end, or None if the rest fits.

    A hard cut inside a run of text splits that atom in two, in place in `atoms`.
    """
    used = 0
    last_newline: _Cut | None = None
    last_space: _Cut | None = None
    for index in range(start, len(atoms)):
        atom = atoms[index]
        if atom.kind in (AtomKind.OPEN, AtomKind.CLOSE):
            stack = _apply_tag(stack, atom)
            continue
        if used + atom.size > limit:
            if last_newline or last_space:
                return last_newline or last_space
            splittable = atom.kind is AtomKind.TEXT and atom.raw == atom.text
            fitted = _fit(atom.text, limit - used, used == 0) if splittable else 0
            if fitted:
                head, tail = atom.text[:fitted], atom.text[fitted:]
                atoms[index : index + 1] = [_text_atom(head, head), _text_atom(tail, tail)]
                index += 1
            return _Cut(index, index, stack)
        used += atom.size
        if index > start and atom.kind is AtomKind.NEWLINE:
            last_newline = _Cut(index, index + 1, stack)
        elif index > start and atom.kind is AtomKind.SPACE:
            last_space = _Cut(index, index + 1, stack)
    return None


def _skip_to_content(atoms: list[Atom], index: int) -> int:
    """Drop the newlines a new part would start with (Telegram trims them anyway)."""
    while index < len(atoms) and atoms[index].kind is AtomKind.NEWLINE:
        index += 1
    return index


def _has_visible_text(body: list[Atom]) -> bool:
    return any(atom.kind is AtomKind.TEXT and atom.text.strip() for atom in body)


def _render(opening: tuple[Atom, ...], body: list[Atom], closing: tuple[Atom, ...]) -> str:
    reopened = "".join(atom.raw for atom in opening)
    closed = "".join(f"</{atom.name}>" for atom in reversed(closing))
    return reopened + "".join(atom.raw for atom in body) + closed


def _trim_opening_tags(body: list[Atom], cut: _Cut) -> tuple[list[Atom], int, tuple[Atom, ...]]:
    """At a hard cut, tags opened just before it move to the next part instead of closing empty."""
    resume, stack = cut.resume, cut.stack
    if cut.stop != cut.resume:
        return body, resume, stack
    while len(body) > 1 and body[-1].kind is AtomKind.OPEN:
        body.pop()
        resume -= 1
        stack = stack[:-1]
    return body, resume, stack


def split_message(html_text: str, limit: int = TELEGRAM_MAX_MESSAGE_CHARS) -> list[str]:
    """Split HTML into parts of at most `limit` Telegram characters, each valid on its own.

    Cuts prefer the last line break that fits, then the last space, then a hard cut that
    keeps emoji sequences, flags and accented letters whole. The break character is dropped.
    A message that fits is returned unchanged as a single part; parts with no visible text
    are left out.
    """
    if limit < MIN_SPLIT_LIMIT_CHARS:
        raise ValueError(f"limit must be at least {MIN_SPLIT_LIMIT_CHARS}, got {limit}")
    if telegram_length(html_text) <= limit:
        return [html_text]
    atoms = tokenize(html_text)
    parts: list[str] = []
    stack: tuple[Atom, ...] = ()
    start = _skip_to_content(atoms, 0)
    while start < len(atoms):
        cut = _find_cut(atoms, start, stack, limit)
        if cut is None:
            if _has_visible_text(atoms[start:]):
                parts.append(_render(stack, atoms[start:], ()))
            break
        body, resume, closing = _trim_opening_tags(atoms[start : cut.stop], cut)
        # Closing tags right after the cut belong to this part; it saves empty reopened pairs.
        while resume < len(atoms) and atoms[resume].kind is AtomKind.CLOSE:
            body.append(atoms[resume])
            closing = _apply_tag(closing, atoms[resume])
            resume += 1
        if _has_visible_text(body):
            parts.append(_render(stack, body, closing))
        stack = closing
        start = _skip_to_content(atoms, resume)
    return parts


def split_plain(text: str, limit: int = TELEGRAM_MAX_MESSAGE_CHARS) -> list[str]:
    """Split plain text (sent without parse mode) by the same rules as `split_message`."""
    escaped = html.escape(text, quote=False)
    return [html_to_plain(part) for part in split_message(escaped, limit)]


def _href(open_tag: Atom) -> str | None:
    match = _HREF_RE.search(open_tag.raw)
    if match is None:
        return None
    value = next(group for group in match.groups() if group is not None)
    return "".join(atom.text for atom in tokenize(value))


def html_to_plain(html_text: str) -> str:
    """Plain-text fallback: entities decoded, tags dropped, links kept as "text (url)"."""
    out: list[str] = []
    links: list[tuple[str | None, int]] = []  # (href, where its text starts in out)
    for atom in tokenize(html_text):
        if atom.kind is AtomKind.OPEN and atom.name == "a":
            links.append((_href(atom), len(out)))
        elif atom.kind is AtomKind.CLOSE and atom.name == "a" and links:
            href, begin = links.pop()
            label = "".join(out[begin:])
            if href and href != label.strip():
                out.append(f" ({href})" if label.strip() else href)
        else:
            out.append(atom.text)
    return "".join(out)
