"""The agent API under ``/api/agent``: login, queue, conversations, canned replies.

Every route except login requires ``Authorization: Bearer <token>``; the check is a
router-level dependency, so a new route cannot forget it. Routes only translate between
HTTP and `bot.handoff.desk` / `bot.agents` / `bot.handoff.canned`: the rules live there.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bot.handoff import canned
from bot.store.models import MAX_INT_ID
from bot.views import (
    AgentQueue,
    CannedReplies,
    ConversationView,
    HandoffView,
    LoginResult,
    NoteView,
    TranscriptMessage,
)
from channels.deps import (
    AccountsDep,
    BearerTokenDep,
    CurrentAgent,
    DeskDep,
    body_doc,
    current_agent,
    json_model,
)
from channels.error_handlers import ErrorBody

MAX_TEXT_CHARS = 2000

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT_CHARS)
]


class LoginRequest(BaseModel):
    """An agent's credentials."""

    model_config = ConfigDict(strict=True)

    username: str = Field(min_length=1, max_length=64, examples=["wangfang"])
    password: str = Field(min_length=1, max_length=1024)


class TextRequest(BaseModel):
    """A reply to the user or an internal note."""

    model_config = ConfigDict(strict=True)

    text: Text = Field(examples=["您好，我是社区工作人员，请问有什么可以帮您？"])


class CannedRepliesRequest(BaseModel):
    """The whole new list (it replaces the old one)."""

    model_config = ConfigDict(strict=True)

    replies: list[
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, min_length=1, max_length=canned.MAX_REPLY_CHARS
            ),
        ]
    ] = Field(max_length=canned.MAX_REPLIES)


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        401: "unauthorized: missing, unknown or expired token",
        404: "conversation_not_found or nothing_to_claim",
        409: "already_claimed, or not_claimed_by_you for actions of the handling agent",
        413: "body_too_large",
        400: "invalid_json or invalid_encoding",
        422: "invalid_request",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}


ConversationId = Annotated[
    int, Path(ge=1, le=MAX_INT_ID, description="conversation_id from the queue")
]

router = APIRouter(prefix="/api/agent", tags=["agent"])
protected = APIRouter(dependencies=[Depends(current_agent)], responses=_errors(401))


@router.post(
    "/login",
    summary="Log in; returns a bearer token",
    responses=_errors(400, 401, 413, 422),
    openapi_extra=body_doc(LoginRequest),
)
async def login(
    accounts: AccountsDep, body: Annotated[LoginRequest, Depends(json_model(LoginRequest))]
) -> LoginResult:
    """Check the password (argon2) and hand out a token that expires; audited."""
    return await accounts.login(body.username, body.password)


@protected.post("/logout", status_code=204, summary="End this token's session")
async def logout(accounts: AccountsDep, agent: CurrentAgent, token: BearerTokenDep) -> Response:
    """The token stops working at once."""
    assert token is not None  # current_agent already checked it
    await accounts.logout(token, agent)
    return Response(status_code=204)


@protected.get("/queue", summary="Waiting conversations and the ones you handle")
async def get_queue(desk: DeskDep, agent: CurrentAgent) -> AgentQueue:
    """Waiting items in queue order (priority, then first come), plus your claimed ones."""
    return await desk.queue(agent)


@protected.post(
    "/conversations/{conversation_id}/claim",
    summary="Take a waiting conversation",
    responses=_errors(404, 409),
)
async def claim(
    desk: DeskDep, agent: CurrentAgent, conversation_id: ConversationId
) -> ConversationView:
    """Exactly one of several simultaneous claimers gets 200; the others get 409."""
    return await desk.claim(agent, conversation_id)


@protected.get(
    "/conversations/{conversation_id}",
    summary="A handed-off conversation with its transcript, masked",
    responses=_errors(404),
)
async def get_conversation(
    desk: DeskDep, agent: CurrentAgent, conversation_id: ConversationId
) -> ConversationView:
    """ID and phone numbers masked; `low_confidence` marks turns the recogniser doubted."""
    return await desk.conversation(agent, conversation_id)


@protected.post(
    "/conversations/{conversation_id}/reveal",
    summary="The unmasked transcript (audited)",
    responses=_errors(404, 409),
)
async def reveal(
    desk: DeskDep, agent: CurrentAgent, conversation_id: ConversationId
) -> ConversationView:
    """Only for the agent handling the conversation; every call is written to the audit log."""
    return await desk.reveal(agent, conversation_id)


@protected.post(
    "/conversations/{conversation_id}/messages",
    summary="Write to the user",
    responses=_errors(400, 404, 409, 413, 422),
    openapi_extra=body_doc(TextRequest),
)
async def send_message(
    desk: DeskDep,
    agent: CurrentAgent,
    conversation_id: ConversationId,
    body: Annotated[TextRequest, Depends(json_model(TextRequest))],
) -> TranscriptMessage:
    """Stored in the transcript and delivered to the user's channel."""
    return await desk.reply(agent, conversation_id, body.text)


@protected.post(
    "/conversations/{conversation_id}/notes",
    summary="Add an internal note (never shown to the user)",
    responses=_errors(400, 404, 413, 422),
    openapi_extra=body_doc(TextRequest),
)
async def add_note(
    desk: DeskDep,
    agent: CurrentAgent,
    conversation_id: ConversationId,
    body: Annotated[TextRequest, Depends(json_model(TextRequest))],
) -> NoteView:
    """Any agent may note on a handed-off conversation."""
    return await desk.add_note(agent, conversation_id, body.text)


@protected.post(
    "/conversations/{conversation_id}/handback",
    summary="Give the conversation back to the bot",
    responses=_errors(404, 409),
)
async def hand_back(
    desk: DeskDep, agent: CurrentAgent, conversation_id: ConversationId
) -> HandoffView:
    """The user is told; their next message goes to Rasa, whose slots were kept."""
    return await desk.hand_back(agent, conversation_id)


@protected.post(
    "/conversations/{conversation_id}/close",
    summary="End the request",
    responses=_errors(404, 409),
)
async def close(desk: DeskDep, agent: CurrentAgent, conversation_id: ConversationId) -> HandoffView:
    """The user is told; their next message starts with the bot again."""
    return await desk.close(agent, conversation_id)


@protected.get("/canned-replies", summary="The team's ready-made replies")
async def get_canned_replies(desk: DeskDep) -> CannedReplies:
    """In display order."""
    return CannedReplies(replies=await desk.canned_replies())


@protected.put(
    "/canned-replies",
    summary="Replace the ready-made replies",
    responses=_errors(400, 413, 422),
    openapi_extra=body_doc(CannedRepliesRequest),
)
async def put_canned_replies(
    desk: DeskDep,
    agent: CurrentAgent,
    body: Annotated[CannedRepliesRequest, Depends(json_model(CannedRepliesRequest))],
) -> CannedReplies:
    """The list is shared by the team; the last save wins, and each save is audited."""
    return CannedReplies(replies=await desk.replace_canned_replies(agent, body.replies))


router.include_router(protected)
