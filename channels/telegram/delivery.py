"""Sending to Telegram: flood control honoured, one chat's messages in order.

Telegram answers 429 with ``retry_after`` seconds when a bot sends too fast (about one
message per second per chat, 30 per second overall); aiogram raises `TelegramRetryAfter`.
We wait exactly that long and try again, at most ``retry_limit`` times, and drop the
message (logged) when Telegram asks for a wait longer than ``max_wait_s``: a chat whose
queue is stuck for minutes helps nobody, and the transcript keeps every reply anyway.

A lock per chat keeps a turn's replies (text, keyboard, voice note) together and in order
even when an agent's message or a queue notice arrives at the same moment. A user who
blocked the bot (403) is logged and skipped; nothing here raises for a failed send.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import SendMessage, SendVoice, TelegramMethod
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup

from bot.keyed_locks import KeyedLocks
from channels.telegram.render import OutgoingText

logger = logging.getLogger(__name__)
T = TypeVar("T")


class Delivery:
    """Sends messages for the channel; safe to share between all chats."""

    def __init__(self, bot: Bot, *, retry_limit: int = 3, max_wait_s: float = 60.0) -> None:
        self.bot = bot
        self.retry_limit = retry_limit
        self.max_wait_s = max_wait_s
        self.flood_waits = 0  # how often Telegram told us to slow down (for tests, health)
        self._locks: KeyedLocks[int] = KeyedLocks()

    def chat(self, chat_id: int) -> AbstractAsyncContextManager[bool]:
        """Hold the chat: what is sent inside arrives together and in order."""
        return self._locks.hold(chat_id)

    async def call(self, method: TelegramMethod[T]) -> T | None:
        """Run one Bot API call with the 429 policy; None when it could not be done."""
        attempt = 0
        name = type(method).__name__
        while True:
            try:
                return await self.bot(method)
            except TelegramRetryAfter as err:
                self.flood_waits += 1
                if attempt >= self.retry_limit or err.retry_after > self.max_wait_s:
                    logger.warning(
                        "telegram: %s dropped after %d flood waits (retry_after=%ss)",
                        name,
                        attempt,
                        err.retry_after,
                    )
                    return None
                attempt += 1
                logger.info("telegram: flood control, waiting %ss before %s", err.retry_after, name)
                await asyncio.sleep(err.retry_after)
            except (TelegramAPIError, TelegramNetworkError) as err:
                # The exception text is Telegram's description, never the token or user text.
                logger.warning("telegram: %s failed: %s", name, type(err).__name__)
                return None

    async def send_text(
        self, chat_id: int, text: str, keyboard: InlineKeyboardMarkup | None = None
    ) -> bool:
        sent = await self.call(SendMessage(chat_id=chat_id, text=text, reply_markup=keyboard))
        return sent is not None

    async def send_texts(self, chat_id: int, messages: list[OutgoingText]) -> None:
        for message in messages:
            await self.send_text(chat_id, message.text, message.keyboard)

    async def send_voice(self, chat_id: int, ogg: bytes, duration_s: int | None = None) -> bool:
        voice = BufferedInputFile(ogg, filename="reply.ogg")
        sent = await self.call(SendVoice(chat_id=chat_id, voice=voice, duration=duration_s))
        return sent is not None
