"""aiogram routing: which update goes to which `TelegramConversations` method.

Only private chats are served (a group would mix several residents in one conversation).
Commands: ``/start`` (welcome), ``/help``, ``/human``, ``/slower``, ``/repeat`` (the words
帮助, 转人工, 慢一点, 再说一遍, which work in every state of the conversation), ``/voice``
(voice replies on/off). A pressed inline button is answered at once (Telegram shows a
spinner until then) and its payload is sent as the user's message. Anything else that is
not text or a voice note gets a short explanation.

Handlers never raise: an unexpected error is logged (type only) and the user told to try
again, so one bad update does not spill a traceback with user data into the logs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandStart
from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from channels.telegram.conversation import CHAT_COMMANDS, UNSUPPORTED, TelegramConversations
from channels.telegram.render import button_title, payload_of

logger = logging.getLogger(__name__)

SORRY = "出了点问题，请稍后再试。"


def build_router(chats: TelegramConversations) -> Router:
    """A router bound to `chats`; build one per dispatcher."""
    router = Router(name="community-assistant")
    router.message.filter(F.chat.type == ChatType.PRIVATE)

    async def guarded(chat_id: int, work: Callable[[], Awaitable[Any]]) -> None:
        try:
            await work()
        except Exception as err:
            logger.error("telegram: update failed: %s", type(err).__name__)
            await chats.say(chat_id, SORRY)

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await guarded(message.chat.id, lambda: chats.start(message.chat.id))

    @router.message(Command("voice"))
    async def voice_toggle(message: Message) -> None:
        await guarded(message.chat.id, lambda: chats.toggle_voice(message.chat.id))

    @router.message(Command(*CHAT_COMMANDS))
    async def word_command(message: Message) -> None:
        name = (message.text or "").split()[0].lstrip("/").split("@")[0].lower()
        await guarded(message.chat.id, lambda: chats.command(message.chat.id, name))

    @router.message(F.voice)
    async def voice_note(message: Message) -> None:
        assert message.voice is not None
        note = message.voice
        await guarded(message.chat.id, lambda: chats.voice(message.chat.id, note))

    @router.message(F.text)
    async def text(message: Message) -> None:
        await guarded(message.chat.id, lambda: chats.text(message.chat.id, message.text or ""))

    @router.message()
    async def anything_else(message: Message) -> None:
        await guarded(message.chat.id, lambda: chats.say(message.chat.id, UNSUPPORTED))

    @router.callback_query()
    async def button(query: CallbackQuery) -> None:
        message = query.message
        if message is None or isinstance(message, InaccessibleMessage):
            # Too old to know the chat's keyboard; still stop the spinner.
            chat_id = message.chat.id if message is not None else query.from_user.id
            keyboard = None
        else:
            chat_id, keyboard = message.chat.id, message.reply_markup
        await chats.delivery.call(query.answer())
        if keyboard is not None and isinstance(message, Message):
            # The question is answered: its keys go, so an old 对 cannot be pressed later
            # by mistake (elderly users scroll back and tap what they see).
            await chats.delivery.call(message.edit_reply_markup(reply_markup=None))
        data = query.data or ""
        said = payload_of(data, chats.book, button_title(keyboard, data))
        if said is None:
            return
        await guarded(chat_id, lambda: chats.text(chat_id, said))

    return router
