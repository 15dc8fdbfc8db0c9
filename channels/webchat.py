"""The web chat: ``GET /`` (the page), its files, sending, and spoken replies on request.

Screen-reader-first: the page is plain HTML with a ``role="log"`` conversation. It renders
only what ``GET /api/conversations/{sender_id}/messages`` returns (`channels.user_api`),
polling with ``after=<cursor>``; so a reload or a dropped connection restores everything,
queue notices and agent replies arrive in the same log, and nothing is ever shown twice.

``POST /api/webchat/messages`` sends one user turn on channel ``web``. It takes the REST
channel's body (``{"sender", "message", "metadata"}``) and validates it with the very same
rules (`channels.rest.read_user_message`); the sender must start with ``web-`` so the
page cannot speak into another channel's conversation by accident. The page puts its
accessibility flags (``screen_reader``, ``elder_mode``) in the metadata, so agents see
them and the queue serves these users first. The answer is the REST reply list, but the
page does not render it: the transcript is the single source of truth.

The body may also carry ``client_message_id``: the page makes a random one for each message
it sends and keeps it while the user retries that message after a failure. When the first
attempt did reach the gateway (only its answer was lost), the retry is not a second turn:
the hub returns the replies stored the first time (`ConversationHub.handle`).

``GET /api/conversations/{sender_id}/messages/{message_id}/speech`` speaks one bot or
agent message of that sender as ``audio/wav`` (the "朗读" button; never autoplayed), at
the speech rate the conversation last asked for (慢一点).
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from bot.errors import ErrorCode, InvalidRequest, NotFound
from bot.hub import ConversationHub
from bot.messages import BotReply
from bot.reply_custom import speech_rate_in
from bot.store.models import MAX_BIG_ID
from bot.store.transcript import CLIENT_MESSAGE_ID_PATTERN
from bot.views import UserMessageView
from channels.deps import HubDep, SettingsDep, body_doc
from channels.error_handlers import ErrorBody, ErrorDetail
from channels.pages import add_page
from channels.rest import (
    ERROR_RESPONSES,
    SENDER_PATTERN,
    RestRequest,
    read_rest_body,
    user_message_from,
)
from voice.errors import MESSAGES as VOICE_MESSAGES
from voice.errors import VoiceError, VoiceErrorCode
from voice.tts import shared_synthesizer

logger = logging.getLogger(__name__)

CHANNEL_NAME = "web"
# The page's own ids: ``web-`` and 32 hex digits; any REST-valid tail is accepted.
WEB_SENDER_PATTERN = r"^web-[A-Za-z0-9_.:@-]{1,124}$"
_PAGE_SIZE = 500
# The speech rates the bot may ask for (custom.speech_rate); anything else is ignored.
_MIN_RATE, _MAX_RATE = 0.3, 2.0

router = APIRouter(tags=["webchat"])
# The 朗读 button fetches the speech endpoint and plays the WAV from a blob: URL.
add_page(
    router,
    path="/",
    folder="chat",
    files={
        "chat.js": "text/javascript; charset=utf-8",
        "chat.css": "text/css; charset=utf-8",
    },
    extra_csp="; media-src 'self' blob:",
)


class WebChatBody(RestRequest):
    """What the web chat reads: the REST channel's body plus the page's message id."""

    client_message_id: str | None = Field(
        default=None,
        pattern=CLIENT_MESSAGE_ID_PATTERN,
        description=(
            "The page's id for this message: 1-64 of A-Z a-z 0-9 _ -, new for each message, "
            "the same for every retry of it. A message already received under this id in "
            "this conversation is not handled again: the answer is the replies that followed "
            "it then. Anything else is 422 invalid_client_message_id."
        ),
        examples=["6f1c2a9e4b7d40a3b5e8c0d1f2a3b4c5"],
    )


class WebChatRequest(WebChatBody):
    """The web chat's body with the page's ``web-…`` sender (for the OpenAPI document; the
    body is read and checked as a `WebChatBody` plus the sender pattern, so each problem
    keeps the REST channel's code)."""

    sender: str = Field(
        pattern=WEB_SENDER_PATTERN,
        description="The page's conversation id: web- and up to 124 of A-Z a-z 0-9 _ . : @ -",
        examples=["web-3f9a0c1e5b7d4a2f8e6c0b1a2d3e4f50"],
    )


_SEND_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    422: {
        "model": ErrorBody,
        "description": (
            "invalid_request, invalid_sender (not web-…), invalid_message, invalid_metadata "
            "or invalid_client_message_id"
        ),
    },
}


@router.post(
    "/api/webchat/messages",
    summary="Send one web chat message (the REST channel's body, channel 'web')",
    response_model=list[BotReply],
    responses=_SEND_ERRORS,
    openapi_extra=body_doc(WebChatRequest),
)
async def send_message(request: Request, hub: HubDep, settings: SettingsDep) -> JSONResponse:
    """Same validation and codes as the REST webhook; the page then reads the transcript.

    A retry under the same ``client_message_id`` answers like the first attempt did.
    """
    body = await read_rest_body(request, settings, WebChatBody)
    message = user_message_from(body, settings, CHANNEL_NAME)
    if re.fullmatch(WEB_SENDER_PATTERN, message.sender_id) is None:
        raise InvalidRequest(ErrorCode.INVALID_SENDER)
    replies = await hub.handle(message, client_message_id=body.client_message_id)
    return JSONResponse([reply.to_rest() for reply in replies])


@router.get(
    "/api/conversations/{sender_id}/messages/{message_id}/speech",
    summary="One bot or agent message of this sender, spoken (audio/wav)",
    response_class=Response,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "A complete WAV file"},
        404: {"model": ErrorBody, "description": "not_found: no such bot/agent message here"},
        503: {"model": ErrorBody, "description": "tts_unavailable: speech output is off"},
    },
)
async def message_speech(
    hub: HubDep,
    sender_id: Annotated[str, Path(pattern=SENDER_PATTERN)],
    message_id: Annotated[int, Path(ge=1, le=MAX_BIG_ID)],
) -> Response:
    """Synthesised on request only, so nobody is ever surprised by sound."""
    message, rate = await find_spoken_message(hub, sender_id, message_id)
    assert message.text is not None
    synthesizer = shared_synthesizer()
    if synthesizer is None:
        return _voice_error(VoiceErrorCode.TTS_UNAVAILABLE, 503)
    try:
        speech = await synthesizer.synthesize(message.text, rate)
    except VoiceError as err:
        logger.info("webchat: no speech for message %s: %s", message_id, err.code.value)
        # Whatever broke, the text is on screen and a later press may work: 503 for all.
        return _voice_error(err.code, 503, err.message)
    return Response(
        speech.wav,
        media_type="audio/wav",
        # The words may be personal (an ID read back): never kept by a shared cache.
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


async def find_spoken_message(
    hub: ConversationHub, sender_id: str, message_id: int
) -> tuple[UserMessageView, float]:
    """The sender's bot/agent message `message_id` with text, and the speech rate in force.

    Read through the user's own transcript view, so only what this sender may see can be
    spoken. The rate is the last ``custom.speech_rate`` up to and including the message
    (the bot's answer to 慢一点), as the kiosk would speak it.
    """
    rate = 1.0
    after = 0
    while True:
        page = await hub.messages_for(sender_id, after, _PAGE_SIZE)
        for message in page.messages:
            if message.id > message_id:
                raise NotFound(ErrorCode.NOT_FOUND)
            value = speech_rate_in(message.custom)
            if value is not None and _MIN_RATE <= value <= _MAX_RATE:
                rate = value
            if message.id == message_id:
                if message.role == "user" or not (message.text and message.text.strip()):
                    raise NotFound(ErrorCode.NOT_FOUND)
                return message, rate
        if not page.messages:
            raise NotFound(ErrorCode.NOT_FOUND)
        after = page.cursor


def _voice_error(code: VoiceErrorCode, status: int, message: str | None = None) -> JSONResponse:
    """The gateway's error body ``{"error": {"code", "message"}}`` for a speech failure."""
    detail = ErrorDetail(code=code.value, message=message or VOICE_MESSAGES[code])
    return JSONResponse(ErrorBody(error=detail).model_dump(), status_code=status)
