"""A checker for the HTML subset Telegram accepts in parse mode HTML, for render tests.

Telegram refuses a whole message (400 "can't parse entities") when a tag is unknown, an
attribute is not allowed, tags are unbalanced or crossed, or a bare `<`, `>` or `&` appears in
text. It knows four named entities and every numeric one. See core.telegram.org/bots/api
(Formatting options, HTML style).
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "tg-spoiler": frozenset(),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "tg-emoji": frozenset({"emoji-id"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
}
# Where a link may lead: a `javascript:` or `data:` link is refused, and should never be sent.
LINK_SCHEMES = frozenset({"http", "https", "tg", "mailto"})
MAX_MESSAGE_CHARS = 4096  # counted in UTF-16 code units of the text once tags are parsed
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z-]*)(?:\s[^<>]*)?>")


class TelegramHTMLError(AssertionError):
    """The text would be refused by Telegram, or carries a link it must not."""


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_ATTRIBUTES:
            raise TelegramHTMLError(f"tag <{tag}> is not one Telegram knows")
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES[tag]:
                raise TelegramHTMLError(f"attribute {name!r} is not allowed on <{tag}>")
            if tag == "a" and name == "href":
                scheme = urlsplit(value or "").scheme.lower()
                if scheme not in LINK_SCHEMES:
                    raise TelegramHTMLError(f"link with scheme {scheme!r}: {value!r}")
            if tag == "span" and value != "tg-spoiler":
                raise TelegramHTMLError(f"<span class={value!r}> is not a spoiler")
        if tag == "a" and "a" in self.open:
            raise TelegramHTMLError("a link inside a link")
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TelegramHTMLError(f"self-closing <{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            raise TelegramHTMLError(f"</{tag}> closes nothing open (open: {self.open})")
        self.open.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            raise TelegramHTMLError(f"named entity &{name}; is not one of the four Telegram knows")

    def handle_comment(self, data: str) -> None:
        raise TelegramHTMLError("comments are not allowed")

    def handle_decl(self, decl: str) -> None:
        raise TelegramHTMLError("declarations are not allowed")

    def handle_pi(self, data: str) -> None:
        raise TelegramHTMLError("processing instructions are not allowed")


def check_telegram_html(text: str) -> str:
    """Raise TelegramHTMLError unless `text` is HTML Telegram accepts; return it otherwise."""
    outside_tags = _TAG.sub("", text)
    for bare in ("<", ">"):
        if bare in outside_tags:
            raise TelegramHTMLError(f"bare {bare!r} in text: {outside_tags[:200]!r}")
    if "&" in _ENTITY.sub("", outside_tags):
        raise TelegramHTMLError(f"bare '&' in text: {outside_tags[:200]!r}")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.open:
        raise TelegramHTMLError(f"tags left open: {checker.open}")
    return text


def visible_length(text: str) -> int:
    """The length Telegram holds against its limit: tags gone, entities decoded, UTF-16."""
    return len(html.unescape(_TAG.sub("", text)).encode("utf-16-le")) // 2
