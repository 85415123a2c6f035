"""Wiring: one PTB Application plus the runtime, started and stopped together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from telegram.error import InvalidToken
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

from bot.delivery import JITTER_MARGIN, DeliveryWorker
from bot.delivery_policy.shared_limit import SharedRateLimiter
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
    rate_limiter: bool = True,
) -> AnyApplication:
    """The one place a PTB Application is built; handlers are registered here.

    Every Bot API call goes through the one `SharedRateLimiter`: the bot's overall rate
    holds across replicas and for replies and edits too (see docs/delivery.md)."""
    base_url, base_file_url = api_base_url()
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder().token(token).base_url(base_url).base_file_url(base_file_url)
    )
    builder = builder.request(request or HTTPXRequest(connection_pool_size=16, read_timeout=15))
    builder = builder.get_updates_request(
        updates_request or HTTPXRequest(read_timeout=POLL_TIMEOUT_S + 10)
    )
    if rate_limiter:
        rate = runtime.config.delivery.global_per_second * JITTER_MARGIN
        builder = builder.rate_limiter(SharedRateLimiter(runtime.engine, rate))
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
        if polling and not self._by_webhook:
            self.runtime.on_leadership.append(self._poll_while_leading)
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

    async def _poll_while_leading(self, leading: bool) -> None:
        """Only the leader calls getUpdates (Telegram answers a second poller 409 Conflict);
        called again whenever this replica takes or loses the lead."""
        updater = self.application.updater
        if updater is None or not self.application.running:
            return
        if leading and not updater.running:
            await updater.start_polling(timeout=POLL_TIMEOUT_S, allowed_updates=ALLOWED_UPDATES)
            log.info("polling Telegram for updates (this replica leads)")
        elif not leading and updater.running:
            await updater.stop()
            log.info("stopped polling Telegram for updates (another replica leads)")

    @property
    def _by_webhook(self) -> bool:
        return self.webhook is not None and self.http is not None

    async def _take_updates(self, polling: bool) -> None:
        if self._by_webhook:
            assert self.webhook is not None and self.http is not None
            await self.application.bot.set_webhook(
                self.webhook.url, allowed_updates=ALLOWED_UPDATES, secret_token=self.webhook.secret
            )
            self.http.accepting = True
            log.info("updates come by webhook to %s", self.webhook.url)
        elif polling:
            await self._poll_while_leading(self.runtime.leading)

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
                await self.application.bot.set_my_commands(
                    scoped.commands, scope=scoped.scope, language_code=scoped.language
                )
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
