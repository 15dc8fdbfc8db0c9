"""FastAPI dependencies that hand routers the objects built by the composition root.

Routers declare what they need with these `Annotated` aliases instead of importing
globals, so `create_app(settings)` fully decides what a request sees (tests build an
app with their own settings; two apps in one process never share state). Getters take
an `HTTPConnection` so HTTP routes and WebSocket routes share them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, cast

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection, Request

from bot.agents import AgentAccounts, AgentIdentity
from bot.bus.events import EventBus
from bot.errors import Forbidden, InvalidRequest, Unauthorized
from bot.handoff.desk import HandoffDesk
from bot.hub import ConversationHub
from bot.rasa_client import RasaClient
from bot.settings import Settings
from channels.json_body import read_json_body

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)


def get_app_settings(connection: HTTPConnection) -> Settings:
    """The settings `create_app` was built with (read once, not per request)."""
    return cast(Settings, connection.app.state.settings)


def get_hub(connection: HTTPConnection) -> ConversationHub:
    """The hub built in the app's lifespan."""
    return cast(ConversationHub, connection.app.state.hub)


def get_rasa_client(connection: HTTPConnection) -> RasaClient:
    """The shared Rasa client built in the app's lifespan."""
    return cast(RasaClient, connection.app.state.rasa_client)


def get_desk(connection: HTTPConnection) -> HandoffDesk:
    """Agent-side handoff actions, built in the app's lifespan."""
    return cast(HandoffDesk, connection.app.state.desk)


def get_accounts(connection: HTTPConnection) -> AgentAccounts:
    """Agent login and token checks, built in the app's lifespan."""
    return cast(AgentAccounts, connection.app.state.accounts)


def get_bus(connection: HTTPConnection) -> EventBus:
    """The in-process event bus, built in the app's lifespan."""
    return cast(EventBus, connection.app.state.bus)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
HubDep = Annotated[ConversationHub, Depends(get_hub)]
RasaClientDep = Annotated[RasaClient, Depends(get_rasa_client)]
DeskDep = Annotated[HandoffDesk, Depends(get_desk)]
AccountsDep = Annotated[AgentAccounts, Depends(get_accounts)]
BusDep = Annotated[EventBus, Depends(get_bus)]

# auto_error=False: a missing header must give our JSON error shape, not FastAPI's.
_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/agent/login")


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The raw token of an ``Authorization: Bearer`` header, if there is one."""
    return credentials.credentials if credentials is not None else None


async def current_agent(
    accounts: AccountsDep, token: Annotated[str | None, Depends(bearer_token)]
) -> AgentIdentity:
    """The signed-in agent; 401 ``unauthorized`` for a missing, unknown or expired token."""
    session = await accounts.authenticate(token)
    if session is None:
        raise Unauthorized()
    return session.agent


BearerTokenDep = Annotated[str | None, Depends(bearer_token)]
CurrentAgent = Annotated[AgentIdentity, Depends(current_agent)]


async def current_supervisor(agent: CurrentAgent) -> AgentIdentity:
    """The signed-in supervisor; 401 without a valid login, 403 ``forbidden`` for an agent."""
    if not agent.is_supervisor:
        raise Forbidden()
    return agent


CurrentSupervisor = Annotated[AgentIdentity, Depends(current_supervisor)]


def json_model(model: type[ModelT]) -> Callable[[Request, Settings], Awaitable[ModelT]]:
    """A dependency reading a JSON body through `read_json_body` into `model`.

    Same size cap and error codes as the REST channel (FastAPI's own body parsing has
    no size cap and reports bad UTF-8 and bad JSON alike).
    """

    async def read(request: Request, settings: SettingsDep) -> ModelT:
        data = await read_json_body(request, settings.max_body_bytes)
        try:
            return model.model_validate(data)
        except ValidationError as err:
            # Field names only: pydantic's message would quote the input.
            fields = [".".join(map(str, e["loc"])) for e in err.errors()]
            logger.info("%s rejected, bad fields: %s", request.url.path, fields)
            raise InvalidRequest() from None

    return read


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body read by `json_model`."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
