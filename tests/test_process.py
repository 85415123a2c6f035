"""`herald run` as a real process against the fake Bot API: secrets never logged, SIGTERM
exits 0 promptly, JSON logs (no token without a terminal: tests/test_console.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from sqlmodel import select

from bot.services.outbox import NewAlert, enqueue
from bot.store.db import make_engine, session_scope
from bot.store.models import Alert, Chat
from tests.fakebot import ServedAPI
from tests.helpers import FAR_DEADLINE, config_text

TOKEN = "987654321:AAH-very-secret-token_Zz09xYw"
SECRET = "webhook-secret_0123456789abcdef"
CONFIG = config_text(deadlines=[FAR_DEADLINE])
EXIT_WITHIN_S = 10.0
ADA = 7301


def environment(tmp_path: Path, api: ServedAPI, **extra: str) -> dict[str, str]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.base_url,
        "HERALD_CONFIG": str(config),
        "HERALD_LISTEN": "127.0.0.1:0",
        **extra,
    }
    if not env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'herald.db'}"
    return env


async def start(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *args,
        stdin=subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )


async def terminate(process: asyncio.subprocess.Process) -> tuple[int, str, float]:
    """SIGTERM; (exit status, all output, seconds it took to exit)."""
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), time.monotonic() - began


def assert_no_secret(output: str, *secrets: str) -> None:
    for line in output.splitlines():
        for secret in secrets:
            for form in (secret, quote(secret, safe="")):
                assert form not in line, f"secret in log line: {line}"


async def test_debug_logs_never_show_the_token_or_the_webhook_secret(
    tmp_path: Path, bot_api: ServedAPI, database_url: str
) -> None:
    api = bot_api.api
    env = environment(tmp_path, bot_api, HERALD_LOG_LEVEL="DEBUG", HERALD_WEBHOOK_SECRET=SECRET)
    process = await start(env, "--webhook-url", "http://127.0.0.1:9/telegram")
    await api.wait_for(lambda: api.webhook is not None, 60)
    await api.wait_for(lambda: any(c.method == "setMyCommands" for c in api.calls), 60)
    status, output, _ = await terminate(process)
    assert status == 0, output
    assert "DEBUG" in output  # really at DEBUG
    assert "webhook secret: set" in output
    assert api.webhook is not None and api.webhook["secret_token"] == SECRET
    assert "[REDACTED]" in output  # the token was there to hide (the Bot API URL)
    assert_no_secret(output, TOKEN, SECRET)


async def test_a_rejected_token_is_reported_without_showing_it(
    tmp_path: Path, bot_api: ServedAPI, database_url: str
) -> None:
    bot_api.api.reject_token = True
    env = environment(tmp_path, bot_api, HERALD_LOG_LEVEL="DEBUG")
    process = await start(env, "--listen", "off")
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    output = out.decode()
    assert process.returncode == 1, output
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in output
    assert_no_secret(output, TOKEN)


async def test_sigterm_during_a_long_poll_exits_0_within_10_s(
    tmp_path: Path, bot_api: ServedAPI, database_url: str
) -> None:
    api = bot_api.api
    api.long_poll_cap_s = 30.0  # like Telegram: getUpdates hangs until an update comes
    env = environment(tmp_path, bot_api, HERALD_LOG_LEVEL="INFO")
    process = await start(env)
    await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls), 60)
    status, output, took = await terminate(process)
    assert status == 0, output
    assert took < EXIT_WITHIN_S, (took, output)
    assert "stopped" in output


async def test_sigterm_finishes_the_message_in_flight_then_exits_0(
    tmp_path: Path, bot_api: ServedAPI, database_url: str
) -> None:
    api = bot_api.api
    api.hold_sends = asyncio.Event()
    env = environment(tmp_path, bot_api, HERALD_LOG_LEVEL="INFO")
    process = await start(env)
    await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls), 60)
    engine = make_engine(env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            session.add(Chat(id=ADA, kind="private"))
            session.flush()
            enqueue(session, [NewAlert(ADA, "in-flight", "notice", {"text": "in flight"})])
        await api.wait_for(lambda: bool(api.sent(ADA)), 60)  # Telegram has it, no answer yet
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.stdout is not None
        seen = b""
        while b"stopping:" not in seen:  # the process took the signal while the send hangs
            seen += await asyncio.wait_for(process.stdout.readline(), 30)
        api.hold_sends.set()
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, (seen + out).decode()
        assert time.monotonic() - began < EXIT_WITHIN_S
        with session_scope(engine) as session:
            [alert] = session.exec(select(Alert).where(Alert.dedup_key == "in-flight")).all()
        assert alert.status == "sent"  # recorded, so never sent again
        assert len(api.sent(ADA)) == 1
    finally:
        engine.dispose()


async def test_sigterm_exits_0_within_10_s_even_if_telegram_never_answers_the_send(
    tmp_path: Path, bot_api: ServedAPI, database_url: str
) -> None:
    api = bot_api.api
    api.hold_sends = asyncio.Event()  # never set: the send hangs
    env = environment(tmp_path, bot_api, HERALD_LOG_LEVEL="INFO")
    process = await start(env)
    await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls), 60)
    engine = make_engine(env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            session.add(Chat(id=ADA, kind="private"))
            session.flush()
            enqueue(session, [NewAlert(ADA, "hung", "notice", {"text": "hung"})])
        await api.wait_for(lambda: bool(api.sent(ADA)), 60)
        status, output, took = await terminate(process)
        assert status == 0, output
        assert took < EXIT_WITHIN_S, (took, output)
        assert "it will be retried" in output
        with session_scope(engine) as session:
            [alert] = session.exec(select(Alert).where(Alert.dedup_key == "hung")).all()
        assert alert.status == "sending"  # its lease runs out and it goes again: not lost
    finally:
        api.hold_sends.set()
        engine.dispose()


async def test_json_logs_are_one_object_per_line(
    tmp_path: Path, bot_api: ServedAPI, database_url: str
) -> None:
    api = bot_api.api
    env = environment(tmp_path, bot_api, HERALD_LOG_LEVEL="INFO", HERALD_LOG_FORMAT="json")
    process = await start(env)
    await api.wait_for(lambda: any(c.method == "getUpdates" for c in api.calls), 60)
    status, output, _ = await terminate(process)
    assert status == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert {"time", "level", "logger", "event"} <= set(line), line
    events = [line["event"] for line in lines]
    assert any(e.startswith("Herald is running as @herald_test_bot") for e in events)
    assert_no_secret(output, TOKEN)
