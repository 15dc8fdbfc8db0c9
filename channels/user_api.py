"""The user side of the transcript: ``GET /api/conversations/{sender_id}/messages``.

How a user's channel gets what arrives outside a request/response turn: an agent's
replies, queue news, the call-back offer. A client polls with ``after=<cursor>`` (the
``cursor`` of its previous answer) and gets only newer messages. Only what the user may
see is returned: their own turns, the bot's and the agents' replies; never staff notes.
The sender id is the conversation's key, as in Rasa's REST channel.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from bot.store.models import MAX_BIG_ID
from bot.views import UserMessages
from channels.deps import HubDep
from channels.error_handlers import ErrorBody
from channels.rest import SENDER_PATTERN

router = APIRouter(tags=["user"])


@router.get(
    "/api/conversations/{sender_id}/messages",
    summary="The user's messages after a cursor",
    response_model_exclude_none=True,
    responses={404: {"model": ErrorBody, "description": "conversation_not_found"}},
)
async def user_messages(
    hub: HubDep,
    sender_id: Annotated[str, Path(pattern=SENDER_PATTERN)],
    after: Annotated[
        int, Query(ge=0, le=MAX_BIG_ID, description="cursor from the previous answer")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UserMessages:
    """Oldest first; `cursor` is the last id returned (or `after` when nothing is new)."""
    return await hub.messages_for(sender_id, after, limit)
