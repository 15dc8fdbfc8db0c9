"""Starting and stopping the Telegram channel inside the gateway's lifespan.

`TelegramRunner.start` builds aiogram's `Bot` (on a custom Bot API server when
``GATEWAY_TELEGRAM_API_URL`` says so) and `Dispatcher`, then either

- **polling** (default): removes any webhook (Telegram refuses ``getUpdates`` while one
  is set) and long-polls in a background task; nothing needs to reach the gateway from
  outside, which suits a kiosk or a community centre behind NAT; or
- **webhook**: registers ``GATEWAY_TELEGRAM_WEBHOOK_URL`` with the secret; updates then
  arrive at ``POST /telegram/webhook`` (`channels.telegram.webhook`) and are handled in
  background tasks so Telegram gets its 200 at once.

Both modes also start the follower that sends agent replies and queue news to the chats.
An unreachable Telegram never stops the gateway: polling retries with back-off, a failed
``setWebhook`` is reported by `status` (shown on ``/health``) and retried.

Several gateways (``GATEWAY_REDIS_URL``): Telegram allows one ``getUpdates`` poller per
bot, and every gateway hears every event, so polling and the follower run only in the
gateway holding a Redis lease (`bot.redis_lock.RedisLease`), renewed while it works.
The others stand by and try to take the lease every few seconds; a gateway that dies
loses it when it expires. Webhook updates are handled by whichever gateway Telegram's
request reaches.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.methods import DeleteWebhook, SetWebhook

from bot.bus.events import EventBus, MessageAdded
from bot.bus.user_feed import follow_users
from bot.hub import ConversationHub
from bot.privacy.log_redaction import TELEGRAM_LOGGERS, redact_tokens
from bot.redis_lock import RedisLease
from bot.settings import Settings
from channels.telegram.conversation import CHANNEL, TelegramConversations, chat_of
from channels.telegram.handlers import build_router

logger = logging.getLogger(__name__)

WEBHOOK_RETRY_S = 30.0


class TelegramRunner:
    """The channel's lifetime: bot, dispatcher, polling or webhook, and the push follower."""

    def __init__(
        self,
        settings: Settings,
        hub: ConversationHub,
        bus: EventBus,
        lease: RedisLease | None = None,
    ) -> None:
        token = settings.telegram_token_value()
        if token is None:
            raise ValueError("no Telegram token configured")
        redact_tokens(*TELEGRAM_LOGGERS)
        self.settings = settings
        self.mode = settings.telegram_mode
        self.bus = bus
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        self.bot = Bot(token, session=session)
        self.chats = TelegramConversations(self.bot, hub, settings)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(build_router(self.chats))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None
        self.webhook_set = False
        self.last_error: str | None = None
        self.lease = lease
        self.leading = lease is None
        self._elector: asyncio.Task[None] | None = None

    @property
    def delivery_flood_waits(self) -> int:
        return self.chats.delivery.flood_waits

    async def start(self) -> None:
        """Start in the background; returns at once (Telegram may be slow or unreachable)."""
        if self.mode == "webhook":
            self._main = asyncio.create_task(self._keep_webhook(), name="telegram-webhook")
        if self.lease is None:
            self._lead()
        else:
            self._elector = asyncio.create_task(self._elect(self.lease), name="telegram-lease")
        logger.info(
            "telegram channel started: mode=%s api=%s", self.mode, self.settings.telegram_api_url
        )

    def _lead(self) -> None:
        """This gateway polls (polling mode) and delivers the pushes."""
        self.leading = True
        self._follower = asyncio.create_task(self._follow(), name="telegram-follower")
        if self.mode == "polling":
            self._main = asyncio.create_task(self._poll(), name="telegram-polling")

    async def _step_down(self) -> None:
        """The lease is lost: stop polling and the follower; another gateway takes over."""
        self.leading = False
        await self._stop_polling()
        for task in (self._follower, self._main if self.mode == "polling" else None):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._follower = None

    async def _elect(self, lease: RedisLease) -> None:
        """Take the lease when it is free, keep it renewed, step down when it is lost."""
        renew_s = lease.ttl_ms / 3000
        while True:
            try:
                if self.leading:
                    if not await lease.renew():
                        logger.warning("telegram: lost the poller lease; standing by")
                        await self._step_down()
                elif await lease.acquire():
                    logger.info("telegram: this gateway holds the poller lease")
                    self._lead()
            except Exception as err:  # Redis away: keep what we have until the lease expires
                logger.warning("telegram: poller lease check failed: %s", type(err).__name__)
            await asyncio.sleep(renew_s)

    async def _stop_polling(self) -> None:
        if self.mode == "polling" and self._main is not None and not self._main.done():
            with contextlib.suppress(RuntimeError, TimeoutError):  # not started / stuck
                await asyncio.wait_for(self.dispatcher.stop_polling(), timeout=10)

    async def stop(self) -> None:
        """Stop polling, the follower and update tasks; close the HTTP session."""
        if self._elector is not None:
            self._elector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._elector
        if self.lease is not None and self.leading:
            with contextlib.suppress(Exception):
                await self.lease.release()  # the next gateway need not wait for the expiry
        if self.mode == "polling" and self._main is not None and not self._main.done():
            # Through aiogram's own stop: cancelling start_polling from outside would leave
            # its per-bot polling task running on a closed session.
            with contextlib.suppress(RuntimeError, TimeoutError):  # not started / stuck
                await asyncio.wait_for(self.dispatcher.stop_polling(), timeout=10)
        # Updates being handled (aiogram runs each polled update as a task of its own).
        handling: set[asyncio.Task[Any]] = getattr(self.dispatcher, "_handle_update_tasks", set())
        tasks = [t for t in (self._main, self._follower, *self._tasks, *handling) if t]
        for task in tasks:
            if not task.done():
                task.cancel()
        pending = [t for t in tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=10)
        await self.bot.session.close()
        logger.info("telegram channel stopped")

    def status(self) -> tuple[bool, str]:
        """For ``/health``: is the channel doing its job, in a few words (no token)."""
        if not self.leading:
            return True, "standby: another gateway polls Telegram and sends its pushes"
        if self._main is None:
            return False, "not started"
        if self._main.done() and self.mode == "polling":
            return False, "polling stopped"
        if self.mode == "webhook" and not self.webhook_set:
            return False, f"webhook not set: {self.last_error or 'pending'}"
        return True, f"{self.mode} via {self.settings.telegram_api_url}"

    # -- polling

    async def _poll(self) -> None:
        try:
            await self.bot(DeleteWebhook(drop_pending_updates=False))
        except TelegramAPIError as err:  # polling itself will retry and log
            logger.warning("telegram: deleteWebhook failed: %s", type(err).__name__)
        await self.dispatcher.start_polling(
            self.bot,
            polling_timeout=self.settings.telegram_polling_timeout_s,
            handle_signals=False,  # uvicorn owns the signals
            close_bot_session=False,  # `stop` closes it
        )

    # -- webhook

    async def _keep_webhook(self) -> None:
        assert self.settings.telegram_webhook_url and self.settings.telegram_webhook_secret
        method = SetWebhook(
            url=self.settings.telegram_webhook_url,
            secret_token=self.settings.telegram_webhook_secret.get_secret_value(),
            allowed_updates=self.dispatcher.resolve_used_update_types(),
        )
        while not self.webhook_set:
            try:
                await self.bot(method)
            except (TelegramAPIError, OSError) as err:
                self.last_error = type(err).__name__
                logger.warning("telegram: setWebhook failed (%s); retrying", self.last_error)
                await asyncio.sleep(WEBHOOK_RETRY_S)
            else:
                self.webhook_set = True
                self.last_error = None

    def feed(self, update: dict[str, Any]) -> None:
        """Handle one webhook update in the background (Telegram wants a quick 200)."""
        task = asyncio.create_task(self._feed(update), name="telegram-update")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _feed(self, update: dict[str, Any]) -> None:
        try:
            await self.dispatcher.feed_webhook_update(self.bot, update)
        except Exception as err:  # a malformed update: nothing to answer
            logger.warning("telegram: webhook update not handled: %s", type(err).__name__)

    # -- pushes

    async def _follow(self) -> None:
        def ours(event: MessageAdded) -> bool:
            return event.channel == CHANNEL and chat_of(event.sender_id) is not None

        async for push in follow_users(self.bus, ours):
            try:
                await self.chats.push(push)
            except Exception as err:  # keep following; the transcript has the message
                logger.warning("telegram: a push failed: %s", type(err).__name__)


def is_webhook_secret(settings: Settings, given: str | None) -> bool:
    """Constant-time check of the ``X-Telegram-Bot-Api-Secret-Token`` header."""
    secret = settings.telegram_webhook_secret
    if secret is None or given is None:
        return False
    return hmac.compare_digest(secret.get_secret_value().encode(), given.encode())
