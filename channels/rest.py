"""Rasa-compatible REST channel: ``POST /webhooks/rest/webhook``.

Same request and reply shape as Rasa's own REST channel, so any client written for
Rasa (and the integration tests) can talk to the gateway instead, while every turn
still goes through the hub. The body is parsed by hand (see `channels.json_body`) so
each kind of bad input gets its own status and code.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.errors import BadRequest, ErrorCode, InvalidRequest
from bot.messages import BotReply, UserMessage
from bot.settings import Settings
from channels.deps import HubDep, SettingsDep
from channels.error_handlers import ErrorBody
from channels.json_body import read_json_body

logger = logging.getLogger(__name__)

CHANNEL_NAME = "rest"
# Rasa's REST channel answers ``?stream=true`` with this type, though the body is not
# server-sent events: one JSON reply per line (`rasa.core.channels.rest`, read line by
# line by `rasa.core.channels.console`, i.e. `rasa shell`).
STREAM_MEDIA_TYPE = "text/event-stream"
SENDER_PATTERN = r"^[A-Za-z0-9_.:@-]{1,128}$"

# Characters `str.strip()` leaves alone but that make a message look empty.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_PATTERN = "".join(f"\\u{ord(ch):04x}" for ch in _INVISIBLE)
DEFAULT_MAX_MESSAGE_CHARS: int = Settings.model_fields["max_message_chars"].default

router = APIRouter(tags=["rest"])


class RestRequest(BaseModel):
    """A user message in Rasa's REST channel shape."""

    model_config = ConfigDict(strict=True, extra="ignore")

    sender: str = Field(
        pattern=SENDER_PATTERN,
        description="Conversation ID: 1-128 characters of A-Z a-z 0-9 _ . : @ -",
        examples=["kiosk-01:session-42"],
    )
    message: str = Field(
        description=(
            "What the user said or typed: at least one visible character, at most "
            "GATEWAY_MAX_MESSAGE_CHARS (default 2000) after trimming spaces."
        ),
        examples=["我想预约助餐服务"],
        # Documented for clients and schemathesis; checked by hand below so each problem
        # gets its own code (empty_message, message_too_long) instead of one 422.
        json_schema_extra={
            "minLength": 1,
            "maxLength": DEFAULT_MAX_MESSAGE_CHARS,
            "pattern": f"[^\\s{_INVISIBLE_PATTERN}]",
        },
    )
    metadata: dict[str, Any] | None = Field(
        default=None, description="Passed on to Rasa unchanged."
    )


_FIELD_CODES = {
    "sender": ErrorCode.INVALID_SENDER,
    "message": ErrorCode.INVALID_MESSAGE,
    "metadata": ErrorCode.INVALID_METADATA,
    # Only in bodies that extend the REST shape (the web chat's).
    "client_message_id": ErrorCode.INVALID_CLIENT_MESSAGE_ID,
}
BodyT = TypeVar("BodyT", bound=RestRequest)

# Shared with the web chat, whose send endpoint answers with the same statuses and codes.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "invalid_json, invalid_encoding, empty_message or message_too_long",
    },
    413: {"model": ErrorBody, "description": "body_too_large"},
    422: {
        "model": ErrorBody,
        "description": "invalid_request, invalid_sender, invalid_message or invalid_metadata",
    },
    409: {
        "model": ErrorBody,
        "description": "turn_in_progress: this client_message_id is still being answered "
        "(possibly by another gateway); send it again in a moment to get the answer",
    },
    503: {"model": ErrorBody, "description": "engine_unavailable: Rasa is down or too slow"},
}


@router.post(
    "/webhooks/rest/webhook",
    summary="Send one user message, get the assistant's replies",
    response_model=list[BotReply],
    responses={
        200: {
            "description": (
                "The replies: a JSON list, or with ``stream=true`` one JSON reply object "
                f"per line as `{STREAM_MEDIA_TYPE}` (Rasa's REST channel streaming format)."
            ),
            "content": {
                STREAM_MEDIA_TYPE: {
                    "schema": {"type": "string", "description": "one JSON reply per line"}
                }
            },
        },
        **ERROR_RESPONSES,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": RestRequest.model_json_schema()}},
        }
    },
)
async def rest_webhook(
    request: Request,
    hub: HubDep,
    settings: SettingsDep,
    stream: Annotated[
        bool,
        Query(
            description=(
                "Answer one JSON reply per line instead of a list, like Rasa's REST channel "
                "(`rasa shell` asks for this). Errors keep their status and JSON body."
            )
        ),
    ] = False,
) -> Response:
    """Validate like Rasa would, but with explicit codes, then hand the turn to the hub."""
    message = await read_user_message(request, settings, CHANNEL_NAME)
    replies = [reply.to_rest() for reply in await hub.handle(message)]
    if stream:
        # The turn is over before the first line: an engine error is still a 503 with
        # the common error body, not a stream cut off halfway.
        return StreamingResponse(_reply_lines(replies), media_type=STREAM_MEDIA_TYPE)
    return JSONResponse(replies)


def _reply_lines(replies: list[dict[str, Any]]) -> Iterator[str]:
    """Rasa's wire format: each reply as one line of JSON (newlines in text are escaped)."""
    for reply in replies:
        yield json.dumps(reply, ensure_ascii=False) + "\n"


async def read_user_message(request: Request, settings: Settings, channel: str) -> UserMessage:
    """A REST-shaped body as a `UserMessage` on `channel`, or the REST channel's error.

    Shared with the web chat so every text entry point rejects the same bad input with
    the same codes (one set of rules to test, one set of messages to read aloud).
    """
    body = await read_rest_body(request, settings, RestRequest)
    return user_message_from(body, settings, channel)


async def read_rest_body(request: Request, settings: Settings, model: type[BodyT]) -> BodyT:
    """The JSON body checked against `model`: the REST shape, or a channel's extension of
    it (the web chat adds ``client_message_id``), with the REST channel's error codes."""
    data = await read_json_body(request, settings.max_body_bytes)
    return _validate(data, model)


def user_message_from(body: RestRequest, settings: Settings, channel: str) -> UserMessage:
    """The text checks that need settings (blank, too long), then the `UserMessage`."""
    text = body.message.strip()
    if _is_blank(text):
        raise BadRequest(ErrorCode.EMPTY_MESSAGE)
    if len(text) > settings.max_message_chars:
        raise BadRequest(ErrorCode.MESSAGE_TOO_LONG)
    return UserMessage(
        sender_id=body.sender,
        text=text,
        channel=channel,
        metadata=body.metadata or {},
    )


def _is_blank(text: str) -> bool:
    """Blank means nothing Rasa could understand: only spaces (incl. U+3000) or invisibles."""
    return all(ch.isspace() or ch in _INVISIBLE for ch in text)


def _validate(data: Any, model: type[BodyT]) -> BodyT:
    """Map pydantic's errors to one code naming the first offending field."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        locations = [error["loc"][0] if error["loc"] else "" for error in err.errors()]
        # Log field names only; pydantic's own message would quote the input.
        logger.info("rest request rejected, bad fields: %s", locations)
        for field, code in _FIELD_CODES.items():
            if field in locations:
                raise InvalidRequest(code) from None
        raise InvalidRequest(ErrorCode.INVALID_REQUEST) from None
