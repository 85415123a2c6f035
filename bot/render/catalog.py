"""The message catalog: every string marked for translation in `bot/`, and how each shipped
language's `.po` file stands against it (`python -m bot.render.catalog` brings them up to date).

Marks: `_("…")` where a message is shown, `N_("…")` where a table is defined (and, from
`bot.domain.text`, where a reader error's template is raised), `ngettext("…", "…", n)` for
counts. The test suite fails on a msgid a catalog lacks or
leaves untranslated, and on one it keeps that the code no longer has.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.render.i18n import LOCALE_DIR

KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # bot/


def extract() -> Catalog:
    """Every marked message of `bot/`, with where it is used (the template)."""
    template = Catalog(project="Herald", charset="utf-8", fuzzy=False)
    found = extract_from_dir(
        str(PACKAGE_DIR),
        method_map=[("**.py", "python")],
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    )
    for filename, lineno, message, comments, context in found:
        template.add(
            message,
            None,
            [(f"bot/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return template


def read(language: str) -> Catalog:
    with (LOCALE_DIR / f"{language}.po").open("rb") as po:
        return read_po(po, locale=language)


@dataclass(frozen=True)
class Standing:
    """How a language's catalog stands against the code."""

    missing: list[str]  # msgids in the code without a (non-fuzzy, complete) translation
    stale: list[str]  # msgids the catalog keeps that the code no longer has


def _key(message: Message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def _translated(message: Message) -> bool:
    if message.fuzzy:
        return False
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(strings) and all(strings)


def standing(language: str, template: Catalog | None = None) -> Standing:
    template = template or extract()
    catalog = read(language)
    wanted = {_key(m) for m in template if m.id}
    have = {_key(m): m for m in catalog if m.id}
    missing = sorted(k for k in wanted if k not in have or not _translated(have[k]))
    stale = sorted(k for k in have if k not in wanted)
    return Standing(missing, stale)


def update(language: str, template: Catalog) -> None:
    """Merge the template into the language's catalog: new msgids empty, gone ones dropped."""
    catalog = read(language)
    created = catalog.creation_date  # kept: a run that changes nothing leaves the file as it was
    catalog.update(template, no_fuzzy_matching=True)
    catalog.creation_date = created
    with (LOCALE_DIR / f"{language}.po").open("wb") as po:
        # Line numbers left out: they would change the file at every edit of the code.
        write_po(po, catalog, width=100, ignore_obsolete=True, include_lineno=False)


def main() -> int:
    template = extract()
    languages = sorted(path.stem for path in LOCALE_DIR.glob("*.po"))
    for language in languages:
        update(language, template)
        left = standing(language, template).missing
        print(f"{language}: {len(left)} untranslated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
