"""Console mode: the same application and handlers, with the chat in the terminal.

The bot's requests go to `ConsoleRequest`, which plays the Telegram side: it prints what the
bot sends and remembers its buttons. Each typed line becomes an Update processed by the real
handlers, in order; `[Label]` presses the most recent button with that label.
`/import PATH` sends the file at PATH as the document the /import command replies to, so the
real import handler reads it (through getFile and a download this side answers). A chart or a
file Herald sends (/timeline, /export) is saved in a folder of its own under the system's
temporary folder, and its path printed with the caption.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import sys
import tempfile
import threading
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, TextIO

from sqlmodel import col, func, select
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.interface.app import HeraldBot, build_application
from bot.runtime import Runtime
from bot.store.db import session_scope
from bot.store.models import Alert, utcnow

CONSOLE_CHAT_ID = 1
CONSOLE_USER_ID = 1
BOT_USER = {"id": 42, "is_bot": True, "first_name": "Herald", "username": "herald_console_bot"}
DRAIN_TIMEOUT_S = 5.0
BUTTON_RE = re.compile(r"^\[(.+)\]$")
IMPORT_RE = re.compile(r"^/import(?:@\w+)?\s+(\S.*)$")
# The Bot API methods that upload a file, and the parameter that carries it.
FILE_METHODS = {"sendPhoto": "photo", "sendDocument": "document"}


class _PlainText(HTMLParser):
    """Telegram HTML to terminal text: tags dropped, links shown after their text."""

    def __init__(self, bold: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.bold = bold
        self._links: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("b", "strong") and self.bold:
            self.parts.append("\033[1m")
        if tag == "a":
            self._links.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("b", "strong") and self.bold:
            self.parts.append("\033[0m")
        if tag == "a" and self._links:
            href = self._links.pop()
            if href:
                self.parts.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_terminal(text: str, *, bold: bool = False) -> str:
    parser = _PlainText(bold)
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


class ConsoleRequest(BaseRequest):
    """The Telegram side of a console chat: answers the Bot API methods Herald uses."""

    def __init__(self, out: TextIO, *, color: bool = False) -> None:
        self.out = out
        self.color = color
        self._message_ids = itertools.count(1000)
        self.buttons: dict[str, tuple[str, int, str]] = {}  # label -> (data, message_id, text)
        self.files: dict[str, str] = {}  # file id -> local path, for /import PATH
        self.sent = 0
        self.saved_dir: str | None = None  # made on the first file Herald sends
        self._uploads: dict[str, Any] = {}  # the current request's files, by parameter

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # BaseRequest.do_request's signature: no network, so no method or timeouts to apply.
    async def do_request(
        self,
        url: str,
        method: str,  # noqa: ARG002
        request_data: RequestData | None = None,
        read_timeout: Any = None,  # noqa: ARG002
        write_timeout: Any = None,  # noqa: ARG002
        connect_timeout: Any = None,  # noqa: ARG002
        pool_timeout: Any = None,  # noqa: ARG002
    ) -> tuple[int, bytes]:
        for file_id, path in self.files.items():
            if url.endswith(f"/console-files/{file_id}"):
                with open(path, "rb") as handle:
                    return 200, handle.read()
        endpoint = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        self._uploads = dict(request_data.multipart_data) if request_data else {}
        result = self._answer(endpoint, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, endpoint: str, params: dict[str, Any]) -> Any:
        if endpoint == "getMe":
            return BOT_USER
        if endpoint in ("sendMessage", "editMessageText"):
            return self._show(endpoint, params)
        if endpoint in FILE_METHODS:
            return self._save_file(endpoint, params)
        if endpoint == "answerCallbackQuery":
            if params.get("text"):
                self._print(f"  ({params['text']})")
            return True
        if endpoint == "getUpdates":
            return []
        if endpoint == "getFile":
            file_id = str(params["file_id"])
            return {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_size": os.path.getsize(self.files[file_id]),
                "file_path": f"console-files/{file_id}",
            }
        return True

    def _show(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        message_id = int(params.get("message_id") or next(self._message_ids))
        text = str(params.get("text", ""))
        marker = "(edited) " if endpoint == "editMessageText" else ""
        body = html_to_terminal(text, bold=self.color)
        self._print("herald> " + marker + body.replace("\n", "\n        "))
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        labels = []
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                label = button["text"]
                if button.get("callback_data"):
                    self.buttons[label] = (button["callback_data"], message_id, text)
                    labels.append(f"[{label}]")
                elif button.get("url"):
                    labels.append(f"[{label} ↗ {button['url']}]")
        if labels:
            self._print("        " + " ".join(labels))
        self.sent += 1
        return {
            "message_id": message_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {
                "id": int(params.get("chat_id", CONSOLE_CHAT_ID)),
                "type": "private",
                "first_name": "You",
            },
            "from": BOT_USER,
            "text": body,
        }

    def _save_file(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any]:
        """Save a chart or a file Herald sends; print where it is, then its caption."""
        field = FILE_METHODS[endpoint]
        name, content, _mime = self._uploads[field]
        data = content if isinstance(content, bytes) else content.read()
        if self.saved_dir is None:
            self.saved_dir = tempfile.mkdtemp(prefix="herald-console-")
        path = os.path.join(self.saved_dir, os.path.basename(str(name)) or field)
        with open(path, "wb") as handle:
            handle.write(data)
        caption = html_to_terminal(str(params.get("caption", "")), bold=self.color)
        self._print(f"herald> 📎 {path} ({len(data):,} bytes)")
        if caption:
            self._print("        " + caption.replace("\n", "\n        "))
        self.sent += 1
        message_id = next(self._message_ids)
        file_id = f"sent-{message_id}"
        sent_file = {"file_id": file_id, "file_unique_id": file_id, "file_size": len(data)}
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {
                "id": int(params.get("chat_id", CONSOLE_CHAT_ID)),
                "type": "private",
                "first_name": "You",
            },
            "from": BOT_USER,
            "caption": caption,
        }
        if field == "photo":
            message["photo"] = [{**sent_file, "width": 1, "height": 1}]
        else:
            message["document"] = {**sent_file, "file_name": os.path.basename(path)}
        return message

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


class ConsoleChat:
    """Turns typed lines into updates for the application, in order."""

    def __init__(self, herald: HeraldBot, request: ConsoleRequest) -> None:
        self.herald = herald
        self.request = request
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    def _user(self) -> dict[str, Any]:
        return {"id": CONSOLE_USER_ID, "is_bot": False, "first_name": "You"}

    def _chat(self) -> dict[str, Any]:
        return {"id": CONSOLE_CHAT_ID, "type": "private", "first_name": "You"}

    def update_for(self, line: str) -> dict[str, Any]:
        now = int(datetime.now(UTC).timestamp())
        pressed = BUTTON_RE.match(line)
        if pressed and pressed.group(1) in self.request.buttons:
            data, message_id, text = self.request.buttons[pressed.group(1)]
            return {
                "update_id": next(self._update_ids),
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "from": self._user(),
                    "chat_instance": "console",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": now,
                        "chat": self._chat(),
                        "from": BOT_USER,
                        "text": text,
                    },
                },
            }
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": now,
            "chat": self._chat(),
            "from": self._user(),
            "text": line,
        }
        if (wanted := IMPORT_RE.match(line)) and os.path.isfile(path := wanted.group(1).strip()):
            file_id = f"f{len(self.request.files) + 1}"
            self.request.files[file_id] = path
            document = {
                "file_id": file_id,
                "file_unique_id": file_id,
                "file_name": os.path.basename(path),
                "file_size": os.path.getsize(path),
            }
            message["text"] = line = "/import"
            message["reply_to_message"] = {
                "message_id": next(self._message_ids),
                "date": now,
                "chat": self._chat(),
                "from": self._user(),
                "document": document,
            }
        if line.startswith("/"):
            command = line.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(self._update_ids), "message": message}

    async def handle_line(self, line: str) -> None:
        line = line.strip()
        if not line:
            return
        payload = self.update_for(line)
        update = Update.de_json(payload, self.herald.application.bot)
        await self.herald.application.process_update(update)


async def _drain(runtime: Runtime, timeout_s: float) -> None:
    """Let the delivery worker send alerts already due before the console exits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        with session_scope(runtime.engine) as session:
            waiting = session.exec(
                select(func.count())
                .select_from(Alert)
                .where(
                    col(Alert.status).in_(["pending", "sending"]), col(Alert.not_before) <= utcnow()
                )
            ).one()
        if not waiting:
            return
        runtime.outbox.notify()
        await asyncio.sleep(0.05)


def whoami(runtime: Runtime) -> str:
    """Who the console plays, so that admin-only answers are not a surprise."""
    who = f"console: you are user {CONSOLE_USER_ID} in private chat {CONSOLE_CHAT_ID}"
    if runtime.is_admin(CONSOLE_USER_ID):
        return f"{who}, a Herald admin (admins: in the config)."
    return (
        f"{who}, not a Herald admin: /sources, /status and /import answer admins only "
        f"(add {CONSOLE_USER_ID} to admins: in the config to try them)."
    )


async def run_console(
    runtime: Runtime, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> int:
    """Chat with Herald in the terminal until end of input; exit status 0."""
    interactive = stdin.isatty()
    request = ConsoleRequest(stdout, color=interactive and stdout.isatty())
    application = build_application(
        runtime, "console", request=request, updates_request=request, rate_limiter=False
    )
    herald = HeraldBot(runtime, application)
    await herald.start(polling=False)
    chat = ConsoleChat(herald, request)
    loop = asyncio.get_running_loop()
    stdout.write(whoami(runtime) + "\n")
    if interactive:
        stdout.write(
            "Console chat with Herald. Try /start, /deadlines, /help; [Label] presses a button; "
            "/import PATH reads an OPML file; Ctrl-D quits.\n"
        )
    stdout.flush()
    lines = _read_lines(stdin, loop)
    try:
        while (line := await lines.get()) is not None:
            await chat.handle_line(line)
        await _drain(runtime, DRAIN_TIMEOUT_S)
    finally:
        await herald.stop()
    return 0


def _read_lines(stdin: TextIO, loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Read stdin on a daemon thread (so Ctrl-C never waits for a line); None ends input."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        for line in iter(stdin.readline, ""):
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="console-stdin", daemon=True).start()
    return queue
