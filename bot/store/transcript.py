"""The transcript: every turn of every conversation (user, bot, agent), stored as it happens.

Staff take over without making anyone repeat themselves only if they see everything
that was said, so the hub stores each turn before anything else happens with it (a turn
that Rasa then fails on is still there). What was said stays in the database as said;
masking of personal numbers happens when staff *read* it (`to_transcript_message`), so
the audited reveal can show the original.

A channel may name each user turn with its own id (``client_message_id``, unique per
conversation): a send retried after its answer was lost then finds the stored turn
(`find_client_turn`) and gets the replies that followed it (`replies_after`) instead of
being stored and answered a second time.

Message ids double as the user messages API's cursor. For a cursor to never skip a
message, ids of one conversation must become visible in increasing order: every writer
therefore locks the conversation row first (`lock_conversation`; on SQLite the database
lock already serialises writers).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import BotReply, Button, UserMessage
from bot.privacy.masking import mask_pii
from bot.store.models import Agent, Conversation, Message, Role, utcnow
from bot.views import Profile, TranscriptMessage, UserMessages, UserMessageView

logger = logging.getLogger(__name__)

LOW_CONFIDENCE_BELOW = 0.6
# A channel's id for one user message: short, and safe in URLs, logs and JSON as it is.
CLIENT_MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_PROFILE_FLAGS = tuple(Profile.model_fields)


def _flag(value: Any) -> bool:
    """A flag is set by ``true`` or by a non-empty object (e.g. kiosk details)."""
    return value is True or (isinstance(value, Mapping) and bool(value))


def profile_flags(channel: str, metadata: Mapping[str, Any]) -> dict[str, bool]:
    """Flags this one message shows, from top-level metadata keys or ``metadata["profile"]``.

    The channel name counts too: every kiosk and Telegram message is one, whether or not
    the channel remembered to say so in the metadata.
    """
    nested = metadata.get("profile")
    sources: list[Mapping[str, Any]] = [metadata]
    if isinstance(nested, Mapping):
        sources.append(nested)
    flags = {name: any(_flag(src.get(name)) for src in sources) for name in _PROFILE_FLAGS}
    flags["kiosk"] = flags["kiosk"] or channel == "kiosk"
    flags["telegram"] = flags["telegram"] or channel == "telegram"
    return flags


def merged_profile(stored: Mapping[str, Any], seen: Mapping[str, bool]) -> dict[str, bool]:
    """Sticky flags: a screen-reader user does not stop being one on the next message."""
    return {name: bool(stored.get(name)) or bool(seen.get(name)) for name in _PROFILE_FLAGS}


def asr_confidence_of(metadata: Mapping[str, Any]) -> float | None:
    """The recogniser's confidence for a spoken turn, if the channel sent a usable one."""
    value = metadata.get("asr_confidence")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        logger.info("ignoring asr_confidence that is not a number in [0, 1]")
        return None
    return float(value)


async def ensure_conversation(session: AsyncSession, message: UserMessage) -> Conversation:
    """The sender's conversation, created on first contact, locked for this transaction.

    Also records the channel it was last reached on and the accessibility flags.
    """
    conversation = await _locked_by_sender(session, message.sender_id)
    if conversation is None:
        try:
            async with session.begin_nested():
                session.add(
                    Conversation(sender_id=message.sender_id, channel=message.channel, profile={})
                )
        except IntegrityError:
            pass  # another gateway process created it just now: use theirs
        conversation = await _locked_by_sender(session, message.sender_id)
        assert conversation is not None
    seen = profile_flags(message.channel, message.metadata)
    conversation.profile = merged_profile(conversation.profile, seen)
    conversation.channel = message.channel
    conversation.updated_at = utcnow()
    return conversation


async def _locked_by_sender(session: AsyncSession, sender_id: str) -> Conversation | None:
    statement = select(Conversation).where(Conversation.sender_id == sender_id).with_for_update()
    result: Conversation | None = await session.scalar(statement)
    return result


async def lock_conversation(session: AsyncSession, conversation_id: int) -> Conversation | None:
    """Lock one conversation before adding turns to it (see the module docstring)."""
    statement = select(Conversation).where(Conversation.id == conversation_id).with_for_update()
    result: Conversation | None = await session.scalar(statement)
    return result


async def find_by_sender(session: AsyncSession, sender_id: str) -> Conversation | None:
    """The sender's conversation without locking it, or None for a stranger."""
    result: Conversation | None = await session.scalar(
        select(Conversation).where(Conversation.sender_id == sender_id)
    )
    return result


async def append(
    session: AsyncSession,
    conversation: Conversation,
    role: Role,
    *,
    text: str | None = None,
    buttons: Sequence[Button] | None = None,
    custom: Mapping[str, Any] | None = None,
    channel: str | None = None,
    asr_confidence: float | None = None,
    agent_id: int | None = None,
    client_message_id: str | None = None,
    flush: bool = True,
) -> Message:
    """Store one turn; the caller holds the conversation lock and publishes after commit.

    ``flush=False`` leaves the INSERT to the next flush (the commit at the latest), so
    many turns go in one batch; the id is only known after that.
    """
    message = Message(
        conversation_id=conversation.id,
        role=role.value,
        text=text,
        buttons=[b.model_dump(exclude_none=True) for b in buttons] if buttons else None,
        custom=dict(custom) if custom else None,
        channel=channel or conversation.channel,
        asr_confidence=asr_confidence,
        agent_id=agent_id,
        created_at=utcnow(),
        client_message_id=client_message_id,
    )
    session.add(message)
    if flush:
        await session.flush()  # assigns the id, under the conversation lock
    return message


async def append_reply(
    session: AsyncSession, conversation: Conversation, reply: BotReply
) -> Message:
    """Store one element of the bot's answer as it came from Rasa."""
    return await append(
        session,
        conversation,
        Role.BOT,
        text=reply.text,
        buttons=reply.buttons,
        custom=reply.custom,
    )


def is_client_message_id(value: str) -> bool:
    """Whether `value` may be stored as a channel's message id (`CLIENT_MESSAGE_ID_PATTERN`)."""
    return re.fullmatch(CLIENT_MESSAGE_ID_PATTERN, value) is not None


async def find_client_turn(
    session: AsyncSession, conversation_id: int, client_message_id: str
) -> Message | None:
    """The user turn the channel sent under `client_message_id`, if it is already stored."""
    result: Message | None = await session.scalar(
        select(Message).where(
            Message.conversation_id == conversation_id,
            Message.client_message_id == client_message_id,
            Message.role == Role.USER.value,
        )
    )
    return result


async def replies_after(session: AsyncSession, sender_id: str, turn: Message) -> list[BotReply]:
    """What answered `turn`: the bot and agent messages after it, up to the next user turn.

    Rebuilt from the transcript, so a retried send gets the same REST-shaped answer the
    lost one carried (text, buttons, custom; the only parts of a reply that are stored).
    """
    later = (Message.conversation_id == turn.conversation_id, Message.id > turn.id)
    next_user: int | None = await session.scalar(
        select(func.min(Message.id)).where(*later, Message.role == Role.USER.value)
    )
    statement = select(Message).where(*later).order_by(Message.id)
    if next_user is not None:
        statement = statement.where(Message.id < next_user)
    return [
        BotReply(
            recipient_id=sender_id,
            text=row.text,
            buttons=[Button.model_validate(b) for b in row.buttons] if row.buttons else None,
            custom=row.custom,
        )
        for row in await session.scalars(statement)
    ]


async def is_unanswered(session: AsyncSession, turn: Message) -> bool:
    """Nothing came after `turn` in its conversation: no reply, no later turn.

    Seen under the sender's lock, this means the gateway that took the turn died before
    answering it (a crash cannot release the client id as a failed turn does), so the
    channel's retry must be answered for real, not replayed as silence.
    """
    later: int | None = await session.scalar(
        select(func.min(Message.id)).where(
            Message.conversation_id == turn.conversation_id, Message.id > turn.id
        )
    )
    return later is None


async def release_client_id(session: AsyncSession, message_id: int) -> None:
    """Forget the client id of a turn that got no answer, so a retry is handled anew.

    The turn itself stays (staff see every attempt); only a turn that was answered may
    turn a retry into a replay.
    """
    await session.execute(
        update(Message).where(Message.id == message_id).values(client_message_id=None)
    )


async def user_page(
    session: AsyncSession, sender_id: str, after: int, limit: int
) -> UserMessages | None:
    """What the user's own channel may show after `after`; None for an unknown sender."""
    conversation = await find_by_sender(session, sender_id)
    if conversation is None:
        return None
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation.id, Message.id > after)
        .order_by(Message.id)
        .limit(limit)
    )
    views = [
        UserMessageView(
            id=row.id,
            role=Role(row.role).value,
            text=row.text,
            buttons=[Button.model_validate(b) for b in row.buttons] if row.buttons else None,
            custom=row.custom,
            created_at=row.created_at,
        )
        for row in rows
    ]
    return UserMessages(messages=views, cursor=views[-1].id if views else after)


async def staff_transcript(
    session: AsyncSession, conversation_id: int, *, masked: bool
) -> list[TranscriptMessage]:
    """The whole transcript for an agent, oldest first."""
    rows = await session.execute(
        select(Message, Agent.username)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id)
    )
    return [to_transcript_message(row, agent, masked=masked) for row, agent in rows]


def to_transcript_message(
    message: Message, agent: str | None, *, masked: bool
) -> TranscriptMessage:
    """A stored turn as staff see it; personal numbers masked unless `masked` is False."""
    confidence = message.asr_confidence
    buttons = [Button.model_validate(b) for b in message.buttons] if message.buttons else None
    return TranscriptMessage(
        id=message.id,
        role=Role(message.role).value,
        text=mask_text(message.text) if masked else message.text,
        buttons=mask_value(buttons) if masked else buttons,
        custom=mask_value(message.custom) if masked else message.custom,
        channel=message.channel,
        created_at=message.created_at,
        asr_confidence=confidence,
        low_confidence=confidence is not None and confidence < LOW_CONFIDENCE_BELOW,
        agent=agent,
    )


def mask_text(text: str | None) -> str | None:
    """`mask_pii` that lets a missing text through."""
    return None if text is None else mask_pii(text)


def mask_value(value: Any) -> Any:
    """Mask every string inside a JSON-like value (custom payloads, buttons)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, Button):
        return Button(title=mask_pii(value.title), payload=mask_text(value.payload))
    if isinstance(value, Mapping):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_value(item) for item in value]
    return value
