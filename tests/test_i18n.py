"""Translation: the German catalog is complete and sound, and a chat reads Herald in the
language of the person writing (Telegram's `language_code`), English otherwise."""

from __future__ import annotations

import ast
import re
import string
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
from babel.messages.catalog import Message
from babel.messages.pofile import write_po
from sqlmodel import select

from bot.interface.app import HeraldBot
from bot.interface.countdowns import refresh_countdowns
from bot.render import catalog
from bot.render.chat import welcome
from bot.render.i18n import _, available, language_for, ngettext, use_language
from bot.services.outbox import NewAlert, enqueue
from bot.store.db import session_scope
from bot.store.models import Chat, Countdown
from tests.fakebot import ServedAPI
from tests.helpers import eventually, say
from tests.telegram_html import check_telegram_html

# Telegram's HTML tags and entities (a plain-text message may show "<url>" literally).
TAG = re.compile(r"</?(?:b|i|u|s|a|code|pre|blockquote|tg-spoiler)(?:\s[^>]*)?>|&[a-z]+;")
SHIPPED = [language for language in available() if language != "en"]


@pytest.fixture(scope="module")
def template() -> object:
    return catalog.extract()


def _pairs(message: Message) -> list[tuple[str, str]]:
    """(msgid, msgstr) for each form: singular with singular, plural with every plural."""
    if isinstance(message.id, str):
        return [(message.id, str(message.string))]
    singular, plural = message.id
    assert isinstance(message.string, tuple | list), message.id
    forms = list(message.string)
    return [(singular, forms[0])] + [(plural, form) for form in forms[1:]]


def _fields(text: str) -> Counter[str]:
    return Counter(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_there_is_a_second_language() -> None:
    assert SHIPPED == ["de"]


@pytest.mark.parametrize("language", SHIPPED)
def test_catalog_has_every_message_of_the_code_and_no_stale_one(
    language: str, template: object
) -> None:
    """Fails on a marked string the catalog lacks or leaves empty or fuzzy, and on one it
    keeps that the code dropped. Fix: `python -m bot.render.catalog`, then translate."""
    standing = catalog.standing(language, template)  # type: ignore[arg-type]
    assert standing.missing == []
    assert standing.stale == []


def test_the_code_marks_its_messages(template: object) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}  # type: ignore[attr-defined]
    assert "Herald commands" in ids and "{n} deadline" in ids
    assert len(ids) > 250


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_keep_the_placeholders_and_markup_of_their_msgid(language: str) -> None:
    """A missing {title} would raise KeyError at send time; a lost <b> breaks the HTML."""
    for message in catalog.read(language):
        if not message.id:
            continue
        for msgid, msgstr in _pairs(message):
            assert _fields(msgstr) == _fields(msgid), (msgid, msgstr)
            assert Counter(TAG.findall(msgstr)) == Counter(TAG.findall(msgid)), (msgid, msgstr)


@pytest.mark.parametrize("language", SHIPPED)
def test_every_translation_is_telegram_html_once_filled_in(language: str) -> None:
    for message in catalog.read(language):
        if not message.id:
            continue
        for msgid, msgstr in _pairs(message):
            if not TAG.search(msgid):
                continue  # plain text: escaped where it is used (tests/test_render.py)
            check_telegram_html(msgstr.format_map({k: "x" for k in _fields(msgstr)}))


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("de", "de"),
        ("de-AT", "de"),
        ("DE_ch", "de"),
        ("en", "en"),
        ("en-GB", "en"),
        ("fr", "en"),
        ("", "en"),
        (None, "en"),
        ("xx-unknown", "en"),
    ],
)
def test_language_follows_telegram_language_code(code: str | None, language: str) -> None:
    assert language_for(code) == language


def test_german_plurals_follow_the_count() -> None:
    with use_language("de"):
        assert ngettext("{n} deadline", "{n} deadlines", 1).format(n=1) == "1 Frist"
        assert ngettext("{n} deadline", "{n} deadlines", 2).format(n=2) == "2 Fristen"
        assert ngettext("{n} deadline", "{n} deadlines", 0).format(n=0) == "0 Fristen"
        assert "1 Frist und 1 Thema" in welcome(None, True, 1, 1, "Europe/Berlin").text
    assert "1 deadline and 2 topics" in welcome(None, True, 1, 2, "Europe/Berlin").text


def test_a_language_is_used_only_inside_its_block() -> None:
    with use_language("de"):
        assert _("Settings") == "Einstellungen"
    assert _("Settings") == "Settings"


# --- end to end, through the fake Bot API -------------------------------------------------

GERMAN, ENGLISH, UNKNOWN = 7101, 7102, 7103


@pytest.fixture
def herald_config() -> str:
    return """
timezone: Europe/Berlin
deadlines:
  - id: ecb-meeting
    title: ECB meeting
    due: 2099-06-04T13:45
topics:
  - id: rare-earths
    title: Rare earths
    query: '"rare earth"'
  - id: chips
    title: Chips
    query: chips
"""


async def test_a_german_user_gets_german_replies(bot_api: ServedAPI, herald: HeraldBot) -> None:
    started = await say(bot_api, GERMAN, "/start", language="de")
    assert started.startswith("Willkommen!")
    assert "Du folgst jetzt 1 Frist und 2 Themen" in started  # plurals by the German rule
    [start_reply] = bot_api.api.sent(GERMAN)
    labels = [
        b["text"] for row in start_reply.params["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert labels == ["Fristen ansehen", "Themen wählen", "Einstellungen"]
    assert (await say(bot_api, GERMAN, "/help", language="de")).startswith("<b>Herald-Befehle</b>")
    unknown = await say(bot_api, GERMAN, "/frobnicate", language="de")
    assert unknown == "Ich kenne /frobnicate nicht. Sende /help, um zu sehen, was ich verstehe."
    refused = await say(bot_api, GERMAN, "/quiet tonight", language="de")
    assert refused.startswith("„tonight“ ist kein Zeitraum. Ruhezeiten sehen so aus: ")
    no_such = await say(bot_api, GERMAN, "/follow ecb-meting", language="de-AT")
    assert no_such.startswith("Keine Frist mit der ID <code>ecb-meting</code>.")
    for call in bot_api.api.sent(GERMAN):
        check_telegram_html(str(call.params["text"]))


async def test_english_and_unknown_languages_get_english(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    assert (await say(bot_api, ENGLISH, "/start", language="en")).startswith("Welcome!")
    assert (await say(bot_api, UNKNOWN, "/start", language="pt-br")).startswith("Welcome!")
    assert (await say(bot_api, UNKNOWN, "/help")).startswith("<b>Herald commands</b>")
    assert "I don't know /frobnicate" in await say(bot_api, UNKNOWN, "/frobnicate", language="fr")


async def test_pushes_to_a_chat_use_the_language_last_seen_there(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, GERMAN, "/start", language="de")
    await say(bot_api, ENGLISH, "/start", language="en")

    def languages() -> dict[int, str | None]:
        with session_scope(herald.runtime.engine) as session:
            return dict(session.exec(select(Chat.id, Chat.language)).all())

    # Stored after the reply (the chat exists only once /start has run).
    await eventually(lambda: languages() == {GERMAN: "de", ENGLISH: "en"})
    reached = {
        "slug": "ecb-meeting",
        "title": "ECB meeting",
        "due_at": "2099-06-04T11:45:00+00:00",
        "timezone": "Europe/Berlin",
        "all_day": False,
    }
    with session_scope(herald.runtime.engine) as session:
        enqueue(
            session,
            [NewAlert(chat, "reached", "deadline_reached", reached) for chat in (GERMAN, ENGLISH)],
        )
    herald.runtime.outbox.notify()
    api = bot_api.api
    await api.wait_for(lambda: len(api.sent(GERMAN)) == 2 and len(api.sent(ENGLISH)) == 2)
    assert str(api.sent(GERMAN)[1].params["text"]).startswith("🚨 <b>Frist erreicht</b>")
    assert str(api.sent(ENGLISH)[1].params["text"]).startswith("🚨 <b>Deadline reached</b>")
    [[german_button]] = api.sent(GERMAN)[1].params["reply_markup"]["inline_keyboard"]
    assert german_button["text"] == "Nicht mehr folgen"


async def test_countdown_edits_keep_the_chats_language(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    """The /countdown message is edited by a job, with no sender: the chat's language."""
    herald.runtime.scheduler.remove_job("countdowns")  # this test runs the job itself
    await say(bot_api, GERMAN, "/start", language="de")
    first = await say(bot_api, GERMAN, "/countdown ecb-meeting", language="de")
    assert first.startswith("⏳ <b>ECB meeting</b>: noch ")
    await eventually(lambda: countdown_due(herald) is not None)
    with time_machine.travel(countdown_due(herald), tick=False):
        assert await refresh_countdowns(herald.runtime, herald.application.bot) == 1
    [edit] = [c for c in bot_api.api.calls if c.method == "editMessageText"]
    assert "\nFällig " in str(edit.params["text"])
    assert "<i>Aktualisiert " in str(edit.params["text"])


def countdown_due(herald: HeraldBot) -> datetime | None:
    with session_scope(herald.runtime.engine) as session:
        row = session.exec(select(Countdown).where(Countdown.message_id.is_not(None))).first()  # type: ignore[union-attr]
        return row.next_edit_at if row is not None else None


# --- no sentence outside the catalog ------------------------------------------------------

PROSE = re.compile(r"[A-Za-z]{2,} [a-z]{2,}")
MARKS = {"_", "N_", "ngettext"}
# Command lines are typed input, not prose (/help examples, /add hints): never translated.
COMMAND_TABLES = {"HelpDetail", "_fixed"}
SCANNED = sorted(
    [*Path("bot/render").glob("*.py"), *Path("bot/interface").glob("*.py")],
)
NOT_SCANNED = {
    "bot/render/i18n.py",
    "bot/render/catalog.py",
    "bot/interface/console.py",  # the operator's terminal: English, like the command line
}


def _unmarked_prose(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
            continue
        if not PROSE.search(node.value) or isinstance(parents.get(node), ast.Expr):
            continue  # not prose, or a docstring
        if _exempt(node, parents):
            continue
        found.append(f"{path}:{node.lineno}: {node.value[:70]!r}")
    return found


def _exempt(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.JoinedStr):
        first = parent.values[0]
        if isinstance(first, ast.Constant) and str(first.value).startswith("/"):
            return True  # an f-string command line: f"/add {date} Tariff truce expires"
    if isinstance(node, ast.Constant) and str(node.value).startswith("/"):
        return True
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Compare):
            return True  # matching Telegram's own error text
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in MARKS | COMMAND_TABLES:
                return True
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "log"
            ):
                return True  # log lines are for operators
    return False


def test_no_user_facing_sentence_escapes_the_catalog() -> None:
    """Every sentence in the render layer and the Telegram edge is marked for translation
    (handlers hold none of their own); log lines and typed command examples are exempt."""
    found = [
        line for path in SCANNED if str(path) not in NOT_SCANNED for line in _unmarked_prose(path)
    ]
    assert found == []


def test_catalog_update_adds_new_messages_and_drops_stale_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make messages` on a catalog that lags the code: new msgids come in empty (and are
    counted), dropped ones go, translations kept."""
    po = catalog.read("de")
    po.delete("Saved.")  # the code has it, the catalog lost it
    po.add("A message the code no longer has", "Eine Nachricht, die es nicht mehr gibt")
    with (tmp_path / "de.po").open("wb") as out:
        write_po(out, po)
    monkeypatch.setattr(catalog, "LOCALE_DIR", tmp_path)
    before = catalog.standing("de")
    assert (before.missing, before.stale) == (["Saved."], ["A message the code no longer has"])

    assert catalog.main() == 0
    assert capsys.readouterr().out == "de: 1 untranslated\n"
    after = catalog.standing("de")
    assert (after.missing, after.stale) == (["Saved."], [])
    settings = catalog.read("de").get("Settings")
    assert settings is not None and settings.string == "Einstellungen"
