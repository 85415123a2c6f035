"""Every example Herald shows (in /help, in /help <command>, in README's command table) runs
as shown against the shipped config, through the real handlers, without an error reply."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import load_config
from bot.interface.app import HeraldBot
from bot.interface.handlers import registered_help
from bot.render.help import HELP_DETAILS
from tests.fakebot import ServedAPI
from tests.helpers import running_herald
from tests.test_deadline_commands import ADA

ROOT = Path(__file__).resolve().parent.parent
# How Herald's refusals and error replies begin, and what they contain: none may appear.
ERROR_STARTS = (
    "I couldn't read",
    "No deadline with id",
    "I don't know",
    "Usage:",
    "Sorry, something went wrong",
    "Only ",
    "Send /start first",
    "This chat does not follow",
    "There is no /",
    "No calendar",
    "This chat already",
    "Use /",
)
ERROR_MARKS = (
    "is not a",
    "is out of range",
    "Nothing was added",
    "already decided",
    "not yours",
    "can't",
    "cannot",
)
REPLY_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
END_MARK = "zz-end-of-example"
# Needs a file, which a text example cannot carry; the console test covers /import PATH.
NOT_RUNNABLE = {"import"}


@pytest.fixture
async def herald(bot_api: ServedAPI, database_url: str) -> AsyncIterator[HeraldBot]:
    shipped = load_config(ROOT / "config.yaml")
    # The shipped deadlines and topics; no sources or calendars (tests never touch the internet).
    # One person typing every example at machine speed: above the default flood limit.
    config = shipped.model_copy(
        update={"sources": [], "calendars": [], "admins": [ADA], "commands_per_minute": 1000}
    )
    async with running_herald(config, database_url) as bot:
        yield bot


def _replies(api: ServedAPI) -> list[str]:
    return [
        str(c.params.get("text") or c.params.get("caption") or "")
        for c in api.api.calls
        if c.method in REPLY_METHODS and int(c.params["chat_id"]) == ADA
    ]


async def run_example(api: ServedAPI, example: str) -> str:
    """Send the example; return its replies (and the Confirm result of an /add preview).

    A marker command follows the example: updates are handled in order, so once the marker's
    answer is in, every reply to the example is too, however many there were.
    """
    before = len(_replies(api))
    await api.api.push_text(ADA, example)
    await api.api.push_text(ADA, f"/help {END_MARK}")
    await api.api.wait_for(lambda: any(END_MARK in r for r in _replies(api)[before:]))
    answers = [r for r in _replies(api)[before:] if END_MARK not in r]
    assert answers, f"{example!r} got no reply"
    answer = "\n".join(answers)
    if example.startswith("/add "):
        preview = [
            c for c in api.api.calls if c.method == "sendMessage" and "Confirm" in str(c.params)
        ]
        confirm = dict(api.api.buttons(preview[-1])).get("Confirm") if preview else None
        assert confirm, f"{example!r} gave no Confirm button: {answer}"
        edits = len([c for c in api.api.calls if c.method == "editMessageText"])
        await api.api.press(ADA, confirm)
        await api.api.wait_for(
            lambda: len([c for c in api.api.calls if c.method == "editMessageText"]) > edits
        )
        answer = str(
            [c for c in api.api.calls if c.method == "editMessageText"][edits].params["text"]
        )
    return answer


async def assert_all_work(api: ServedAPI, examples: Iterable[str]) -> list[str]:
    await run_example(api, "/start")
    ran = []
    for example in examples:
        if "https://" in example:
            continue  # it would fetch from the internet; tests/test_calendar_commands.py covers it
        answer = await run_example(api, example)
        marks = [mark for mark in ERROR_MARKS if mark in answer]
        marks += [start for start in ERROR_STARTS if answer.startswith(start)]
        assert not marks, f"{example!r} got an error reply: {answer!r}"
        ran.append(example)
    return ran


async def test_every_help_list_example_works(herald: HeraldBot, bot_api: ServedAPI) -> None:
    examples = [example for name, example, _ in registered_help() if name not in NOT_RUNNABLE]
    ran = await assert_all_work(bot_api, examples)
    assert len(ran) >= 20


async def test_every_help_command_example_works(herald: HeraldBot, bot_api: ServedAPI) -> None:
    today = datetime.now(UTC).date()
    names = [name for name, _, _ in registered_help()]
    assert set(names) <= set(HELP_DETAILS), "every command needs its /help <command> entry"
    examples = [
        example
        for name in names
        for example in HELP_DETAILS[name].examples(today)
        if name not in NOT_RUNNABLE
    ]
    # Every command but the file-only one shows at least one example; most show two.
    assert all(HELP_DETAILS[n].examples(today) for n in names if n not in NOT_RUNNABLE)
    await assert_all_work(bot_api, examples)
    detail = await run_example(bot_api, "/help add")
    assert "Usage: <code>/add &lt;when&gt; &lt;title&gt;</code>" in detail
    assert str(today.year - 1) not in detail  # never a date of last year
    assert (await run_example(bot_api, "/help nope")).startswith("There is no /nope command.")


def readme_examples() -> list[str]:
    """The examples column of README's chat command table, each `code` span."""
    readme = (ROOT / "README.md").read_text()
    table = readme.split("| command | example | what it does |", 1)[1].split("\n\n", 1)[0]
    examples = []
    for row in table.splitlines()[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        examples += [code for code in re.findall(r"`([^`]+)`", cells[1]) if code.startswith("/")]
    return examples


async def test_every_readme_command_example_works(herald: HeraldBot, bot_api: ServedAPI) -> None:
    examples = readme_examples()
    assert "/timeline" in examples and "/export" in examples
    await assert_all_work(bot_api, examples)
