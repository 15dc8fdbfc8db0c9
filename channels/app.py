"""Composition root: the only place that builds objects and wires them together.

Run with ``uvicorn channels.app:create_app --factory`` or ``python -m channels``.
Routers stay free of construction logic; they receive what this module built through
`channels.deps`. New channels (web chat, kiosk, Telegram, agent console) are added here
with one `include_router` each.

Start-up order matters: the database is migrated before anything reads it, and the
queue watcher starts last (it immediately catches up with queue news and call-back
offers that a previous process left pending). Shutdown reverses it. The Telegram channel
(`channels.telegram`) starts after the hub when ``GATEWAY_TELEGRAM_TOKEN`` is set and
stops first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bot.agents import AgentAccounts
from bot.feedback.setup import build_feedback
from bot.handoff.desk import HandoffDesk
from bot.handoff.queue_watch import QueueWatcher
from bot.handoff.waiting_room import WaitingRoom
from bot.hub import ConversationHub
from bot.privacy.log_redaction import quiet_user_text_loggers, redact_tokens
from bot.rasa_client import RasaClient
from bot.residents.service import ResidentServices
from bot.scale_out import scale_out
from bot.settings import Settings, get_settings
from bot.store.db import Database
from channels import (
    agent_api,
    agent_ws,
    callback_api,
    console,
    feedback_api,
    health,
    kiosk,
    rest,
    task_dump,
    user_api,
    webchat,
)
from channels.admin import pages as admin_pages
from channels.admin import router as admin_api
from channels.error_handlers import install_error_handlers
from channels.telegram import webhook as telegram_webhook
from channels.telegram.runner import TelegramRunner

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway; pass `settings` to avoid reading the environment (tests do)."""
    settings = settings if settings is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Own the database, the HTTP client and the queue worker for the app's lifetime."""
        database = Database(settings.database_url)
        rasa_client = RasaClient(settings)
        scale = scale_out(settings)  # in process, or on Redis (GATEWAY_REDIS_URL)
        try:
            await database.upgrade()
            bus = scale.bus
            await scale.start()
            watcher = QueueWatcher(
                database,
                bus,
                push_interval_s=settings.queue_push_interval_s,
                tick_s=settings.handoff_tick_s,
                callback_offer_after_s=settings.callback_offer_after_s,
                default_handling_s=settings.default_handling_s,
            )
            app.state.database = database
            app.state.bus = bus
            app.state.rasa_client = rasa_client
            residents = ResidentServices(database, settings)
            app.state.residents = residents
            app.state.callbacks = residents.callbacks
            feedback = build_feedback(settings, database, bus)
            app.state.feedback_rules, app.state.cases = feedback.rules, feedback.cases
            app.state.hub = ConversationHub(
                rasa_client,
                database,
                bus,
                watcher,
                WaitingRoom(settings.default_handling_s),
                locks=scale.locks,
                residents=residents.turns,
                feedback=feedback.flow,
                turn_limit_s=settings.turn_limit_s,
            )
            app.state.desk = HandoffDesk(database, bus, watcher)
            app.state.accounts = AgentAccounts(database, settings.agent_token_ttl_s)
            watcher.start()
            task_dump.install()  # kill -USR1: where each task waits
            feedback.watch.start()
            app.state.telegram = None
            if settings.telegram_token is not None:
                telegram = TelegramRunner(
                    settings, app.state.hub, bus, lease=scale.telegram_lease()
                )
                await telegram.start()
                app.state.telegram = telegram
            residents.start(app.state.telegram.chats.notify if app.state.telegram else None)
            logger.info(
                "gateway ready: rasa=%s actions=%s token=%s db=%s",
                settings.rasa_url,
                settings.action_server_url,
                "set" if settings.rasa_token is not None else "none",
                database.safe_url(),
            )
            try:
                yield
            finally:
                await residents.stop()
                if app.state.telegram is not None:
                    await app.state.telegram.stop()
                await feedback.watch.stop()
                await watcher.stop()
        finally:
            await scale.close()
            await rasa_client.aclose()
            await database.dispose()

    # uvicorn logs each WebSocket's path, and /ws/agent carries the agent token in it.
    redact_tokens("uvicorn.error", "uvicorn.access")
    quiet_user_text_loggers()
    app = FastAPI(
        title="Community assistant gateway",
        summary="Accessible Chinese assistant: channels in front of Rasa, handoff to people",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(rest.router)
    app.include_router(user_api.router)
    app.include_router(agent_api.router)
    app.include_router(feedback_api.agent)
    app.include_router(feedback_api.user)
    app.include_router(feedback_api.ratings)
    app.include_router(feedback_api.page)
    app.include_router(callback_api.router)
    app.include_router(agent_ws.router)
    app.include_router(console.router)
    app.include_router(kiosk.router)
    app.include_router(webchat.router)
    app.include_router(health.router)
    app.include_router(admin_pages)
    app.include_router(admin_api)
    app.include_router(telegram_webhook.router)
    return app
