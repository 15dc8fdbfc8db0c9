"""The kiosk: ``GET /kiosk`` (the page), its files, and ``WS /ws/kiosk`` (voice and text turns).

The WebSocket only adapts: turns go through `voice.pipeline.VoicePipeline` (ASR -> hub ->
TTS) and its events are forwarded as JSON. Business rules stay in ``bot/`` and ``voice/``.

Client -> server: binary frames of 16 kHz 16-bit mono PCM, and JSON control messages
``{"type": "start"}`` (``"mode": "hands_free"`` keeps listening: after Vosk's endpoint ends
one utterance the next starts by itself, until ``stop``; what is said while the reply is
being prepared is held, up to 10 s, and is the start of the next utterance),
``{"type": "stop"}``,
``{"type": "text", "text": ...}``,
``{"type": "command", "name": "repeat|slower|human|end"}``,
``{"type": "hello", "resume"?, "after"?}`` (see below).

Server -> client: ``{"type": "partial", "text"}``, ``{"type": "final", "text", "confidence"}``,
``{"type": "bot", "text", "audio", "choices"?}`` (audio: base64 WAV or null; choices: the
reply's button titles, which the page shows as big buttons that send their title),
``{"type": "reset"}`` after ``end``, and ``{"type": "error", "code", "message"}``.

While the conversation waits for or talks with a person, what arrives outside a turn is
pushed from the in-process event bus (`bot.bus.user_feed`): an agent's message as ``{"type":
"bot", "text", "audio", "from": "agent"}``, system news (queue position, "an agent joined")
as ``{"type": "bot", ...}``, and with each queue notice (in the handoff turn and on every
change of place) ``{"type": "queue", "position", "eta_s"}``, the same estimate the notice
speaks. Each such push carries ``"id"``, its event's stream id (null when it has none: in
process, or Redis away).

Reconnecting: a page that says ``hello`` first gets ``{"type": "session", "resume", "id",
"resumed", "resync"}``: ``resume`` names this conversation (kept in the page's memory
only; ``reset`` carries the next one), ``id`` the stream position. After a drop the page
says ``hello`` with the ``resume`` it had and the last ``id`` it saw as ``after``: the
conversation goes on, and with ``resumed`` true the pushes it missed follow (only this
conversation's, as live), before live ones and none twice. ``resync`` true: they cannot
be replayed (in process, trimmed, unknown id, Redis away; or ``resume`` was not a
kiosk conversation, and this is a new one). Without ``hello`` nothing changes.

A bad frame gets an ``error`` and the session goes on. One recogniser per
connection, created on the first audio; each connection is its own sender
(``kiosk-<uuid>``), so ``end`` starts a new conversation.

What the bot's last turn expects picks the grammar of the next utterance
(`voice.expectations`): its ``{"expect": {...}}`` custom payload (yes/no after "…对吗？",
digits while an ID is asked, a choice) or its buttons; otherwise free speech. Nothing of
this reaches the page: the protocol is unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from bot.bus.events import EventBus
from bot.bus.user_feed import FeedStart, UserPush, follow_user
from bot.hub import ConversationHub
from bot.messages import UserMessage
from bot.reply_custom import QueuePlace, queue_place
from bot.settings import Settings
from channels.deps import get_app_settings, get_bus, get_hub
from channels.pages import add_page
from channels.voice_turns import ask_hub, dialogue_reply
from nlu.commands import COMMAND_WORDS
from voice import asr
from voice.asr import RecognizerSession
from voice.audio import BYTES_PER_SECOND, check_pcm_frame
from voice.errors import VoiceError, VoiceErrorCode
from voice.expectations import FREE, Expectation, expectation_of_turn, grammar_for
from voice.pipeline import (
    AsrEnd,
    DialogueReply,
    ErrorEvent,
    PipelineEvent,
    TranscriptEvent,
    VoicePipeline,
)
from voice.settings import get_voice_settings
from voice.tts import shared_synthesizer

logger = logging.getLogger(__name__)

CHANNEL = "kiosk"
MAX_FRAME_BYTES = 64 * 1024  # 2 s of audio; the page sends ~0.1 s frames
MAX_CONTROL_BYTES = 16 * 1024
# What `hello` may resume: a kiosk conversation (the uuid is the secret), nothing else.
RESUMABLE = re.compile(r"kiosk-[0-9a-f]{32}")
# Hands-free: speech that arrives while the previous reply is prepared is held for the next
# utterance, at most this much (the most recent part is kept).
MAX_HELD_BYTES = 10 * BYTES_PER_SECOND
# The big buttons that send a command word (`nlu.commands`); ``end`` is handled here (new sender).
COMMANDS = ("repeat", "slower", "human")
_ERRORS = {
    "bad_frame": "收到的数据有问题，请再试一次。",
    "frame_too_large": "收到的数据太大了，请再试一次。",
    "bad_message": "收到的数据有问题，请再试一次。",
    "empty_text": "请先输入要说的话。",
    "text_too_long": "这段话太长了，请分几次说。",
    "voice_unavailable": "语音识别暂时不能用，请用键盘打字，或者按“转人工”。",
}

router = APIRouter(tags=["kiosk"])
# The page plays the reply audio from blob:/data: URLs.
add_page(
    router,
    path="/kiosk",
    folder="kiosk",
    files={
        "kiosk.js": "text/javascript; charset=utf-8",
        "pcm-worklet.js": "text/javascript; charset=utf-8",
        "kiosk.css": "text/css; charset=utf-8",
    },
    extra_csp="; media-src 'self' blob: data:",
)


# ----------------------------------------------------------------------------- session


class _Stop:
    pass


_STOP = _Stop()


def bot_message(text: str, audio: str | None, choices: Sequence[str]) -> dict[str, Any]:
    """A ``bot`` message; ``choices`` (button titles) only when the reply offers some. The
    page shows them as big buttons that send their title as a ``text`` turn: touching
    对 is easier than saying it for many, and works when voice does not."""
    message: dict[str, Any] = {"type": "bot", "text": text, "audio": audio}
    if choices:
        message["choices"] = list(choices)
    return message


class KioskSession:
    """One WebSocket connection: its sender id, recogniser, speech rate and current turn."""

    def __init__(
        self, websocket: WebSocket, hub: ConversationHub, settings: Settings, bus: EventBus
    ) -> None:
        self.ws = websocket
        self.hub = hub
        self.settings = settings
        self.bus = bus
        self.follower: asyncio.Task[None] | None = None
        self.greeted = False  # said hello: wants `session` and `reset` to name the conversation
        self.voice_settings = get_voice_settings()
        self.sender_id = f"kiosk-{uuid.uuid4().hex}"
        self.speech_rate = 1.0
        self.recognizer: RecognizerSession | None = None
        self.audio_queue: asyncio.Queue[bytes | _Stop] | None = None
        self.audio_task: asyncio.Task[None] | None = None
        self.listening = False  # frames go to the current turn
        self.drop_until_stop = False  # the utterance ended (endpoint) before the user let go
        self.hands_free = False  # after an endpoint the next utterance starts by itself
        self.asr_done = False  # the current turn has its transcript; frames are held
        self.held: deque[bytes] = deque()  # hands-free speech for the next utterance
        self.held_bytes = 0
        self.expectation: Expectation = FREE  # what the bot's last turn asked for
        self._send_lock = asyncio.Lock()
        self.pipeline = VoicePipeline(
            dialogue=self._dialogue, on_event=self._on_event, synthesizer=shared_synthesizer()
        )

    # -- output

    async def send(self, message: Mapping[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_json(dict(message))

    async def error(self, code: str, message: str | None = None) -> None:
        await self.send({"type": "error", "code": code, "message": message or _ERRORS[code]})

    async def _on_event(self, event: PipelineEvent) -> None:
        if isinstance(event, TranscriptEvent):
            await self.send({"type": "partial", "text": event.transcript.display_text})
        elif isinstance(event, AsrEnd):
            self.asr_done = True
            final = event.transcript
            await self.send(
                {"type": "final", "text": final.display_text, "confidence": final.confidence}
            )
        elif isinstance(event, ErrorEvent):
            if event.code is VoiceErrorCode.TTS_UNAVAILABLE:
                return  # the replies still arrive as text; nothing for the resident to do
            if event.code is VoiceErrorCode.ASR_UNAVAILABLE:
                await self.error("voice_unavailable")
            else:
                await self.error(event.code.value, event.message)

    async def _dialogue(self, text: str, metadata: Mapping[str, Any]) -> DialogueReply:
        message = UserMessage(
            sender_id=self.sender_id,
            text=text,
            channel=CHANNEL,
            metadata={"kiosk": True, "asr_confidence": None, **metadata},
        )
        replies = await ask_hub(self.hub, message)
        for reply in replies:
            place = queue_place(reply.custom)
            if place is not None:
                await self._send_place(place)
        answer = dialogue_reply(replies)
        if answer.speech_rate is not None:
            self.speech_rate = answer.speech_rate
        self.expectation = expectation_of_turn(
            [reply.custom for reply in replies],
            [button.title for reply in replies for button in reply.buttons or ()],
        )
        return answer

    # -- pushes from the event bus (agent replies, queue news)

    async def start_following(self, after: str | None = None, *, asked: bool = False) -> None:
        """(Re)start the feed of this sender's pushes, replaying what came after `after`;
        ``asked``: the page wanted to resume (its `session` says whether it could)."""
        await self.stop_following()
        self.follower = asyncio.create_task(self.follow(after, asked=asked))

    async def stop_following(self) -> None:
        if self.follower is not None:
            self.follower.cancel()  # unsubscribes from the bus
            await asyncio.wait([self.follower])
            self.follower = None

    async def follow(self, after: str | None, *, asked: bool) -> None:
        """Forward this sender's out-of-turn messages and queue places until cancelled."""
        feed = follow_user(self.bus, lambda event: event.sender_id == self.sender_id, after)
        async for item in feed:
            try:
                if isinstance(item, FeedStart):
                    await self._send_session(item, asked=asked)
                else:
                    await self._push(item)
            except WebSocketDisconnect:
                return
            except Exception:  # a push failed; keep listening (the API has the state)
                logger.exception("kiosk: a push failed")

    async def _send_session(self, start: FeedStart, *, asked: bool) -> None:
        if self.greeted:
            await self.send(
                {
                    "type": "session",
                    "resume": self.sender_id,
                    "id": start.position,
                    "resumed": start.resumed,
                    "resync": asked and not start.resumed,
                }
            )

    async def hello(self, resume: object, after: object) -> None:
        """Go on with conversation `resume` from stream id `after`, or start a new one."""
        self.greeted = True
        if not (isinstance(resume, str) and RESUMABLE.fullmatch(resume)):
            # Nothing (or nothing of ours) to go on with: a new conversation.
            await self.start_following(asked=resume is not None)
            return
        self.sender_id = resume
        await self.start_following(after if isinstance(after, str) else None, asked=True)

    async def _push(self, push: UserPush) -> None:
        place = push.queue_place
        if place is not None:
            await self._send_place(place, {"id": push.event_id})  # only pushes have ids
        text = push.message.text
        if not text or not text.strip():
            return
        titles = [button.title for button in push.message.buttons or ()]
        message = bot_message(text, await self._speak(text), titles)
        message["id"] = push.event_id
        if push.from_agent:
            message["from"] = "agent"
            self.expectation = FREE  # a person asks freely
        await self.send(message)

    async def _send_place(
        self, place: QueuePlace, extra: Mapping[str, str | None] | None = None
    ) -> None:
        await self.send(
            {"type": "queue", "position": place.position, "eta_s": place.eta_s, **(extra or {})}
        )

    async def _speak(self, text: str) -> str | None:
        synthesizer = shared_synthesizer()
        if synthesizer is None:
            return None
        try:
            speech = await synthesizer.synthesize(text, self.speech_rate)
        except Exception as err:  # the text still arrives
            logger.info("kiosk: no speech for a pushed message: %s", type(err).__name__)
            return None
        return base64.b64encode(speech.wav).decode("ascii")

    async def _deliver(self, result: Any) -> None:
        reply: DialogueReply | None = result.reply
        if reply is None or not reply.texts:
            return
        speech = result.speech if len(result.speech) == len(reply.texts) else ()
        wavs = [s.wav for s in speech] or [None] * len(reply.texts)
        choices = reply.choices or ((),) * len(reply.texts)
        for text, wav, titles in zip(reply.texts, wavs, choices, strict=True):
            audio = base64.b64encode(wav).decode("ascii") if wav else None
            await self.send(bot_message(text, audio, titles))

    # -- turns

    async def text_turn(self, text: str) -> None:
        result = await self.pipeline.run_text(
            text, metadata={"kiosk": True}, speech_rate=self.speech_rate
        )
        await self._deliver(result)

    async def _frames(self, queue: asyncio.Queue[bytes | _Stop]) -> AsyncIterator[bytes]:
        while True:
            item = await queue.get()
            if isinstance(item, _Stop):
                return
            yield item

    async def _audio_turn(self, queue: asyncio.Queue[bytes | _Stop]) -> None:
        assert self.recognizer is not None
        self.asr_done = False
        try:
            result = await self.pipeline.run_audio(
                self._frames(queue),
                self.recognizer,
                metadata={"kiosk": True},
                speech_rate=self.speech_rate,
            )
            await self._deliver(result)
        finally:
            if self.audio_queue is queue:
                self.audio_queue = None
                self.asr_done = False
                was_listening = self.listening
                self.listening = False
                if was_listening and self.hands_free:  # hands-free: listen for the next one
                    self._hold_leftovers(queue)
                    await self.start_listening(hands_free=True)
                elif was_listening:  # ended by an endpoint while the button is still held
                    self.drop_until_stop = True
                if self.audio_queue is None:  # not restarted: nobody will want them
                    self._drop_held()

    def _hold(self, frame: bytes) -> None:
        """Keep a frame for the next utterance, dropping the oldest beyond the bound."""
        self.held.append(frame)
        self.held_bytes += len(frame)
        while self.held_bytes > MAX_HELD_BYTES and self.held:
            self.held_bytes -= len(self.held.popleft())

    def _hold_leftovers(self, queue: asyncio.Queue[bytes | _Stop]) -> None:
        """Frames the turn did not read (they came after the endpoint, before `asr_done`)
        go in front of the held ones: they were spoken first."""
        leftovers: list[bytes] = []
        while not queue.empty():
            item = queue.get_nowait()
            if not isinstance(item, _Stop):
                leftovers.append(item)
        held = list(self.held)
        self._drop_held()
        for frame in [*leftovers, *held]:
            self._hold(frame)

    def _drop_held(self) -> None:
        self.held.clear()
        self.held_bytes = 0

    def _voice_ok(self) -> bool:
        ok, reason = asr.availability(self.voice_settings)
        if not ok:
            logger.info("kiosk: voice unavailable: %s", reason)
        return ok

    async def start_listening(self, *, hands_free: bool = False) -> None:
        self.hands_free = hands_free
        self.drop_until_stop = False
        if self.audio_queue is not None:  # a turn is still running
            return
        if not self._voice_ok():
            self.listening = False
            self.drop_until_stop = True  # one error per press, not one per frame
            await self.error("voice_unavailable")
            return
        if self.recognizer is None:
            self.recognizer = RecognizerSession(self.voice_settings)
        else:
            await self.recognizer.reset()
        # The bot's last question picks the grammar (a new one takes a fresh recogniser).
        self.recognizer.set_grammar(grammar_for(self.expectation))
        queue: asyncio.Queue[bytes | _Stop] = asyncio.Queue()
        for frame in self.held:  # hands-free speech that came while the reply was prepared
            queue.put_nowait(frame)
        self._drop_held()
        self.audio_queue = queue
        self.listening = True
        self.audio_task = asyncio.create_task(self._audio_turn(queue))

    async def audio(self, frame: bytes) -> None:
        if len(frame) > MAX_FRAME_BYTES:
            await self.error("frame_too_large")
            return
        try:
            data = check_pcm_frame(frame)
        except VoiceError:
            await self.error("bad_frame")
            return
        if self.drop_until_stop:
            return  # the utterance already ended: the rest until "stop" is dropped
        if self.audio_queue is None:  # frames without "start": start implicitly
            await self.start_listening()
        if self.listening and self.hands_free and self.asr_done:
            self._hold(data)  # the next utterance, spoken while the reply is prepared
        elif self.listening and self.audio_queue is not None:
            self.audio_queue.put_nowait(data)

    def stop_listening(self) -> None:
        self.hands_free = False
        self.listening = False
        self.drop_until_stop = False
        self._drop_held()
        if self.audio_queue is not None:
            self.audio_queue.put_nowait(_STOP)

    async def end(self) -> None:
        """Forget this conversation: a new sender, normal speech rate, a fresh recogniser."""
        self.stop_listening()
        if self.audio_task is not None and not self.audio_task.done():
            self.audio_task.cancel()
        self.audio_queue = None
        self.recognizer = None
        self.sender_id = f"kiosk-{uuid.uuid4().hex}"
        self.speech_rate = 1.0
        self.expectation = FREE
        reset: dict[str, Any] = {"type": "reset"}
        if self.greeted:
            reset["resume"] = self.sender_id  # the next conversation, for the next reconnect
        await self.send(reset)

    async def control(self, raw: str) -> None:
        if len(raw.encode("utf-8")) > MAX_CONTROL_BYTES:
            await self.error("bad_message")
            return
        try:
            message = json.loads(raw)
        except ValueError:
            await self.error("bad_message")
            return
        if not isinstance(message, dict):
            await self.error("bad_message")
            return
        kind = message.get("type")
        if kind == "hello":
            await self.hello(message.get("resume"), message.get("after"))
        elif kind == "start":
            await self.start_listening(hands_free=message.get("mode") == "hands_free")
        elif kind == "stop":
            self.stop_listening()
        elif kind == "text":
            text = message.get("text")
            if not isinstance(text, str):
                await self.error("bad_message")
            elif not text.strip():
                await self.error("empty_text")
            elif len(text) > self.settings.max_message_chars:
                await self.error("text_too_long")
            else:
                await self.text_turn(text.strip())
        elif kind == "command":
            name = message.get("name")
            if name == "end":
                await self.end()
            elif isinstance(name, str) and name in COMMANDS:
                await self.text_turn(COMMAND_WORDS[name])
            else:
                await self.error("bad_message")
        else:
            await self.error("bad_message")

    async def close(self) -> None:
        await self.stop_following()
        self.stop_listening()
        if self.audio_task is not None and not self.audio_task.done():
            self.audio_task.cancel()
            await asyncio.wait([self.audio_task])  # never raises the task's outcome


@router.websocket("/ws/kiosk")
async def kiosk_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    session = KioskSession(
        websocket, get_hub(websocket), get_app_settings(websocket), get_bus(websocket)
    )
    await session.start_following()
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes") is not None:
                await session.audio(message["bytes"])
            elif message.get("text") is not None:
                await session.control(message["text"])
    except WebSocketDisconnect:
        pass
    finally:
        await session.close()
