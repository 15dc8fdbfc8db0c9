"""The conversation hub: the single door every channel's user message goes through.

Channels (REST, web chat, kiosk, Telegram, voice) never call Rasa themselves. Keeping
one entry point means there is one place to decide where a turn goes (today always
the engine; later a human agent while a handoff is active) and one place that logs
turns, with personal numbers masked.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol

from bot.errors import GatewayError
from bot.messages import BotReply, UserMessage
from bot.privacy import mask_pii

logger = logging.getLogger(__name__)


class ConversationEngine(Protocol):
    """Anything that can answer a turn; `RasaClient` in production, a fake in tests."""

    async def send(self, message: UserMessage) -> list[BotReply]:
        """Return the replies to `message`, or raise a `GatewayError`."""
        ...


class ConversationHub:
    """Routes user messages to whoever should answer them and records each turn."""

    def __init__(self, engine: ConversationEngine) -> None:
        self._engine = engine

    async def handle(self, message: UserMessage) -> list[BotReply]:
        """Answer one user message; errors propagate as `GatewayError` for the channel."""
        started = time.perf_counter()
        try:
            replies = await self._engine.send(message)
        except GatewayError as err:
            logger.warning(
                "turn failed channel=%s sender=%r code=%s chars=%d ms=%d",
                message.channel,
                mask_pii(message.sender_id),
                err.code,
                len(message.text),
                _elapsed_ms(started),
            )
            raise
        # INFO carries no words: names cannot be masked reliably in free text, so what a
        # user said is only logged at DEBUG, with ID and phone numbers masked.
        logger.info(
            "turn channel=%s sender=%r chars=%d replies=%d custom=%s ms=%d",
            message.channel,
            mask_pii(message.sender_id),
            len(message.text),
            len(replies),
            sorted({key for reply in replies if reply.custom for key in reply.custom}),
            _elapsed_ms(started),
        )
        # %r keeps a user's newline from forging a second log line.
        logger.debug(
            "turn text sender=%r text=%r reply_text=%r",
            mask_pii(message.sender_id),
            mask_pii(message.text),
            mask_pii(" / ".join(reply.text for reply in replies if reply.text)),
        )
        return replies


def _elapsed_ms(started: float) -> int:
    """Milliseconds since `started`, for spotting a slow engine in the logs."""
    return round((time.perf_counter() - started) * 1000)
