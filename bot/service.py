"""Herald's one HTTP server: health, readiness, Prometheus metrics, the calendar feed and,
in webhook mode, Telegram's updates.

A Starlette app served by uvicorn inside Herald's own event loop (no thread, no second
loop): handlers, jobs and the server share one loop, and uvicorn installs no signal
handlers of its own, so SIGTERM is Herald's to handle (see docs/operations.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update

from bot import metrics
from bot.services.calendar_export import global_calendar
from bot.store.db import session_scope
from bot.store.models import utcnow

if TYPE_CHECKING:
    from bot.interface.app import HeraldBot

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8080"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 a header name, not a secret
# A pass older than this is not "recent": delivery passes come at least every second
# (IDLE_POLL_S) and poll passes every 5 s (TICK_S); one send may take up to its 60 s lease.
STALE_S = 60.0


class ServiceError(ValueError):
    """A --listen or --webhook-url value Herald cannot use."""


@dataclass(frozen=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_listen(text: str | None) -> Listen | None:
    """`HOST:PORT` (IPv6 as `[::1]:8080`), or None for `off`."""
    text = (text or DEFAULT_LISTEN).strip()
    if text.lower() == "off":
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ServiceError(f"--listen {text!r}: write HOST:PORT (e.g. 0.0.0.0:8080) or off")
    return Listen(host, int(port))


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates, and the secret it must send with each."""

    url: str
    secret: str

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"


def webhook_from(url: str, environ: dict[str, str] | os._Environ[str] = os.environ) -> Webhook:
    """Check the URL; take the secret from HERALD_WEBHOOK_SECRET or make one."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ServiceError(
            f"--webhook-url {url!r}: write https://host/path "
            "(http:// only for a self-hosted Bot API server)"
        )
    if parts.path in ("/healthz", "/readyz", "/metrics", "/calendar.ics"):
        raise ServiceError(f"--webhook-url: the path {parts.path} is taken; choose another")
    secret = environ.get("HERALD_WEBHOOK_SECRET", "").strip()
    if secret and (len(secret) > 256 or not all(c.isalnum() or c in "_-" for c in secret)):
        raise ServiceError("HERALD_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -")
    if not secret:
        secret = secrets.token_urlsafe(32)
        log.info("webhook secret: set (generated; HERALD_WEBHOOK_SECRET keeps one across runs)")
    else:
        log.info("webhook secret: set (from HERALD_WEBHOOK_SECRET)")
    return Webhook(url, secret)


def readiness(
    herald: HeraldBot, started: float, led_since: float | None, now: float | None = None
) -> dict[str, str]:
    """What keeps this replica from being ready, by part (empty: ready).

    Polling is the leader's work: a follower is ready without poll passes. A part that has not
    run yet is given STALE_S from start-up (or from taking the lead) before it counts as late.
    """
    now = time.monotonic() if now is None else now
    problems: dict[str, str] = {}
    runtime = herald.runtime
    if herald.store_guard.problem is not None:
        problems["store"] = herald.store_guard.problem
    if not runtime.scheduler.running:
        problems["scheduler"] = "the scheduler is not running"
    since = max(metrics.HEARTBEATS.delivery or started, started)
    if now - since > STALE_S:
        problems["delivery"] = f"no delivery pass for {now - since:.0f} s"
    if runtime.leading:
        since = max(metrics.HEARTBEATS.poll or started, started, led_since or started)
        if now - since > STALE_S:
            problems["poll"] = f"no source poll pass for {now - since:.0f} s"
    return problems


class HttpService:
    """The Starlette app and its uvicorn server, started and stopped with the bot."""

    def __init__(self, herald: HeraldBot, listen: Listen, webhook: Webhook | None = None) -> None:
        self.herald = herald
        self.listen = listen
        self.webhook = webhook
        self.started = time.monotonic()
        self.accepting = False  # webhook updates are taken only while the bot runs
        self._led_since: float | None = None
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._registry = metrics.registry_for(herald.runtime.engine, lambda: herald.runtime.leading)
        routes = [
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/metrics", self.metrics),
            Route("/calendar.ics", self.calendar),
        ]
        if webhook is not None:
            routes.append(Route(webhook.path, self.telegram, methods=["POST"]))
        self.app = Starlette(routes=routes)

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        assert self._server is not None and self._server.servers
        return int(self._server.servers[0].sockets[0].getsockname()[1])

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.listen.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.listen.host, self.listen.port))
        except OSError as exc:
            sock.close()
            raise ServiceError(f"cannot listen on {self.listen}: {exc.strerror}") from None
        config = uvicorn.Config(
            self.app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=5
        )
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="herald-http")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise ServiceError(f"the HTTP server on {self.listen} did not start")
            await asyncio.sleep(0.01)
        log.info(
            "HTTP server on http://%s:%d (/healthz /readyz /metrics /calendar.ics)",
            self.listen.host,
            self.port,
        )

    async def stop(self) -> None:
        self.accepting = False
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._task = None

    # --- endpoints ----------------------------------------------------------------------

    async def healthz(self, _request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(self, _request: Request) -> Response:
        problems = await asyncio.to_thread(self._check_readiness)
        body = {"ready": not problems, "problems": problems}
        return JSONResponse(body, status_code=503 if problems else 200)

    def _check_readiness(self) -> dict[str, str]:
        leading = self.herald.runtime.leading
        if leading and self._led_since is None:
            self._led_since = time.monotonic()  # took the lead: polls get their grace anew
        elif not leading:
            self._led_since = None
        return readiness(self.herald, self.started, self._led_since)

    async def metrics(self, _request: Request) -> Response:
        text = await asyncio.to_thread(generate_latest, self._registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    async def calendar(self, _request: Request) -> Response:
        body = await asyncio.to_thread(self._calendar)
        return Response(body, media_type="text/calendar; charset=utf-8")

    def _calendar(self) -> bytes:
        with session_scope(self.herald.runtime.engine) as session:
            return global_calendar(session, utcnow())

    async def telegram(self, request: Request) -> Response:
        """One update from Telegram: checked, then queued like a polled one."""
        assert self.webhook is not None
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.webhook.secret.encode()):
            log.warning("webhook request refused: wrong or missing secret token")
            return PlainTextResponse("forbidden\n", status_code=403)
        if not self.accepting:
            return PlainTextResponse("stopping\n", status_code=503)  # Telegram retries later
        try:
            data = json.loads(await request.body())
            update = Update.de_json(data, self.herald.application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook request refused: not an update (%s)", type(exc).__name__)
            return PlainTextResponse("not an update\n", status_code=400)
        await self.herald.application.update_queue.put(update)
        return Response(status_code=200)


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: Herald's own decide when the process stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield
