"""Crash safety: SIGKILL the delivery worker 20 times during a 1,000-alert fan-out.

The worker runs in its own process against a fake Bot API on 127.0.0.1. Starting Python with
Herald's imports takes about two seconds here, so a helper process imports them once and
forks a fresh worker process for each run; each worker is then killed with SIGKILL, as a
crash would kill it, at a seeded random moment. Afterwards no alert may be missing, and the
only duplicates allowed are the messages in flight at a kill: at most one per crash.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import os
import random
import signal
import sys
from pathlib import Path

from bot.store.db import make_engine, migrate, session_scope
from bot.store.models import Chat
from tests.fake_limited_api import LimitedBotAPI
from tests.fakebot import serve
from tests.helpers import alert_statuses, enqueue_fan_out

ALERTS = 1000
CRASHES = 20
SEED = 20260709
LEASE_S = 0.3  # short, so alerts in flight at a kill are sent again quickly
ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT_S = 60.0  # only a bound on waiting for a condition: a loaded machine is slow
FINAL_TIMEOUT_S = 60.0  # the last worker sends what is left; generous for a loaded machine


def _run_worker(database_url: str, api_url: str) -> None:
    """In a forked child: deliver until killed."""
    from telegram import Bot

    from bot.config import DeliveryConfig
    from bot.delivery import DeliveryWorker
    from bot.services.outbox import OutboxSignal

    async def main() -> None:
        bot = Bot("1:CRASH", base_url=api_url)
        await bot.initialize()
        settings = DeliveryConfig(global_per_second=1000, private_interval_s=0, group_window_s=0)
        engine = make_engine(database_url)
        worker = DeliveryWorker(engine, bot, OutboxSignal(), settings, "UTC", lease_s=LEASE_S)
        worker.start()
        await asyncio.Event().wait()

    asyncio.run(main())


def _zygote() -> None:
    """Read "start" or "reap PID" lines; fork workers, report their pids, reap them."""
    import bot.delivery  # noqa: F401  (imported once here, shared by every fork)

    database_url, api_url = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        command, *rest = line.split()
        if command == "start":
            pid = os.fork()
            if pid == 0:
                try:
                    _run_worker(database_url, api_url)
                finally:
                    os._exit(1)
            print(pid, flush=True)
        elif command == "reap":
            os.waitpid(int(rest[0]), 0)
            print("reaped", flush=True)


def _fan_out(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with session_scope(engine) as session:
        session.add_all([Chat(id=chat_id) for chat_id in range(1, ALERTS + 1)])
    engine.dispose()
    enqueue_fan_out(database_url, range(1, ALERTS + 1))


def _received_at_least(api: LimitedBotAPI, count: int) -> bool:
    return len(api.sent()) >= count


class Zygote:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, line: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        answer = await asyncio.wait_for(self.process.stdout.readline(), STEP_TIMEOUT_S)
        return answer.decode().strip()

    async def start(self) -> int:
        return int(await self.ask("start"))

    async def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        assert await self.ask(f"reap {pid}") == "reaped"


async def test_sigkill_20_times_during_a_fan_out_loses_nothing_and_repeats_only_what_was_in_flight(
    database_url: str,
) -> None:
    _fan_out(database_url)
    api = LimitedBotAPI(limits=False)
    served = serve(api)
    rng = random.Random(SEED)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.test_crash_safety",
        database_url,
        served.base_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    zygote = Zygote(process)
    in_flight_at_kill: list[str] = []
    pid = 0
    try:
        for _ in range(CRASHES):
            target = len(api.sent()) + rng.randint(1, 60)
            pid = await zygote.start()
            await api.wait_for(functools.partial(_received_at_least, api, target), STEP_TIMEOUT_S)
            await asyncio.sleep(rng.uniform(0, 0.004))  # anywhere in the send-and-mark cycle
            await zygote.kill(pid)
            in_flight_at_kill.append(str(api.sent()[-1].params["text"]))
        pid = await zygote.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FINAL_TIMEOUT_S
        # Read in a thread: the fake Bot API the worker talks to is served on this loop.
        while (await asyncio.to_thread(alert_statuses, database_url))["sent"] < ALERTS:
            if loop.time() > deadline:
                break
            await asyncio.sleep(0.1)
        await zygote.kill(pid)
    finally:
        if pid:  # a failed step leaves its worker running, holding the zygote's pipes open
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if process.stdin is not None:
            process.stdin.close()
        await process.wait()
        served.server.stop()

    assert alert_statuses(database_url) == {"sent": ALERTS}
    received = collections.Counter(str(call.params["text"]) for call in api.sent())
    assert set(received) == {f"alert {n}" for n in range(1, ALERTS + 1)}
    # Each extra copy is the message in flight at one kill (a resent message can be in flight
    # at the next kill too, so a message killed twice may arrive three times).
    extra = {text: count - 1 for text, count in received.items() if count > 1}
    assert all(count <= in_flight_at_kill.count(text) for text, count in extra.items()), extra
    assert sum(extra.values()) <= CRASHES


if __name__ == "__main__":
    _zygote()
