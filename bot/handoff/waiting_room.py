"""The user's side of a handoff: queueing, waiting, cancelling, leaving a call-back number.

While a conversation waits for (or talks with) a person, the user's messages do not go
to Rasa. The few things a waiting user may want from the *system* rather than from the
person are handled here: 取消 (stop waiting), and the answer to a call-back offer (an
11-digit number, spoken or typed, or 不用). Everything else is kept for the agent and
acknowledged with the user's place in the queue; once an agent has the conversation,
user messages are only forwarded (the agent answers).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.bus.outbox import Outbox
from bot.handoff import texts
from bot.handoff.queue import HandoffRequest, enqueue, finish, position_of
from bot.handoff.wait_time import estimate_wait_s, handling_stats
from bot.messages import BotReply, Button, UserMessage
from bot.privacy.phone_numbers import read_phone_number
from bot.store.models import CallbackState, Conversation, Handoff, HandoffStatus, utcnow

logger = logging.getLogger(__name__)

# Short answers only: a long sentence that mentions 取消 ("我想取消低保…") is for the agent.
_SHORT_ANSWER_CHARS = 8
_CANCEL_PHRASES = frozenset({"不等了", "不排了", "不排队了", "算了", "算了不等了", "不要等了"})
_DECLINE_PREFIXES = ("不用", "不要", "不需要")
_AFFIRM_PHRASES = frozenset({"好", "好的", "要", "可以", "行", "对", "需要", "要的"})
_NOISE = re.compile(r"[\s\W_]+|嗯|啊|呃|哦|吧|呀|那个|麻烦你|麻烦|我")


def _core(text: str) -> str:
    """The words that matter in a short answer: no punctuation, spaces or fillers."""
    return _NOISE.sub("", text)


def is_cancel(text: str) -> bool:
    """The user wants to stop waiting (取消, 取消排队, 不等了, ...)."""
    core = _core(text)
    if not core or len(core) > _SHORT_ANSWER_CHARS:
        return False
    return "取消" in core or core in _CANCEL_PHRASES


def is_decline(text: str) -> bool:
    """A "no thanks" to the call-back offer."""
    core = _core(text)
    return 0 < len(core) <= _SHORT_ANSWER_CHARS and core.startswith(_DECLINE_PREFIXES)


def is_affirm(text: str) -> bool:
    """A "yes" to the call-back offer without the number yet."""
    return _core(text) in _AFFIRM_PHRASES


@dataclass
class WaitingAnswer:
    """The immediate replies to a message sent while a handoff is open."""

    replies: list[BotReply] = field(default_factory=list)
    queue_changed: bool = False


class WaitingRoom:
    """Stateless rules; the hub calls it inside its transaction, holding the conversation."""

    def __init__(self, default_handling_s: float) -> None:
        self._default_handling_s = default_handling_s

    async def enqueue(
        self,
        session: AsyncSession,
        conversation: Conversation,
        request: HandoffRequest,
        channel: str,
        outbox: Outbox,
    ) -> BotReply:
        """Queue the conversation and tell the user their place and wait, in this turn."""
        handoff = await enqueue(session, conversation, request, channel)
        position = await position_of(session, handoff)
        stats = await handling_stats(session, utcnow())
        wait_s = estimate_wait_s(position, stats, self._default_handling_s)
        handoff.notified_position = position
        text = texts.queue_position(position, wait_s, first_notice=True)
        custom = texts.queue_custom(position, wait_s)
        return await self._say(session, conversation, outbox, text, [texts.CANCEL_BUTTON], custom)

    async def answer(
        self,
        session: AsyncSession,
        conversation: Conversation,
        handoff: Handoff,
        message: UserMessage,
        outbox: Outbox,
    ) -> WaitingAnswer:
        """Decide what the system itself says to a message that went to people."""
        if handoff.status == HandoffStatus.CLAIMED:
            return WaitingAnswer()  # the agent answers, through the messages API
        if is_cancel(message.text):
            await finish(session, handoff, HandoffStatus.CANCELLED)
            logger.info("handoff=%d cancelled by the user", handoff.id)
            reply = await self._say(session, conversation, outbox, texts.CANCELLED)
            return WaitingAnswer([reply], queue_changed=True)
        if handoff.callback_state == CallbackState.OFFERED:
            answer = await self._callback_answer(session, conversation, handoff, message, outbox)
            if answer is not None:
                return answer
        position = await position_of(session, handoff)
        text = texts.WAITING_ACK.format(position=position)
        reply = await self._say(session, conversation, outbox, text, [texts.CANCEL_BUTTON])
        return WaitingAnswer([reply])

    async def _callback_answer(
        self,
        session: AsyncSession,
        conversation: Conversation,
        handoff: Handoff,
        message: UserMessage,
        outbox: Outbox,
    ) -> WaitingAnswer | None:
        """A number, a no or a yes to the call-back offer; None when it is none of these."""
        phone = read_phone_number(message.text)
        if phone.phone is not None:
            handoff.callback_phone = phone.phone
            handoff.callback_state = CallbackState.COLLECTED.value
            logger.info("handoff=%d call-back number stored", handoff.id)
            text = texts.CALLBACK_SAVED.format(phone=texts.spoken_phone(phone.phone))
            reply = await self._say(session, conversation, outbox, text)
            return WaitingAnswer([reply], queue_changed=True)
        if phone.digit_count:
            text = texts.CALLBACK_WRONG_LENGTH.format(count=phone.digit_count)
            return WaitingAnswer([await self._say(session, conversation, outbox, text)])
        if is_decline(message.text):
            handoff.callback_state = CallbackState.DECLINED.value
            reply = await self._say(session, conversation, outbox, texts.CALLBACK_DECLINED)
            return WaitingAnswer([reply])
        if is_affirm(message.text):
            reply = await self._say(session, conversation, outbox, texts.CALLBACK_ASK_NUMBER)
            return WaitingAnswer([reply])
        return None

    @staticmethod
    async def _say(
        session: AsyncSession,
        conversation: Conversation,
        outbox: Outbox,
        text: str,
        buttons: list[Button] | None = None,
        custom: dict[str, Any] | None = None,
    ) -> BotReply:
        """Store the sentence in the transcript and return it as this turn's reply."""
        await outbox.say(session, conversation, text, buttons=buttons, custom=custom)
        return BotReply(
            recipient_id=conversation.sender_id, text=text, buttons=buttons, custom=custom
        )
