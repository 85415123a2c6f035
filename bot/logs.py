"""Logging: text or one JSON object per line, and secrets redacted from every record.

The bot token travels in every Bot API URL (httpx logs them at DEBUG) and in the message of
a rejected token; the webhook secret is ours to keep. `Redactor` is a filter on the handler,
so it sees every record of every logger at every level, and replaces the secrets in the
message, its arguments, the traceback and the stack before any formatter writes a line.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[REDACTED]"
# Fields a log call may pass with `extra=` for JSON lines (chat id, source URL, alert ids).
EXTRA_FIELDS = ("chat", "source", "alert_ids", "deadline")


class Redactor(logging.Filter):
    """Replaces each secret (and its URL-encoded form) wherever it appears in a record."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets: list[str] = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str) -> None:
        for form in (secret, quote(secret, safe="")):
            if len(form) >= 8 and form not in self.secrets:
                self.secrets.append(form)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the raw parts, redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), ()
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = self.redact(format_exception(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name in EXTRA_FIELDS:
            value = record.__dict__.get(name)
            if isinstance(value, str):
                record.__dict__[name] = self.redact(value)
        return True


def format_exception(exc_info: Any) -> str:
    return "".join(traceback.format_exception(*exc_info)).rstrip("\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, and chat/source/alert ids."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = format_exception(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


REDACTOR = Redactor()


def setup(level: str, fmt: str = "text") -> None:
    """Configure the root logger once: one stderr handler, redacting, text or JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(REDACTOR)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def keep_secret(secret: str | None) -> None:
    """From now on, never write this value in a log line."""
    if secret:
        REDACTOR.add(secret)


def _log_uncaught(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    """An exception nobody caught goes through logging too, so it is redacted as well."""
    logging.getLogger("herald").critical("uncaught exception", exc_info=(kind, value, tb))


def chat_of(update: object) -> dict[str, Any]:
    """`extra=` naming the chat of a Telegram update, when it has one."""
    chat = getattr(update, "effective_chat", None)
    return {"chat": chat.id} if chat is not None else {}
