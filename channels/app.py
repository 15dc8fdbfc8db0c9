"""Composition root: the only place that builds objects and wires them together.

Run with ``uvicorn channels.app:create_app --factory`` or ``python -m channels``.
Routers stay free of construction logic; they receive what this module built through
`channels.deps`. New channels (web chat, kiosk, Telegram, agent console) are added here
with one `include_router` each.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bot.hub import ConversationHub
from bot.rasa_client import RasaClient
from bot.settings import Settings, get_settings
from channels import health, rest
from channels.error_handlers import install_error_handlers

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway; pass `settings` to avoid reading the environment (tests do)."""
    settings = settings if settings is not None else get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """Own the shared HTTP client: opened at startup, closed at shutdown."""
        rasa_client = RasaClient(settings)
        app.state.rasa_client = rasa_client
        app.state.hub = ConversationHub(rasa_client)
        logger.info(
            "gateway ready: rasa=%s actions=%s token=%s",
            settings.rasa_url,
            settings.action_server_url,
            "set" if settings.rasa_token is not None else "none",
        )
        try:
            yield
        finally:
            await rasa_client.aclose()

    app = FastAPI(
        title="Community assistant gateway",
        summary="Accessible Chinese assistant: channels in front of Rasa",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(rest.router)
    app.include_router(health.router)
    return app
