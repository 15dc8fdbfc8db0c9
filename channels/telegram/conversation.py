"""Telegram chats as conversations of the hub: the turn logic, free of aiogram's routing.

Each chat is one sender, ``tg-<chat id>``, on channel ``telegram``, with metadata
``{"telegram": True, "asr_confidence": ...}`` (the hub stores the confidence of voice
turns and the ``telegram`` profile flag). Per chat we remember, in memory only:

- ``speech_rate``: set by the bot's ``custom.speech_rate`` (the answer to "慢一点"),
  used for every voice note we send afterwards;
- ``voice_replies``: speak every reply, not only the answers to voice notes (``/voice``
  toggles it; ``/slower`` turns it on, since asking to speak slower means listening).

A voice note's turn goes through `voice.pipeline.VoicePipeline` (ASR -> dialogue), like a
kiosk turn; the user first sees what was understood ("我听到：…"), then the replies, then
one voice note speaking all of them. Errors become short Chinese messages; nothing a user
sends can make the channel stop.

What the hub says outside a turn (agent replies, queue news, hand-back) arrives through
`bot.bus.user_feed.follow_users` and goes out with `push`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.types import Voice

from bot.bus.user_feed import UserPush
from bot.errors import GatewayError
from bot.hub import ConversationHub
from bot.keyed_locks import KeyedLocks
from bot.messages import BotReply, UserMessage
from bot.privacy.masking import mask_pii
from bot.reply_custom import speech_rate_of
from bot.settings import Settings
from channels.telegram import voice_notes
from channels.telegram.delivery import Delivery
from channels.telegram.render import (
    PayloadBook,
    render_replies,
    split_text,
    spoken_text,
)
from channels.voice_turns import ask_hub, dialogue_reply
from nlu.commands import COMMAND_WORDS
from voice import asr
from voice.asr import RecognizerSession
from voice.errors import MESSAGES, VoiceError, VoiceErrorCode
from voice.pipeline import Dialogue, DialogueReply, PipelineEvent, PipelineStage, VoicePipeline
from voice.settings import get_voice_settings

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
SENDER_PREFIX = "tg-"

WELCOME = (
    "您好，我是社区服务小助手。\n"
    "您可以直接打字，也可以按住话筒发语音。\n"
    "我能帮您办社保认证、查办事指南、找服务中心。\n"
    "常用命令：\n"
    "/help 帮助\n"
    "/human 转人工\n"
    "/slower 说慢一点（并用语音回复）\n"
    "/voice 打开或关闭语音回复"
)
VOICE_ON = "好的，以后我会同时发语音。再发 /voice 可以关掉。"
VOICE_OFF = "好的，以后只发文字。再发 /voice 可以打开语音。"
HEARD = "🎤 我听到：{text}"
TEXT_TOO_LONG = "这段话太长了，请分几次说。"
UNSUPPORTED = "我只能看懂文字和语音消息，请打字或者发语音。"
EMPTY = "请先输入要说的话。"
# Commands that are words the assistant understands in every state (see the design brief).
# The chat commands that are words the assistant understands in every state.
CHAT_COMMANDS = ("help", "human", "slower", "repeat")


def sender_for(chat_id: int) -> str:
    return f"{SENDER_PREFIX}{chat_id}"


def chat_of(sender_id: str) -> int | None:
    """The chat id of one of our senders, None for anyone else's."""
    if not sender_id.startswith(SENDER_PREFIX):
        return None
    try:
        return int(sender_id[len(SENDER_PREFIX) :])
    except ValueError:
        return None


@dataclass
class ChatState:
    speech_rate: float = 1.0
    voice_replies: bool = False


class TelegramConversations:
    """Runs the turns of every chat; one instance per bot."""

    def __init__(self, bot: Bot, hub: ConversationHub, settings: Settings) -> None:
        self.bot = bot
        self.hub = hub
        self.settings = settings
        self.delivery = Delivery(
            bot,
            retry_limit=settings.telegram_retry_limit,
            max_wait_s=settings.telegram_max_retry_wait_s,
        )
        self.book = PayloadBook()
        self.chats: dict[int, ChatState] = {}
        self._turn_locks: KeyedLocks[int] = KeyedLocks()

    def state(self, chat_id: int) -> ChatState:
        return self.chats.setdefault(chat_id, ChatState())

    def _turn(self, chat_id: int) -> AbstractAsyncContextManager[bool]:
        """One turn per chat at a time, so a voice note and a quick text stay in order."""
        return self._turn_locks.hold(chat_id)

    # -- turns

    async def start(self, chat_id: int) -> None:
        await self.say(chat_id, WELCOME)

    async def toggle_voice(self, chat_id: int) -> None:
        state = self.state(chat_id)
        state.voice_replies = not state.voice_replies
        await self.say(chat_id, VOICE_ON if state.voice_replies else VOICE_OFF)

    async def command(self, chat_id: int, name: str) -> None:
        """A command that is a word of the conversation (``/human`` is "转人工")."""
        if name == "slower":
            self.state(chat_id).voice_replies = True
        await self.text(chat_id, COMMAND_WORDS[name])

    async def text(self, chat_id: int, text: str, *, spoken: bool = False) -> None:
        """A typed message (or a pressed button's payload)."""
        text = text.strip()
        if not text:
            await self.say(chat_id, EMPTY)
            return
        if len(text) > self.settings.max_message_chars:
            await self.say(chat_id, TEXT_TOO_LONG)
            return
        async with self._turn(chat_id):
            try:
                replies = await self.hub.handle(self._message(chat_id, text, None))
            except GatewayError as err:
                logger.info("telegram: turn failed: %s", err.code.value)
                await self.say(chat_id, err.message)
                return
            await self._answer(chat_id, replies, spoken=spoken)

    async def voice(self, chat_id: int, note: Voice) -> None:
        """A voice note: limits, download, decode, recognise, then a turn like typed text."""
        limits = (self.settings.telegram_max_voice_bytes, self.settings.telegram_max_voice_s)
        async with self._turn(chat_id):
            try:
                voice_notes.check_limits(note, *limits)
                data = await voice_notes.download(self.bot, note.file_id, limits[0])
                pcm = await voice_notes.note_to_pcm(data, *limits)
            except VoiceError as err:
                logger.info("telegram: voice note refused: %s (%s)", err.code.value, err.reason)
                await self.say(chat_id, err.message)
                return
            voice_settings = get_voice_settings()
            ok, reason = asr.availability(voice_settings)
            if not ok:
                logger.info("telegram: voice unavailable: %s", reason)
                await self.say(chat_id, MESSAGES[VoiceErrorCode.ASR_UNAVAILABLE])
                return
            replies: list[BotReply] = []
            pipeline = VoicePipeline(
                dialogue=self._dialogue(chat_id, replies), on_event=_ignore_event
            )
            recognizer = voice_notes.WholeNote(RecognizerSession(voice_settings))
            result = await pipeline.run_audio(
                pcm,
                recognizer,
                metadata={},
                speech_rate=self.state(chat_id).speech_rate,
                end_stage=PipelineStage.DIALOGUE,
            )
            heard = None
            if result.transcript is not None and result.transcript.text:
                heard = HEARD.format(text=result.transcript.display_text)
            if result.error is not None:
                logger.info("telegram: voice turn failed: %s", result.error.code.value)
                await self.say(
                    chat_id, f"{heard}\n{result.error.message}" if heard else result.error.message
                )
                return
            await self._answer(chat_id, replies, spoken=True, heard=heard)

    def _dialogue(self, chat_id: int, replies: list[BotReply]) -> Dialogue:
        """The hub as the pipeline's dialogue stage; `replies` keeps the whole answers
        (the pipeline only carries texts, the chat also needs the buttons)."""

        async def dialogue(text: str, metadata: Mapping[str, Any]) -> DialogueReply:
            confidence = metadata.get("asr_confidence")
            answer = await ask_hub(self.hub, self._message(chat_id, text, confidence))
            replies.extend(answer)
            return dialogue_reply(answer)

        return dialogue

    def _message(self, chat_id: int, text: str, confidence: float | None) -> UserMessage:
        return UserMessage(
            sender_id=sender_for(chat_id),
            text=text,
            channel=CHANNEL,
            metadata={"telegram": True, "asr_confidence": confidence},
        )

    async def _answer(
        self,
        chat_id: int,
        replies: Sequence[BotReply],
        *,
        spoken: bool,
        heard: str | None = None,
    ) -> None:
        state = self.state(chat_id)
        rate = speech_rate_of(replies)
        if rate is not None:
            state.speech_rate = rate
        messages = render_replies(replies, self.book)
        speech = None
        if spoken or state.voice_replies:
            speech = await voice_notes.spoken_reply(spoken_text(replies), state.speech_rate)
        async with self.delivery.chat(chat_id):
            if heard is not None:
                await self.delivery.send_text(chat_id, heard)
            await self.delivery.send_texts(chat_id, messages)
            if speech is not None:
                await self.delivery.send_voice(chat_id, *speech)
        logger.debug(
            "telegram: answered %s with %d messages%s",
            mask_pii(sender_for(chat_id)),
            len(messages),
            " and a voice note" if speech else "",
        )

    async def say(self, chat_id: int, text: str) -> None:
        """A message of the channel itself (welcome, errors)."""
        async with self.delivery.chat(chat_id):
            for piece in split_text(text):
                await self.delivery.send_text(chat_id, piece)

    # -- out of turn

    async def notify(self, sender_id: str, reply: BotReply) -> bool:
        """A message the gateway itself starts (a reminder): True when all of it was sent."""
        chat_id = chat_of(sender_id)
        if chat_id is None:
            return False
        sent = True
        async with self.delivery.chat(chat_id):
            for message in render_replies([reply], self.book):
                sent = (
                    await self.delivery.send_text(chat_id, message.text, message.keyboard) and sent
                )
        return sent

    async def push(self, push: UserPush) -> None:
        """An agent's message, queue news or the hand-back, to the chat it belongs to."""
        chat_id = chat_of(push.sender_id)
        if chat_id is None:
            return
        message = push.message
        reply = BotReply(
            recipient_id=push.sender_id,
            text=message.text,
            buttons=message.buttons,
            custom=message.custom,
        )
        state = self.state(chat_id)
        messages = render_replies([reply], self.book)
        if not messages:
            return
        speech = None
        if state.voice_replies:
            speech = await voice_notes.spoken_reply(message.text or "", state.speech_rate)
        async with self.delivery.chat(chat_id):
            await self.delivery.send_texts(chat_id, messages)
            if speech is not None:
                await self.delivery.send_voice(chat_id, *speech)


async def _ignore_event(event: PipelineEvent) -> None:
    """A note arrives whole: partial transcripts have nobody to show them to."""
