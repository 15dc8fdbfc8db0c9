"""FastAPI dependencies that hand routers the objects built by the composition root.

Routers declare what they need with these `Annotated` aliases instead of importing
globals, so `create_app(settings)` fully decides what a request sees (tests build an
app with their own settings; two apps in one process never share state).
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from bot.hub import ConversationHub
from bot.rasa_client import RasaClient
from bot.settings import Settings


def get_app_settings(request: Request) -> Settings:
    """The settings `create_app` was built with (read once, not per request)."""
    return cast(Settings, request.app.state.settings)


def get_hub(request: Request) -> ConversationHub:
    """The hub built in the app's lifespan."""
    return cast(ConversationHub, request.app.state.hub)


def get_rasa_client(request: Request) -> RasaClient:
    """The shared Rasa client built in the app's lifespan."""
    return cast(RasaClient, request.app.state.rasa_client)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
HubDep = Annotated[ConversationHub, Depends(get_hub)]
RasaClientDep = Annotated[RasaClient, Depends(get_rasa_client)]
