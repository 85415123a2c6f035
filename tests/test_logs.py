"""Log records: secrets redacted from every part of a record; JSON lines with their fields."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, Redactor

TOKEN = "123456789:AAE-secret_token-value"


def emit(redactor: Redactor, formatter: logging.Formatter, log: logging.Logger) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(redactor)
    handler.setFormatter(formatter)
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return _run(log, out, handler)


def _run(log: logging.Logger, out: io.StringIO, handler: logging.Handler) -> str:
    try:
        log.debug("POST https://api.telegram.org/bot%s/getMe", TOKEN)
        log.info("url-encoded: %s", TOKEN.replace(":", "%3A"))
        try:
            raise ValueError(f"The token `{TOKEN}` was rejected by the server.")
        except ValueError:
            log.error("start failed", exc_info=True)
        log.warning("with a stack", stack_info=True, extra={"source": f"https://x/{TOKEN}"})
        log.warning("alert 7 failed", extra={"chat": 42, "alert_ids": [7, 8]})
    finally:
        log.removeHandler(handler)
    return out.getvalue()


def test_the_token_is_redacted_from_messages_arguments_tracebacks_and_fields() -> None:
    output = emit(Redactor([TOKEN]), logging.Formatter("%(message)s"), logging.getLogger("t1"))
    assert "Traceback" in output and "[REDACTED]" in output
    assert TOKEN not in output
    assert TOKEN.replace(":", "%3A") not in output


def test_json_lines_carry_time_level_event_and_the_named_fields() -> None:
    output = emit(Redactor([TOKEN]), JsonFormatter(), logging.getLogger("t2"))
    lines = [json.loads(line) for line in output.splitlines()]
    assert [line["level"] for line in lines] == ["debug", "info", "error", "warning", "warning"]
    assert lines[0]["event"] == "POST https://api.telegram.org/bot[REDACTED]/getMe"
    assert "ValueError" in lines[2]["exception"] and TOKEN not in lines[2]["exception"]
    assert lines[3]["source"] == "https://x/[REDACTED]" and "stack" in lines[3]
    assert lines[4]["chat"] == 42 and lines[4]["alert_ids"] == [7, 8]
    assert all(line["time"].endswith("+00:00") for line in lines)
