"""The staff's call-back list under ``/api/agent/callbacks`` (reminders by phone).

Every route requires an agent's bearer token (a router-level dependency); the rules live
in `bot.residents.callbacks`: numbers are masked in the list, ``reveal`` shows one in full
and is audited, ``called`` takes an item off the list.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Path
from starlette.requests import HTTPConnection

from bot.residents.callbacks import CallbackItem, CallbackList, Callbacks
from bot.store.models import MAX_INT_ID
from channels.deps import CurrentAgent, current_agent
from channels.error_handlers import ErrorBody


def get_callbacks(connection: HTTPConnection) -> Callbacks:
    return cast(Callbacks, connection.app.state.callbacks)


CallbacksDep = Annotated[Callbacks, Depends(get_callbacks)]
ItemId = Annotated[int, Path(ge=1, le=MAX_INT_ID, description="id from the call-back list")]


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "unauthorized: missing, unknown or expired token",
        404: "not_found: no such call-back item",
        422: "invalid_request",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}


router = APIRouter(
    prefix="/api/agent/callbacks",
    tags=["agent"],
    dependencies=[Depends(current_agent)],
    responses=_errors(401),
)


@router.get("", summary="Residents to call about their due authentication (masked)")
async def list_callbacks(callbacks: CallbacksDep) -> CallbackList:
    """Open items, soonest due date first; phone numbers masked (138****5678)."""
    return await callbacks.open_items()


@router.post(
    "/{item_id}/reveal", summary="One item's full phone number (audited)", responses=_errors(404)
)
async def reveal_callback(
    callbacks: CallbacksDep, agent: CurrentAgent, item_id: ItemId
) -> CallbackItem:
    """Every call is written to the audit log with the agent who asked."""
    return await callbacks.reveal(agent, item_id)


@router.post("/{item_id}/called", summary="Mark an item as called", responses=_errors(404))
async def mark_called(
    callbacks: CallbacksDep, agent: CurrentAgent, item_id: ItemId
) -> CallbackItem:
    """Records who called and when; the item leaves the open list."""
    return await callbacks.mark_called(agent, item_id)
