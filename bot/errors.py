"""The one error hierarchy of the gateway.

Every error carries a stable machine-readable ``code`` for clients and tests, and a
short plain-Chinese ``message`` that a channel can show or read aloud to an elderly or
blind user as it is. Channels decide how to deliver it (JSON body, spoken reply,
Telegram text); nothing here knows about HTTP bodies, only the status a web channel
should use.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar


class ErrorCode(StrEnum):
    """Codes clients may branch on; renaming one is a breaking change."""

    BAD_REQUEST = "bad_request"
    INVALID_JSON = "invalid_json"
    INVALID_ENCODING = "invalid_encoding"
    EMPTY_MESSAGE = "empty_message"
    MESSAGE_TOO_LONG = "message_too_long"
    BODY_TOO_LARGE = "body_too_large"
    INVALID_REQUEST = "invalid_request"
    INVALID_SENDER = "invalid_sender"
    INVALID_MESSAGE = "invalid_message"
    INVALID_METADATA = "invalid_metadata"
    INVALID_CLIENT_MESSAGE_ID = "invalid_client_message_id"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    TURN_IN_PROGRESS = "turn_in_progress"
    INTERNAL_ERROR = "internal_error"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    INVALID_CREDENTIALS = "invalid_credentials"
    CONVERSATION_NOT_FOUND = "conversation_not_found"
    NOTHING_TO_CLAIM = "nothing_to_claim"
    ALREADY_CLAIMED = "already_claimed"
    NOT_CLAIMED_BY_YOU = "not_claimed_by_you"
    CASE_NOT_FOUND = "case_not_found"
    CASE_TAKEN = "case_taken"
    NOT_YOUR_CASE = "not_your_case"
    INVALID_CASE_STEP = "invalid_case_step"
    RESOLUTION_REQUIRED = "resolution_required"
    RATING_CLOSED = "rating_closed"


# Short sentences, no jargon or abbreviations: they may be spoken by a TTS voice.
MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.BAD_REQUEST: "请求有问题，请再试一次。",
    ErrorCode.INVALID_JSON: "消息格式不对，请再试一次。",
    ErrorCode.INVALID_ENCODING: "消息里有认不出的文字，请再试一次。",
    ErrorCode.EMPTY_MESSAGE: "消息是空的，请再说一遍。",
    ErrorCode.MESSAGE_TOO_LONG: "消息太长了，请分几句说。",
    ErrorCode.BODY_TOO_LARGE: "发送的内容太多了，请分几次发送。",
    ErrorCode.INVALID_REQUEST: "请求格式不对，请联系工作人员。",
    ErrorCode.INVALID_SENDER: "用户编号不对，请联系工作人员。",
    ErrorCode.INVALID_MESSAGE: "消息内容不对，请再试一次。",
    ErrorCode.INVALID_METADATA: "附加信息格式不对，请联系工作人员。",
    ErrorCode.INVALID_CLIENT_MESSAGE_ID: "消息编号不对，请联系工作人员。",
    ErrorCode.NOT_FOUND: "没有这个地址。",
    ErrorCode.METHOD_NOT_ALLOWED: "不支持这种请求方式。",
    ErrorCode.ENGINE_UNAVAILABLE: "助手暂时连不上，请稍后再试。",
    ErrorCode.TURN_IN_PROGRESS: "您这句话正在处理，请稍等再发一次。",
    ErrorCode.INTERNAL_ERROR: "出了点问题，请稍后再试。",
    ErrorCode.UNAUTHORIZED: "请先登录。",
    ErrorCode.FORBIDDEN: "这一页只有主管能看。",
    ErrorCode.INVALID_CREDENTIALS: "用户名或密码不对。",
    ErrorCode.CONVERSATION_NOT_FOUND: "没有找到这个对话。",
    ErrorCode.NOTHING_TO_CLAIM: "这个对话现在不用接。",
    ErrorCode.ALREADY_CLAIMED: "这个对话已经有人接了。",
    ErrorCode.NOT_CLAIMED_BY_YOU: "请先接手这个对话。",
    ErrorCode.CASE_NOT_FOUND: "没有找到这个差评件。",
    ErrorCode.CASE_TAKEN: "这个差评件已经有人负责了。",
    ErrorCode.NOT_YOUR_CASE: "这个差评件不归您负责。",
    ErrorCode.INVALID_CASE_STEP: "这个差评件现在不能这样处理。",
    ErrorCode.RESOLUTION_REQUIRED: "请写一句告诉居民的处理结果。",
    ErrorCode.RATING_CLOSED: "这次服务已经评过了，或者已经过了评价时间。",
}


class GatewayError(Exception):
    """Base of every error a channel is expected to turn into a user-facing answer."""

    default_status: ClassVar[int] = 500
    default_code: ClassVar[ErrorCode] = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        code: ErrorCode | None = None,
        message: str | None = None,
        status: int | None = None,
    ) -> None:
        self.code: ErrorCode = code if code is not None else self.default_code
        self.message: str = message if message is not None else MESSAGES[self.code]
        self.status: int = status if status is not None else self.default_status
        # The exception text is the code, never user input: it ends up in logs.
        super().__init__(self.code.value)


class BadRequest(GatewayError):
    """The client sent something we cannot use; retrying the same bytes will not help."""

    default_status = 400
    default_code = ErrorCode.BAD_REQUEST


class PayloadTooLarge(GatewayError):
    """The body exceeded the byte limit; rejected before it is parsed."""

    default_status = 413
    default_code = ErrorCode.BODY_TOO_LARGE


class InvalidRequest(GatewayError):
    """Well-formed JSON whose fields are missing or of the wrong type."""

    default_status = 422
    default_code = ErrorCode.INVALID_REQUEST


class EngineUnavailable(GatewayError):
    """Rasa could not produce an answer: down, too slow, or answering with garbage."""

    default_status = 503
    default_code = ErrorCode.ENGINE_UNAVAILABLE


class TurnInProgress(GatewayError):
    """A retry of a message whose first attempt another gateway may still be answering;
    sent again a moment later, it gets that answer (`bot.hub`)."""

    default_status = 409
    default_code = ErrorCode.TURN_IN_PROGRESS


class Unauthorized(GatewayError):
    """No valid agent token (or wrong password at login)."""

    default_status = 401
    default_code = ErrorCode.UNAUTHORIZED


class Forbidden(GatewayError):
    """A valid login whose role may not do this (an agent on a supervisor's page)."""

    default_status = 403
    default_code = ErrorCode.FORBIDDEN


class NotFound(GatewayError):
    """The thing named in the URL does not exist (or is not the caller's to see)."""

    default_status = 404
    default_code = ErrorCode.CONVERSATION_NOT_FOUND


class Conflict(GatewayError):
    """The request is valid but the conversation is not in a state that allows it."""

    default_status = 409
    default_code = ErrorCode.ALREADY_CLAIMED
