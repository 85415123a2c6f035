"""Two `herald run` processes on one PostgreSQL database and one fake Bot API, for tests and
benchmarks of leadership, takeover and cross-replica delivery.

Each replica gets its own token, so the fake API can tell which replica made a call. Every
line a replica logs is kept with the time it was read; leadership lines carry their own
wall-clock stamp (see bot/store/leader.py), which is what fencing checks compare.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web

from tests.fakebot import Call, FakeBotAPI, ServedAPI, decode_params

ROOT = Path(__file__).resolve().parent.parent
LEADERSHIP = re.compile(r"leadership (acquired|lost|released) at (\S+?):? ")
START_TIMEOUT_S = 60.0


class _TokenHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotAPI) -> None:
        self.api = api

    async def post(self, token: str, method: str) -> None:
        params = decode_params(self.request.headers.get("Content-Type", ""), self.request.body)
        params["_token"] = token
        status, body = await self.api.handle(method, params)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))


def serve_with_tokens(api: FakeBotAPI) -> ServedAPI:
    """Like tests.fakebot.serve, but every recorded call carries the caller's token."""
    app = tornado.web.Application([(r"/bot([^/]+)/(\w+)", _TokenHandler, {"api": api})])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    return ServedAPI(api, server, f"http://127.0.0.1:{port}/bot")


@dataclass
class Change:
    what: str  # acquired, lost or released
    at: float  # epoch seconds, stamped by the replica


@dataclass
class Replica:
    name: str
    token: str
    process: asyncio.subprocess.Process
    lines: list[tuple[float, str]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    killed_at: float | None = None
    _seen: asyncio.Condition = field(default_factory=asyncio.Condition)
    _reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def leading(self) -> bool:
        return bool(self.changes) and self.changes[-1].what == "acquired"

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip()
            match = LEADERSHIP.search(line)
            if match:
                at = datetime.fromisoformat(match.group(2)).timestamp()
                self.changes.append(Change(match.group(1), at))
            async with self._seen:
                self.lines.append((time.time(), line))
                self._seen.notify_all()
        async with self._seen:
            self._seen.notify_all()

    async def wait_line(self, needle: str, timeout_s: float, after: int = 0) -> float:
        """Wait for a log line containing `needle` (from line `after` on); return when read."""

        def found() -> float | None:
            for read_at, line in self.lines[after:]:
                if needle in line:
                    return read_at
            return None

        async def until() -> float:
            async with self._seen:
                while (at := found()) is None:
                    if self.process.returncode is not None and self._reader and self._reader.done():
                        raise AssertionError(f"{self.name} exited: {self.tail()}")
                    await self._seen.wait()
                return at

        return await asyncio.wait_for(until(), timeout_s)

    def tail(self, count: int = 30) -> str:
        return "\n".join(line for _, line in self.lines[-count:])

    def kill(self) -> None:
        self.killed_at = time.time()
        os.kill(self.pid, signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            await self._reader


async def start_replica(
    name: str,
    config_path: Path,
    database_url: str,
    api_url: str,
    *,
    checkout: Path = ROOT,
    **env: str,
) -> Replica:
    """Start `herald run` from `checkout` (a benchmark may run an older commit's code)."""
    environment = dict(os.environ)
    environment.update(
        {
            "DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": f"1:{name}",
            "TELEGRAM_API_URL": api_url,
            "HERALD_LOG_LEVEL": "INFO",
            "HERALD_LOG_FORMAT": "text",
            "HERALD_LISTEN": "off",
            **env,
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config_path),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        cwd=checkout,
        env=environment,
    )
    replica = Replica(name, f"1:{name}", process)
    replica._reader = asyncio.create_task(replica._read())
    return replica


def lead_intervals(replicas: list[Replica]) -> list[tuple[float, float, str]]:
    """(start, end, name) of every period a replica led; a kill ends one at the kill."""
    intervals = []
    for replica in replicas:
        start: float | None = None
        for change in replica.changes:
            if change.what == "acquired":
                start = change.at
            elif start is not None:
                intervals.append((start, change.at, replica.name))
                start = None
        if start is not None:
            end = replica.killed_at if replica.killed_at is not None else float("inf")
            intervals.append((start, end, replica.name))
    return sorted(intervals)


def overlaps(intervals: list[tuple[float, float, str]]) -> list[Any]:
    """Pairs of lead periods of different replicas that overlap (fencing broken)."""
    return [
        (a, b)
        for i, a in enumerate(intervals)
        for b in intervals[i + 1 :]
        if a[2] != b[2] and b[0] < a[1] and a[0] < b[1]
    ]


def calls_by(api: FakeBotAPI, token: str, method: str) -> list[Call]:
    return [c for c in api.calls if c.method == method and c.params.get("_token") == token]


async def next_leader(
    replicas: list[Replica], after: float, timeout_s: float
) -> tuple[Replica, float]:
    """The first replica to log `leadership acquired` stamped after `after`, and that stamp
    (after a terminated lock connection the struck replica may win the lock back)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        found = [
            (change.at, replica)
            for replica in replicas
            for change in replica.changes
            if change.what == "acquired" and change.at > after
        ]
        if found:
            at, replica = min(found, key=lambda pair: pair[0])
            return replica, at
        if loop.time() > deadline:
            raise AssertionError(f"no replica took the lead within {timeout_s} s")
        await asyncio.sleep(0.1)
