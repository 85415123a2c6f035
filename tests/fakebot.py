"""A fake Telegram Bot API served on 127.0.0.1, for driving Herald end to end in tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

JSON_FIELDS = {
    "chat_id",
    "message_id",
    "reply_markup",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "commands",
    "link_preview_options",
    "entities",
    "disable_web_page_preview",
    "show_alert",
    "scope",
    "message_thread_id",
}
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Herald", "username": "herald_test_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.time() when received
    result: Any = None  # what the fake answered, when it answered with a message


@dataclass
class FakeBotAPI:
    """Holds the chats' side: queued updates in, recorded calls out."""

    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    group_admins: set[int] = field(default_factory=set)  # user ids that administer every group
    webhook: dict[str, Any] | None = None  # the last setWebhook's parameters, until deleted
    reject_token: bool = False  # answer every method 401 Unauthorized, as for a revoked token
    long_poll_cap_s: float = 0.5  # getUpdates waits at most this long for an update
    hold_sends: asyncio.Event | None = None  # set: sendMessage answers only once it is set
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _changed: asyncio.Condition | None = None

    def condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        async with self.condition():
            self.condition().notify_all()

    async def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        thread_id: int | None = None,
        anonymous: bool = False,
        language: str | None = None,
    ) -> None:
        """A person types `text` in the chat (in forum topic `thread_id` if given; as the
        group itself, i.e. an anonymous admin, if `anonymous`; with their Telegram app set to
        `language`, the IETF tag Telegram sends as `language_code`)."""
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Ada"
        else:
            chat["title"] = "Trade desk"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "Ada"},
            "text": text,
        }
        if language is not None:
            message["from"]["language_code"] = language
        if anonymous:
            message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
            message["sender_chat"] = dict(chat)
        if thread_id is not None:
            chat["is_forum"] = True
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        self.updates.append({"update_id": next(self._update_ids), "message": message})
        await self._notify()

    def text_update(self, chat_id: int, text: str, *, chat_type: str = "private") -> dict[str, Any]:
        """The update Telegram would post to a webhook when a person types `text`."""
        message_id = next(self._message_ids)
        update: dict[str, Any] = {
            "update_id": next(self._update_ids),
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type, "first_name": "Ada"},
                "from": {"id": abs(chat_id), "is_bot": False, "first_name": "Ada"},
                "text": text,
            },
        }
        if text.startswith("/"):
            update["message"]["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return update

    async def push_membership(self, chat_id: int, status: str) -> None:
        """The person blocks ("kicked") or unblocks ("member") the bot in a private chat."""
        user = {"id": chat_id, "is_bot": False, "first_name": "Ada"}
        change = {
            "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
            "from": user,
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": BOT_USER},
            "new_chat_member": {"status": status, "user": BOT_USER}
            | ({"until_date": 0} if status == "kicked" else {}),
        }
        self.updates.append({"update_id": next(self._update_ids), "my_chat_member": change})
        await self._notify()

    async def press(
        self,
        chat_id: int,
        data: str,
        *,
        message_id: int = 1,
        user_id: int | None = None,
        chat_type: str = "private",
        thread_id: int | None = None,
        language: str | None = None,
    ) -> None:
        """A person presses an inline button carrying `data` under message `message_id`
        (with their Telegram app set to `language`, if given)."""
        chat: dict[str, Any] = {
            "id": chat_id,
            "type": chat_type,
            "first_name": "Ada",
            "title": "Trade desk",
        }
        user: dict[str, Any] = {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "Ada"}
        if language is not None:
            user["language_code"] = language
        query: dict[str, Any] = {
            "id": str(next(self._update_ids) + 100_000),
            "from": user,
            "chat_instance": str(chat_id),
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": chat,
                "from": BOT_USER,
                "text": "…",
            },
        }
        if thread_id is not None:
            chat["is_forum"] = True
            query["message"] |= {"message_thread_id": thread_id, "is_topic_message": True}
        self.updates.append({"update_id": next(self._update_ids), "callback_query": query})
        await self._notify()

    def buttons(self, call: Call) -> list[tuple[str, str]]:
        """(label, callback_data or url) of the inline keyboard a call carried."""
        markup = call.params.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data") or b.get("url", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]

    def uploads(self, method: str, chat_id: int | None = None) -> list[Call]:
        """sendPhoto / sendDocument calls (the file is an `Upload` in the params)."""
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def answers(self) -> list[Call]:
        """Every answerCallbackQuery the bot made."""
        return [c for c in self.calls if c.method == "answerCallbackQuery"]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == "sendMessage"
            and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Wait until the predicate holds, re-checking on every request the bot makes."""

        async def until() -> None:
            async with self.condition():
                await self.condition().wait_for(predicate)

        await asyncio.wait_for(until(), timeout_s)

    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call = Call(method, params, time.time())
        self.calls.append(call)
        await self._notify()
        if self.reject_token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if self.fail_next and method == "sendMessage":
            return self.fail_next.pop(0)
        if method == "setWebhook":
            self.webhook = dict(params)
            return 200, {"ok": True, "result": True}
        if method == "deleteWebhook":
            self.webhook = None
            return 200, {"ok": True, "result": True}
        if method == "getUpdates" and self.webhook is not None:
            conflict = "Conflict: can't use getUpdates method while webhook is active"
            return 409, {"ok": False, "error_code": 409, "description": conflict}
        if method == "getUpdates":
            return 200, {"ok": True, "result": await self._get_updates(params)}
        if method == "getMe":
            return 200, {"ok": True, "result": BOT_USER}
        if method == "sendMessage" and self.hold_sends is not None:
            await self.hold_sends.wait()
        if method in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument"):
            call.result = self._message(params)
            return 200, {"ok": True, "result": call.result}
        if method == "getChatMember":
            user_id = int(params["user_id"])
            status = "administrator" if user_id in self.group_admins else "member"
            member: dict[str, Any] = {
                "status": status,
                "user": {"id": user_id, "is_bot": False, "first_name": "Ada"},
            }
            if status == "administrator":
                member.update(
                    {
                        "can_be_edited": False,
                        "is_anonymous": False,
                        "can_manage_chat": True,
                        "can_delete_messages": True,
                        "can_manage_video_chats": True,
                        "can_restrict_members": True,
                        "can_promote_members": False,
                        "can_change_info": True,
                        "can_invite_users": True,
                        "can_post_stories": False,
                        "can_edit_stories": False,
                        "can_delete_stories": False,
                    }
                )
            return 200, {"ok": True, "result": member}
        return 200, {"ok": True, "result": True}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            timeout = min(float(params.get("timeout") or 0), self.long_poll_cap_s)
            try:
                async with self.condition():
                    await asyncio.wait_for(
                        self.condition().wait_for(lambda: bool(self.updates)), timeout
                    )
            except TimeoutError:
                pass
        return list(self.updates)

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": int(params.get("message_id") or next(self._message_ids) + 10_000),
            "date": int(time.time()),
            "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "Ada"},
            "from": BOT_USER,
            "text": str(params.get("text", "")),
        }
        if params.get("message_thread_id") is not None:
            message["message_thread_id"] = int(params["message_thread_id"])
            message["is_topic_message"] = True
        return message


class _MethodHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotAPI) -> None:
        self.api = api

    async def post(self, token: str, method: str) -> None:
        params = decode_params(self.request.headers.get("Content-Type", ""), self.request.body)
        status, body = await self.api.handle(method, params)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


@dataclass(frozen=True)
class Upload:
    """A file the bot sent (sendPhoto, sendDocument): its name and bytes."""

    filename: str
    body: bytes


def decode_params(content_type: str, body: bytes) -> dict[str, Any]:
    if content_type.startswith("application/json"):
        return dict(json.loads(body or b"{}"))
    if content_type.startswith("multipart/form-data"):
        fields: dict[str, list[bytes]] = {}
        files: dict[str, list[tornado.httputil.HTTPFile]] = {}
        tornado.httputil.parse_body_arguments(content_type, body, fields, files)
        form: dict[str, Any] = {k: v[-1].decode() for k, v in fields.items()}
        for key in list(form):
            if key in JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    form[key] = json.loads(form[key])
        for key, uploads in files.items():
            form[key] = Upload(uploads[-1].filename, bytes(uploads[-1].body))
        return form
    raw = {
        k: v[-1] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()
    }
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in JSON_FIELDS:
            try:
                params[key] = json.loads(value)
                continue
            except ValueError:
                pass
        params[key] = value
    return params


@dataclass
class ServedAPI:
    api: FakeBotAPI
    server: tornado.httpserver.HTTPServer
    base_url: str  # in PTB's base_url form: http://127.0.0.1:PORT/bot


def serve(api: FakeBotAPI) -> ServedAPI:
    """Serve the fake on an unused 127.0.0.1 port in the running event loop."""
    app = tornado.web.Application([(r"/bot([^/]+)/(\w+)", _MethodHandler, {"api": api})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    return ServedAPI(api, server, f"http://127.0.0.1:{port}/bot")
