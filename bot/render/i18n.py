"""Translation of every message: gettext catalogs read from `locale/<lang>.po`, and the
language of the update or chat being answered.

English is the source language (the msgids) and the fallback. The `.po` files are read and
compiled in memory at first use, so a fresh clone needs no build step and the repository
holds no compiled `.mo` file that could go stale.
"""

from __future__ import annotations

import functools
import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALE_DIR = Path(__file__).with_name("locale")
SOURCE_LANGUAGE = "en"

# A context variable, not a global: set as each update's handling starts, and copied into
# every task (and to_thread call) started from there, so updates handled at once and the
# delivery worker never see each other's language.
_language: ContextVar[str] = ContextVar("herald_language", default=SOURCE_LANGUAGE)


@functools.cache
def available() -> tuple[str, ...]:
    """The languages Herald speaks: the source language and every shipped catalog."""
    return (SOURCE_LANGUAGE, *sorted(path.stem for path in LOCALE_DIR.glob("*.po")))


def language_for(code: str | None) -> str:
    """The language to answer a Telegram `language_code` in: 'de-AT' → 'de'; anything
    Herald does not speak (or None) → English."""
    if not code:
        return SOURCE_LANGUAGE
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    return base if base in available() else SOURCE_LANGUAGE


@functools.cache
def own_name(language: str) -> str:
    """A language in its own name, as its speakers look for it: 'English', 'Deutsch'."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


@functools.cache
def catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language` (fuzzy entries left out, as msgfmt does)."""
    path = LOCALE_DIR / f"{language}.po"
    if language == SOURCE_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        messages = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def current() -> str:
    return _language.get()


def set_language(code: str | None) -> str:
    """Answer in this language from now on in the current context; returns the one chosen."""
    language = language_for(code)
    _language.set(language)
    return language


@contextmanager
def use_language(code: str | None) -> Iterator[str]:
    """Render in `code`'s language inside the block (a push to a chat, a test)."""
    token = _language.set(language_for(code))
    try:
        yield _language.get()
    finally:
        _language.reset(token)


def N_(message: str) -> str:
    """Mark a message for the catalog where it is defined; `_()` translates it where it is
    shown (module-level tables are built before any language is known)."""
    return message


def _(message: str) -> str:
    """The message in the current language (the English msgid when it has no translation)."""
    return catalog(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form by the current language's plural rule."""
    return catalog(_language.get()).ngettext(singular, plural, count)


def number(count: int) -> str:
    """A count with the current language's digit grouping: 1,200 / 1.200."""
    return format_decimal(count, locale=_language.get())
