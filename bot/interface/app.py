"""Wiring: one PTB Application plus the runtime, started and stopped together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from telegram.error import InvalidToken
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

from bot.delivery import DeliveryWorker
from bot.interface import handlers
from bot.interface.countdowns import CHECK_EVERY_S, refresh_countdowns
from bot.interface.scopes import command_scopes
from bot.runtime import Runtime
from bot.service import HttpService, Listen, ServiceError, Webhook
from bot.store.health import StoreGuard, never_create

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org/bot"
POLL_TIMEOUT_S = 30
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
# On SIGTERM the message being sent gets this long to be confirmed, so the process still
# exits within 10 s when Telegram hangs (a read may take 15 s).
IN_FLIGHT_WAIT_S = 6.0
# PTB's limiter is off by default: the delivery worker paces pushes itself, per chat too, and
# waits exactly retry_after (see docs/delivery.md). It can be switched on as a safety net.
LIMITER_MAX_RETRIES = 0

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def api_base_url() -> tuple[str, str]:
    """Bot API base URL and file URL from $TELEGRAM_API_URL (PTB's base_url form)."""
    base = os.environ.get("TELEGRAM_API_URL") or DEFAULT_API_URL
    base = base.rstrip("/")
    file_url = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"
    return base, file_url


def build_application(
    runtime: Runtime,
    token: str,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: bool = False,
) -> AnyApplication:
    """The one place a PTB Application is built; handlers are registered here."""
    base_url, base_file_url = api_base_url()
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder().token(token).base_url(base_url).base_file_url(base_file_url)
    )
    builder = builder.request(request or HTTPXRequest(connection_pool_size=16, read_timeout=15))
    builder = builder.get_updates_request(
        updates_request or HTTPXRequest(read_timeout=POLL_TIMEOUT_S + 10)
    )
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=LIMITER_MAX_RETRIES))
    application = builder.build()
    application.bot_data["runtime"] = runtime
    handlers.register(application)
    return application


class HeraldBot:
    """A running Herald: application, runtime and delivery worker, started and stopped together."""

    def __init__(
        self,
        runtime: Runtime,
        application: AnyApplication,
        *,
        listen: Listen | None = None,
        webhook: Webhook | None = None,
    ) -> None:
        self.runtime = runtime
        self.application = application
        self.webhook = webhook
        self.delivery = DeliveryWorker(
            runtime.engine,
            application.bot,
            runtime.outbox,
            runtime.config.delivery,
            runtime.config.timezone,
        )
        self.store_guard = StoreGuard(runtime.engine)
        self.delivery.guard = self.store_guard.check
        self.http = HttpService(self, listen, webhook) if listen is not None else None

    async def start(self, *, polling: bool = True) -> None:
        """Start everything; updates come by webhook if one is set, else by polling."""
        if self.http is not None:
            await self.http.start()  # /healthz answers while the store migrates
        self.runtime.prepare_store()
        self.store_guard.opened()
        never_create(self.runtime.engine)
        await self.application.initialize()
        await self._set_commands()
        self.runtime.start_jobs()
        self.runtime.scheduler.add_job(
            refresh_countdowns,
            IntervalTrigger(seconds=CHECK_EVERY_S),
            args=[self.runtime, self.application.bot],
            id="countdowns",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )
        self.delivery.start()
        await self.application.start()
        await self._take_updates(polling)
        log.info("Herald is running as @%s", self.application.bot.username)

    async def _take_updates(self, polling: bool) -> None:
        if self.webhook is not None and self.http is not None:
            await self.application.bot.set_webhook(
                self.webhook.url, allowed_updates=ALLOWED_UPDATES, secret_token=self.webhook.secret
            )
            self.http.accepting = True
            log.info("updates come by webhook to %s", self.webhook.url)
        elif polling and self.application.updater is not None:
            await self.application.updater.start_polling(
                timeout=POLL_TIMEOUT_S, allowed_updates=ALLOWED_UPDATES
            )

    async def stop(self) -> None:
        """Stop taking updates, finish the update and the message in flight, then let go of
        the store (and the leadership)."""
        if self.http is not None:
            self.http.accepting = False
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        try:
            await asyncio.wait_for(self.delivery.stop(), IN_FLIGHT_WAIT_S)
        except TimeoutError:  # its lease runs out and it goes again: one duplicate at most
            log.warning("the send in flight took over %.0f s; it will be retried", IN_FLIGHT_WAIT_S)
        if self.http is not None:
            await self.http.stop()
        await self.application.shutdown()
        await self.runtime.close()

    async def _set_commands(self) -> None:
        """Offer each kind of chat its own command menu (see bot/interface/scopes.py)."""
        admins = self.runtime.config.admins
        for scoped in command_scopes(handlers.registered_help(), admins):
            try:
                await self.application.bot.set_my_commands(scoped.commands, scope=scoped.scope)
            except Exception:
                log.warning(
                    "could not register the %s command list with Telegram",
                    scoped.scope.type,
                    exc_info=True,
                )


async def run_until_signalled(herald: HeraldBot) -> int:
    """Run until SIGINT or SIGTERM, then stop cleanly; the process's exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await herald.start(polling=True)
    except InvalidToken:
        log.error("Telegram rejected TELEGRAM_BOT_TOKEN: copy the token from @BotFather again")
        await _stop_quietly(herald)
        return 1
    except ServiceError as exc:
        log.error("%s", exc)
        await _stop_quietly(herald)
        return 2
    try:
        await stop.wait()
        log.info("stopping: no new updates; finishing the update and the message in flight")
    finally:
        await herald.stop()
    log.info("stopped")
    return 0


async def _stop_quietly(herald: HeraldBot) -> None:
    """Undo a start that failed half-way."""
    try:
        await herald.stop()
    except Exception:
        log.debug("stopping after a failed start", exc_info=True)
