"""The conversation hub: the single door every channel's user message goes through.

Channels (REST, web chat, kiosk, Telegram, voice) never call Rasa themselves. Keeping
one entry point means there is one place that

- stores the whole transcript (user, bot and agent turns, the channel, and for voice the
  recogniser's confidence from ``metadata["asr_confidence"]``),
- decides where a turn goes: to Rasa, or, while a handoff is open (waiting or with an
  agent), to people (`bot.handoff.waiting_room`), never to both,
- queues a handoff when the bot's reply asks for one (``custom.handoff``) and tells the
  user their place in the same turn,
- logs turns, with personal numbers masked.

Replies that come later (an agent's answer, queue news) reach the user through the event
bus and the user messages API, not through this call's return value.

Turns of one sender are handled one after another (a per-sender lock), so the transcript
and Rasa see them in the order they were sent.

A channel may name a user message with its own ``client_message_id`` (the web chat does,
and keeps it while the user retries a failed send). The stored id is looked up inside the
per-sender lock, so a retry after a lost answer, or two identical requests at once, make
one turn: the later one gets the replies the first one stored, without asking Rasa again
or adding rows. A turn that got no answer (the engine failed) gives its id up, so the
retry is answered for real. The unique index on (conversation, client id) keeps the
promise across gateway processes too.

A retry may also find its first attempt stored and not yet answered. Under a lock that
excludes every gateway (Redis), nobody can still be answering it: its gateway died, so
the retry is answered now. Under a lock of this process only (no Redis, or Redis away
for a restart), another gateway may be answering it this very moment: the retry gets
"稍等" (`TurnInProgress`) and, sent again, the answer once stored. Only a first attempt
older than `turn_limit_s`, which no gateway can still be waiting on, is answered anew.
Never an empty 200: that would be a message silently lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Protocol

from bot.bus.events import EventBus
from bot.bus.outbox import Outbox
from bot.errors import ErrorCode, GatewayError, InvalidRequest, NotFound, TurnInProgress
from bot.feedback.flow import RatingFlow
from bot.handoff.queue import HandoffRequest, active_for
from bot.handoff.queue_watch import QueueWatcher
from bot.handoff.waiting_room import WaitingRoom
from bot.keyed_locks import KeyedLocks, SenderLocks
from bot.messages import BotReply, UserMessage
from bot.privacy.masking import mask_pii
from bot.reports.recording import record_turn
from bot.residents.turns import ResidentTurns
from bot.store.db import Database
from bot.store.models import Role, utcnow
from bot.store.transcript import (
    append,
    append_reply,
    asr_confidence_of,
    ensure_conversation,
    find_client_turn,
    is_client_message_id,
    is_unanswered,
    lock_conversation,
    release_client_id,
    replies_after,
    user_page,
)
from bot.views import UserMessages

logger = logging.getLogger(__name__)


class ConversationEngine(Protocol):
    """Anything that can answer a turn; `RasaClient` in production, a fake in tests."""

    async def send(self, message: UserMessage) -> list[BotReply]:
        """Return the replies to `message`, or raise a `GatewayError`."""
        ...


class ConversationHub:
    """Routes user messages to whoever should answer them and records each turn."""

    def __init__(
        self,
        engine: ConversationEngine,
        database: Database,
        bus: EventBus,
        watcher: QueueWatcher,
        waiting_room: WaitingRoom,
        locks: SenderLocks | None = None,
        residents: ResidentTurns | None = None,
        feedback: RatingFlow | None = None,
        turn_limit_s: float = 60.0,
    ) -> None:
        self._engine = engine
        # No gateway still answers a turn older than this (Rasa's timeout, and then some).
        self._turn_limit = timedelta(seconds=turn_limit_s)
        self._residents = residents or ResidentTurns()  # reminders, 删除我的记录
        self._feedback = feedback  # 好差评: reads rating answers first, asks after tasks
        self._db = database
        self._bus = bus
        self._watcher = watcher
        self._waiting_room = waiting_room
        # Per sender; across gateways a Redis lock (bot.scale_out).
        self._locks: SenderLocks = locks if locks is not None else KeyedLocks()

    async def handle(
        self, message: UserMessage, *, client_message_id: str | None = None
    ) -> list[BotReply]:
        """Answer one user message; errors propagate as `GatewayError` for the channel.

        `client_message_id` (1-64 of A-Z a-z 0-9 _ -) makes the call idempotent within the
        sender's conversation: a message already stored under it is not handled again, and
        the replies that followed it are returned instead (see the module docstring).
        """
        if client_message_id is not None and not is_client_message_id(client_message_id):
            raise InvalidRequest(ErrorCode.INVALID_CLIENT_MESSAGE_ID)
        started = time.perf_counter()
        async with self._locks.hold(message.sender_id) as everywhere:
            try:
                replies, route = await self._handle(message, client_message_id, everywhere)
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
            "turn channel=%s sender=%r route=%s chars=%d replies=%d custom=%s ms=%d",
            message.channel,
            mask_pii(message.sender_id),
            route,
            len(message.text),
            len(replies),
            sorted({key for reply in replies if reply.custom for key in reply.custom}),
            _elapsed_ms(started),
        )
        if logger.isEnabledFor(logging.DEBUG):  # masking costs: only when it is logged
            # %r keeps a user's newline from forging a second log line.
            logger.debug(
                "turn text sender=%r text=%r reply_text=%r",
                mask_pii(message.sender_id),
                mask_pii(message.text),
                mask_pii(" / ".join(reply.text for reply in replies if reply.text)),
            )
        return replies

    async def _handle(
        self, message: UserMessage, client_message_id: str | None, everywhere: bool
    ) -> tuple[list[BotReply], str]:
        """Store the user's turn, then let people or the bot answer it; or, for a message
        already stored under `client_message_id`, return what answered it then.
        `everywhere`: the sender's lock excludes every gateway (see the module doc)."""
        outbox = Outbox(in_turn=True)
        async with self._db.transaction() as session:
            conversation = await ensure_conversation(session, message)
            if client_message_id is not None:
                earlier = await find_client_turn(session, conversation.id, client_message_id)
                if earlier is not None and (
                    not await is_unanswered(session, earlier)
                    or await active_for(session, conversation.id) is not None
                ):
                    return await replies_after(session, message.sender_id, earlier), "replay"
                if earlier is not None:
                    if not everywhere and utcnow() - earlier.created_at < self._turn_limit:
                        raise TurnInProgress()  # another gateway may be answering it now
                    await release_client_id(session, earlier.id)  # its gateway died
            handoff = await active_for(session, conversation.id)
            turn = await append(
                session,
                conversation,
                Role.USER,
                text=message.text,
                channel=message.channel,
                asr_confidence=asr_confidence_of(message.metadata),
                client_message_id=client_message_id,
                flush=False,
            )
            outbox.add(conversation, turn, claimed_by=handoff.claimed_by if handoff else None)
            if handoff is not None:
                answer = await self._waiting_room.answer(
                    session, conversation, handoff, message, outbox
                )
            elif self._feedback is not None:
                rated = await self._feedback.answer(session, conversation, message, outbox)
        outbox.publish(self._bus)
        if handoff is not None:
            if answer.queue_changed:
                self._watcher.changed()
            return answer.replies, f"people:{handoff.status}"
        if self._feedback is not None and rated is not None:
            return rated, "feedback"

        # No transaction is open while Rasa thinks: a slow engine must not hold locks.
        try:
            replies = await self._engine.send(message)
            request = HandoffRequest.from_replies(replies)
            async with self._db.transaction() as session:
                locked = await lock_conversation(session, conversation.id)
                assert locked is not None
                if await self._residents.forgets(session, locked, replies):
                    return replies, "bot+forget"  # nothing of this turn is stored
                extra = await self._residents.after_turn(
                    session, locked, replies, handoff=request is not None
                )
                replies = [*replies, *extra]  # a due reminder, in the resident's own turn
                stored = [await append_reply(session, locked, reply) for reply in replies]
                for row in stored:
                    outbox.add(locked, row, claimed_by=None)
                await record_turn(session, locked, turn, stored)  # dashboard figures, misses
                if request is not None:
                    notice = await self._waiting_room.enqueue(
                        session, locked, request, message.channel, outbox
                    )
                elif self._feedback is not None:
                    asked = await self._feedback.after_reply(
                        session, locked, turn.id, replies, outbox
                    )
                    replies = [*replies, *asked]
        except BaseException:
            if client_message_id is not None:
                # Shielded: a cancelled request must still not leave an unanswered turn
                # that would turn every retry into an empty replay.
                await asyncio.shield(self._release_client_id(turn.id))
            raise
        outbox.publish(self._bus)
        if request is None:
            return replies, "bot"
        self._watcher.changed()
        return [*replies, notice], "bot+handoff"

    async def _release_client_id(self, turn_id: int) -> None:
        """Let a retry of an unanswered turn be handled again (`release_client_id`)."""
        try:
            async with self._db.transaction() as session:
                await release_client_id(session, turn_id)
        except Exception:
            # The original error is what the channel must see; this one only means a
            # retry of the same message will be answered with nothing.
            logger.warning("could not release the client id of turn %d", turn_id, exc_info=True)

    async def messages_for(self, sender_id: str, after: int, limit: int) -> UserMessages:
        """What the user's channel may show after cursor `after`: their own turns, the
        bot's and agents' replies and queue news; never staff notes."""
        async with self._db.read() as session:
            page = await user_page(session, sender_id, after, limit)
        if page is None:
            raise NotFound()
        return page


def _elapsed_ms(started: float) -> int:
    """Milliseconds since `started`, for spotting a slow engine in the logs."""
    return round((time.perf_counter() - started) * 1000)
