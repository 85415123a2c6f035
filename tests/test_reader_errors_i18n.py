"""Reader refusals (dates, offsets, rules, queries, files) reach a chat in the reader's language,
while `str(error)` stays the English sentence for the command line, logs and check-config."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.natural import WhenError, parse_when
from bot.domain.query import QuerySyntaxError, parse_query
from bot.domain.recurrence import RecurrenceError, validate_rule
from bot.domain.ssrf import UnsafeAddress, check_url
from bot.domain.text import ReaderError
from bot.interface.app import HeraldBot
from bot.render.common import reader_error
from bot.render.i18n import use_language
from tests.fakebot import ServedAPI
from tests.helpers import say
from tests.telegram_html import check_telegram_html

GERMAN, ENGLISH = 4401, 4402
DOMAIN_DIR = Path(__file__).resolve().parent.parent / "bot" / "domain"


async def test_a_german_user_gets_german_reader_errors(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, GERMAN, "/start", language="de")
    date = await say(bot_api, GERMAN, "/add Blursday lunch", language="de")
    assert "am Anfang von „Blursday lunch“ kann ich kein Datum lesen" in date, date
    assert "I can't read" not in date
    query = await say(bot_api, GERMAN, "/watch (chips", language="de")
    assert "offene „(“ an Position 0: füge eine schließende „)“ hinzu" in query, query
    offset = await say(bot_api, GERMAN, "/remind some-id 7x", language="de")
    assert "„7x“ ist kein Abstand" in offset, offset
    for call in bot_api.api.sent(GERMAN):
        check_telegram_html(str(call.params["text"]))


async def test_an_english_user_gets_the_english_reader_errors(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, ENGLISH, "/start", language="en")
    date = await say(bot_api, ENGLISH, "/add Blursday lunch", language="en")
    assert "I couldn't read that: I can't read a date at the start of 'Blursday lunch';" in date
    query = await say(bot_api, ENGLISH, "/watch (chips", language="en")
    assert "I couldn't read that query: unclosed '(' at position 0: add a closing ')'" in query


def test_str_of_a_reader_error_stays_english() -> None:
    with pytest.raises(QuerySyntaxError) as caught, use_language("de"):
        parse_query("(chips")
    assert str(caught.value) == "unclosed '(' at position 0: add a closing ')'"
    assert caught.value.message == str(caught.value)
    with use_language("de"):
        assert reader_error(caught.value) == (
            "offene „(“ an Position 0: füge eine schließende „)“ hinzu"
        )


def test_a_refusal_quoted_inside_another_is_worded_in_the_same_language() -> None:
    with pytest.raises(RecurrenceError) as caught:
        validate_rule("0 8 * * 9#1")
    assert str(caught.value).startswith("in cron rule '0 8 * * 9#1': '9' is not between 0 and 7")
    with use_language("de"):
        assert reader_error(caught.value) == (
            "in der Cron-Regel „0 8 * * 9#1“: „9“ liegt nicht zwischen 0 und 7"
        )


def test_an_unmarked_template_and_plain_text_are_shown_as_they_are() -> None:
    with use_language("de"):
        assert reader_error(WhenError("no such template {x}", x="{y}")) == "no such template {y}"
        assert reader_error("already worded") == "already worded"


def _raised_templates(path: Path) -> list[tuple[int, str]]:
    """Reader errors raised in `path` whose first argument is not marked with N_ (or a name
    bound to a marked template)."""
    unmarked = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if not node.func.id.endswith("Error") or node.func.id == "ValueError" or not node.args:
            continue
        first = node.args[0]
        marked = isinstance(first, ast.Call) and getattr(first.func, "id", "") == "N_"
        if not marked and not isinstance(first, ast.Name):
            unmarked.append((node.lineno, ast.unparse(first)))
    return unmarked


@pytest.mark.parametrize("path", sorted(DOMAIN_DIR.glob("*.py")), ids=lambda p: p.name)
def test_every_reader_error_in_the_domain_is_marked(path: Path) -> None:
    assert _raised_templates(path) == []


def test_every_reader_error_class_carries_a_template() -> None:
    from bot.domain.offsets import OffsetError, ZoneError
    from bot.domain.opml import OpmlError
    from bot.domain.source_kinds import SourceSpecError

    for kind in (WhenError, OffsetError, ZoneError, RecurrenceError, QuerySyntaxError):
        assert issubclass(kind, ReaderError)
    assert issubclass(OpmlError, ReaderError) and issubclass(SourceSpecError, ReaderError)


def test_dates_in_a_reader_error_are_worded_in_the_readers_language() -> None:
    now = datetime(2025, 7, 1, 12, tzinfo=UTC)
    with pytest.raises(WhenError) as caught:
        parse_when("Friday 9 July Deal", zone="UTC", now=now)
    english = "9 July 2025 is a Wednesday, not a Friday"
    assert str(caught.value) == english
    with use_language("de"):
        assert reader_error(caught.value) == "der 9 Juli 2025 ist ein Mittwoch, kein Freitag"
    with use_language("en"):
        assert reader_error(caught.value) == english


async def test_a_german_user_reads_a_wrong_weekday_in_german(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, GERMAN, "/start", language="de")
    reply = await say(bot_api, GERMAN, "/add Friday 9 July 2099 Deal", language="de")
    assert "der 9 Juli 2099 ist ein Donnerstag, kein Freitag" in reply, reply
    assert "Thursday" not in reply and "July 2099" not in reply


async def test_an_address_refusal_is_worded_in_the_readers_language() -> None:
    async def to_metadata(host: str, port: int) -> list[str]:
        return ["::ffff:169.254.169.254"]

    with pytest.raises(UnsafeAddress) as caught:
        await check_url("http://meta.test/latest", to_metadata)
    english = "meta.test resolves to a IPv6 wrapping a cloud metadata address ::ffff:a9fe:a9fe"
    assert str(caught.value) == english
    with use_language("de"):
        assert reader_error(caught.value) == (
            "meta.test verweist auf eine IPv6-Adresse, die eine Cloud-Metadaten-Adresse"
            " einbettet ::ffff:a9fe:a9fe"
        )


async def test_a_german_user_adding_a_local_address_reads_why_in_german(
    bot_api: ServedAPI, herald: HeraldBot
) -> None:
    await say(bot_api, GERMAN, "/start", language="de")
    loopback = await say(bot_api, GERMAN, "/calendar add http://127.0.0.1/x.ics", language="de")
    assert "Loopback-Adresse 127.0.0.1" in loopback, loopback
    metadata = await say(bot_api, GERMAN, "/calendar add http://169.254.169.254/x", language="de")
    assert "Cloud-Metadaten-Adresse 169.254.169.254" in metadata, metadata
    assert "address" not in loopback + metadata
    for call in bot_api.api.sent(GERMAN):
        check_telegram_html(str(call.params["text"]))
