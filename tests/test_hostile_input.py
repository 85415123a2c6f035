"""Generated hostile text and forged buttons, through the real handlers (the console request
path), on the store the suite runs on (SQLite, or PostgreSQL with DATABASE_URL).

For every command and every button: no exception escapes a handler, every message Herald
sends or edits is at most 4,096 characters as Telegram counts them and well-formed Telegram
HTML, every button press is answered, and input that can change nothing (reading commands,
forged buttons) leaves the store exactly as it was.

Bounded for `make test` (HYPOTHESIS_PROFILE unset: a few dozen examples per test);
`HYPOTHESIS_PROFILE=ci` runs many more (.ci/run).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import os
import re
import socket
import time
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from telegram import Update
from telegram.ext import ContextTypes

from bot.config import parse_config
from bot.delivery_policy.split import telegram_length
from bot.interface import handlers
from bot.interface.app import HeraldBot, build_application
from bot.interface.console import BOT_USER, ConsoleRequest
from bot.interface.scopes import GROUP_MEMBER_COMMANDS
from bot.runtime import Runtime
from bot.store.db import session_scope
from tests.helpers import RARE_EARTHS_TOPIC, config_text

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
settings.register_profile(
    "ci", max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

CHAT = 4242  # a bot admin's private chat
GROUP, MEMBER = -100424242, 4343
CONFIG = config_text(admins=[CHAT], topics=[RARE_EARTHS_TOPIC])
# Every command the bot registers, and one it does not know.
EVERY_COMMAND = [*handlers.registered_commands(), "nonsense"]
# What any group member may use changes nothing, by its definition; so do the admins' two reports.
READING_COMMANDS = GROUP_MEMBER_COMMANDS | {"sources", "status"}
# The prefix of every button the bot registers ("st:" from "^st:[a-z]+(:\\d+)*$"), and none.
BUTTON_PREFIXES = (
    *(p.removeprefix("^").split(":", 1)[0] + ":" for p in handlers.registered_button_patterns()),
    "",
)
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a"}
TELEGRAM_TAGS |= {"tg-spoiler", "span", "blockquote", "tg-emoji"}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_ENTITY_RE = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|lt|gt|amp|quot);")

# Text Telegram can deliver: any code point but lone surrogates; hostile bits mixed in.
_SURROGATES: list[Literal["Cs"]] = ["Cs"]
_ANY_CHAR = st.characters(blacklist_categories=_SURROGATES)
_HOSTILE_PIECES = st.sampled_from(
    [
        "\x00",
        "²",
        "٣",
        "Europe/" + "x" * 300,
        "in 99999 hours",
        "<b>",
        "</a>",
        "&amp;",
        "&#0;",
        '"',
        "'",
        "javascript:alert(1)",
        "99999999999999999999",
        "-1",
        "\u202e",
        "🏳️‍🌈",
        "\n",
        "tomorrow",
        "9 July 2099",
        "topic",
        "when",
        "title",
        "remind",
        "shipped-deadline",
        "rare-earths",
        "(",
        "OR",
        "-",
        "a" * 5000,
        "add",
        "remove",
        "https://calendar.example.invalid/x.ics",
        "http://127.0.0.1:1/feed",
    ]
)
HOSTILE_TEXT = st.lists(
    st.one_of(st.text(_ANY_CHAR, max_size=40), _HOSTILE_PIECES), max_size=6
).map(" ".join)
# The data of real buttons (settings pickers, follow and watch suggestions, snooze, proposals,
# pages): a press of these in the private chat changes what it names; in the group, a member's
# press must change nothing.
REAL_BUTTONS = st.sampled_from(
    [
        "st:m",
        "st:tz",
        "st:q:1",
        "st:dg:2",
        "st:rm:1",
        "st:lg:1",
        "st:dt:0:1",
        "st:tt:0:1",
        "fol:shipped-deadline",
        "unf:shipped-deadline",
        "dd:shipped-deadline",
        "wt:rare-earths",
        "uw:rare-earths",
        "mt:rare-earths",
        "sz:1",
        "pa:1:ok",
        "pa:1:no",
        "dl:0",
    ]
)
FORGED_DATA = st.tuples(
    st.sampled_from(BUTTON_PREFIXES),
    st.one_of(
        st.text(_ANY_CHAR, max_size=70),
        st.from_regex(r"\A[0-9]{1,25}(:(ok|no))?\Z"),
        st.from_regex(r"\A[a-z0-9-]{1,64}\Z"),
    ),
).map("".join)


class RecordingRequest(ConsoleRequest):
    """The console's Telegram side, remembering every call's method and parameters."""

    def __init__(self) -> None:
        super().__init__(io.StringIO())
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _answer(self, endpoint: str, params: dict[str, Any]) -> Any:
        self.calls.append((endpoint, dict(params)))
        if endpoint == "getChatMember":  # in the group, everyone but the bot admin is a member
            user = {"id": int(params["user_id"]), "is_bot": False, "first_name": "Ben"}
            return {"status": "member", "user": user}
        return super()._answer(endpoint, params)


class Harness:
    """One Herald on its own store, fed raw updates; remembers what escaped a handler."""

    def __init__(self, database_url: str) -> None:
        self.runtime = Runtime.create(parse_config(CONFIG), database_url)
        self.request = RecordingRequest()
        application = build_application(
            self.runtime,
            "console",
            request=self.request,
            updates_request=self.request,
            rate_limiter=False,
        )
        application.add_error_handler(self._escaped)
        self.herald = HeraldBot(self.runtime, application)
        self.escaped: list[BaseException] = []
        self._ids = itertools.count(1)

    async def _escaped(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if context.error is not None:
            self.escaped.append(context.error)

    async def process(self, payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        before = len(self.request.calls)
        update = Update.de_json(payload, self.herald.application.bot)
        await self.herald.application.process_update(update)
        return self.request.calls[before:]

    @staticmethod
    def _where(in_group_as: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
        """The chat and the sender: the private chat's owner, or user `in_group_as` in the group."""
        if in_group_as is None:
            chat = {"id": CHAT, "type": "private", "first_name": "Ada"}
        else:
            chat = {"id": GROUP, "type": "supergroup", "title": "Desk"}
        return chat, {"id": in_group_as or CHAT, "is_bot": False, "first_name": "Ada"}

    async def say(
        self, line: str, *, in_group_as: int | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """`line` typed in the private chat, or in the group by user `in_group_as`."""
        chat, sender = self._where(in_group_as)
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            "text": line,
        }
        if line.startswith("/"):
            command = line.split(maxsplit=1)[0] if line.split() else line
            length = len(command.encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return await self.process({"update_id": next(self._ids), "message": message})

    async def press(
        self, data: str, *, in_group_as: int | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """A button with `data` pressed in the private chat, or in the group by `in_group_as`."""
        chat, sender = self._where(in_group_as)
        query = {
            "id": str(next(self._ids)),
            "from": sender,
            "chat_instance": "hostile",
            "data": data,
            "message": {
                "message_id": 77,
                "date": int(time.time()),
                "chat": chat,
                "from": BOT_USER,
                "text": "…",
            },
        }
        return await self.process({"update_id": next(self._ids), "callback_query": query})


def snapshot(runtime: Runtime) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table Herald keeps, to compare before and after."""
    # Every table a chat's commands or buttons can write; left out: news items and stories (the
    # poller's), the leader and rate rows (the runtime's own bookkeeping).
    tables = [
        "chat",
        "destination",
        "chat_calendar",
        "deadline",
        "deadline_change",
        "topic",
        "deadline_subscription",
        "topic_subscription",
        "alert",
        "proposal",
        "countdown",
        "source",
    ]
    with session_scope(runtime.engine) as session:
        return {
            table: sorted(
                tuple(str(value) for value in row)
                for row in session.execute(text(f"SELECT * FROM {table}")).all()  # noqa: S608 table names come from the schema
            )
            for table in tables
        }


def valid_telegram_html(html_text: str) -> bool:
    """Tags Telegram knows, properly nested; no stray '<'; every '&' starts an entity."""
    stack: list[str] = []
    position = 0
    for match in _TAG_RE.finditer(html_text):
        between = html_text[position : match.start()]
        if "<" in between or len(_ENTITY_RE.findall(between)) != between.count("&"):
            return False
        position = match.end()
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in TELEGRAM_TAGS:
            return False
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    rest = html_text[position:]
    return not stack and "<" not in rest and len(_ENTITY_RE.findall(rest)) == rest.count("&")


def check_sent(calls: list[tuple[str, dict[str, Any]]]) -> None:
    """Texts within 4,096 characters and captions (a chart, a file) within 1,024, as Telegram
    counts them; both well-formed Telegram HTML when sent as HTML."""
    for method, params in calls:
        if method in ("sendMessage", "editMessageText"):
            body, limit = str(params["text"]), 4096
        elif method in ("sendPhoto", "sendDocument") and params.get("caption"):
            body, limit = str(params["caption"]), 1024
        else:
            continue
        assert telegram_length(body) <= limit, (method, telegram_length(body))
        if params.get("parse_mode") == "HTML":
            assert valid_telegram_html(body), body[:500]


def no_name_lookups(host: Any, *args: Any, **kwargs: Any) -> Any:
    """getaddrinfo for the loopback only: text that reaches a URL reader (/calendar add, a
    source) must never send this suite to the internet."""
    if host in ("127.0.0.1", "localhost", "::1", None):
        return REAL_GETADDRINFO(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, f"{host}: no name lookups in the hostile suite")


REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def harness(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Harness, asyncio.AbstractEventLoop]]:
    monkeypatch.setattr(socket, "getaddrinfo", no_name_lookups)
    loop = asyncio.new_event_loop()
    running = Harness(database_url)
    loop.run_until_complete(running.herald.start(polling=False))
    loop.run_until_complete(running.say("/start"))
    try:
        yield running, loop
    finally:
        loop.run_until_complete(running.herald.stop())
        loop.close()


def test_hostile_text_to_any_command_is_handled_and_only_valid_messages_are_sent(
    harness: tuple[Harness, asyncio.AbstractEventLoop],
) -> None:
    running, loop = harness

    @given(command=st.sampled_from(EVERY_COMMAND), argument=HOSTILE_TEXT)
    def one(command: str, argument: str) -> None:
        running.escaped.clear()
        reading = command in READING_COMMANDS
        before = snapshot(running.runtime) if reading else None
        calls = loop.run_until_complete(running.say(f"/{command} {argument}"))
        assert running.escaped == [], running.escaped
        check_sent(calls)
        if before is not None:
            assert snapshot(running.runtime) == before

    one()


def test_a_forged_button_press_is_answered_with_valid_text_and_changes_nothing(
    harness: tuple[Harness, asyncio.AbstractEventLoop],
) -> None:
    running, loop = harness
    before = snapshot(running.runtime)

    @given(data=FORGED_DATA)
    def one(data: str) -> None:
        running.escaped.clear()
        calls = loop.run_until_complete(running.press(data))
        assert running.escaped == [], running.escaped
        check_sent(calls)
        assert [method for method, _ in calls].count("answerCallbackQuery") >= 1, calls
        assert snapshot(running.runtime) == before

    one()


def test_group_members_change_nothing_by_any_command(
    harness: tuple[Harness, asyncio.AbstractEventLoop],
) -> None:
    """Whatever a group member (not an admin) sends, the store stays as it was."""
    running, loop = harness
    loop.run_until_complete(running.say("/start", in_group_as=MEMBER))
    before = snapshot(running.runtime)

    @given(
        command=st.sampled_from([c for c in EVERY_COMMAND if c != "start"]), argument=HOSTILE_TEXT
    )
    def one(command: str, argument: str) -> None:
        running.escaped.clear()
        calls = loop.run_until_complete(running.say(f"/{command} {argument}", in_group_as=MEMBER))
        assert running.escaped == [], running.escaped
        check_sent(calls)
        assert snapshot(running.runtime) == before

    one()


def test_a_real_settings_button_changes_the_private_chat(
    harness: tuple[Harness, asyncio.AbstractEventLoop],
) -> None:
    """The control for the test below: these button data do change things when they may."""
    running, loop = harness
    before = snapshot(running.runtime)
    calls = loop.run_until_complete(running.press("st:q:1"))
    assert [method for method, _ in calls].count("answerCallbackQuery") == 1
    assert snapshot(running.runtime)["chat"] != before["chat"]


def test_group_members_pressing_any_button_change_nothing(
    harness: tuple[Harness, asyncio.AbstractEventLoop],
) -> None:
    """Real buttons and forged ones, pressed in a group by a member who is not its admin."""
    running, loop = harness
    for line in ("/start", "/follow shipped-deadline", "/watch rare-earths"):
        loop.run_until_complete(running.say(line, in_group_as=CHAT))  # the bot's admin
    before = snapshot(running.runtime)
    assert any(str(GROUP) in row for row in before["deadline_subscription"])
    assert any(str(GROUP) in row for row in before["topic_subscription"])

    @given(data=st.one_of(REAL_BUTTONS, FORGED_DATA))
    def one(data: str) -> None:
        running.escaped.clear()
        calls = loop.run_until_complete(running.press(data, in_group_as=MEMBER))
        assert running.escaped == [], running.escaped
        check_sent(calls)
        assert [method for method, _ in calls].count("answerCallbackQuery") >= 1, calls
        assert snapshot(running.runtime) == before

    one()
