"""An in-memory stand-in for the agent API, so the console can be tested before the backend.

It implements the contract the console relies on (``/api/agent/...`` and ``/ws/agent``) and
includes the real `channels.console` router and error handlers, so the page, its files and
the error body shape are the gateway's own. It is NOT the backend: no database, no hub, no
Rasa. Tests drive it from their own thread through `FakeBackend`'s methods (push an event,
a resident speaking, another agent claiming) and read what the page sent from its records.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from bot.privacy.masking import mask_pii
from channels import console
from channels.error_handlers import install_error_handlers

USERNAME = "zhangwei"
PASSWORD = "mima-2024"
OTHER_AGENT = "lili"
ID_NUMBER = "11010519491231002X"
ID_NUMBER_MASKED = "110105********002X"
PHONE = "13812345678"
CANNED = [
    "您好，我是社区工作人员，我来帮您。",
    "请稍等，我查一下。",
    "请带上身份证到社区服务中心办理。",
]

Json = dict[str, Any]


class ApiFailure(Exception):
    """Becomes the contract's error body: {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


@dataclass
class Conversation:
    id: str
    channel: str
    reason: str
    priority: str
    profile: dict[str, bool]
    since: float  # time.monotonic() when the handoff was queued
    messages: list[Json] = field(default_factory=list)
    notes: list[Json] = field(default_factory=list)
    status: str = "waiting"
    agent: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat()


class FakeBackend:
    """State, test controls and records; `reset()` before each test."""

    def __init__(self) -> None:
        self._sockets: set[asyncio.Queue[Json | None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reset()

    def reset(self) -> None:
        self._ids = itertools.count(1)
        self.tokens: dict[str, str] = {}
        self.conversations: dict[str, Conversation] = {}
        self.canned: list[str] = list(CANNED)
        self.refuse_sockets = False
        # Records of what the page asked for: (conversation_id, text) or conversation_id.
        self.sent: list[tuple[str, str]] = []
        self.notes_added: list[tuple[str, str]] = []
        self.reveals: list[str] = []
        self.handbacks: list[str] = []
        self.closes: list[str] = []
        self.canned_puts: list[list[str]] = []
        self.drop_sockets()
        self._seed()

    def _seed(self) -> None:
        now = time.monotonic()
        first = self.add_conversation(
            "c-1001", "kiosk", "verification_failed", "high", {"kiosk": True, "elder_mode": True}
        )
        first.since = now - 125
        self.add_message(first, "user", "我要做社保认证", confidence=0.93)
        self.add_message(first, "bot", "好的。请说您的身份证号码。")
        self.add_message(first, "user", f"身份证号 {ID_NUMBER}", confidence=0.42)
        self.add_message(first, "bot", "这个身份证号好像不对，可能有一位听错了。")
        self.add_message(first, "user", f"我电话是{PHONE}，你们打给我吧", confidence=0.88)
        self.add_message(first, "bot", "还是没有核对上。我帮您转给工作人员，请稍等。")
        self.add_message(first, "system", "已转人工：身份核验多次失败")
        second = self.add_conversation(
            "c-1002", "web", "emergency", "urgent", {"screen_reader": True}
        )
        second.since = now - 30
        self.add_message(second, "user", "我家老人摔倒了，怎么办", confidence=None)

    # ------------------------------------------------------------ building state

    def add_conversation(
        self, cid: str, channel: str, reason: str, priority: str, profile: dict[str, bool]
    ) -> Conversation:
        conversation = Conversation(cid, channel, reason, priority, profile, time.monotonic())
        self.conversations[cid] = conversation
        return conversation

    def add_message(
        self, conversation: Conversation, role: str, text: str, confidence: float | None = None
    ) -> Json:
        message = {
            "id": f"m-{next(self._ids)}",
            "role": role,
            "text": text,
            "created_at": _now(),
            "asr_confidence": confidence,
            "low_confidence": confidence is not None and confidence < 0.6,
        }
        conversation.messages.append(message)
        return message

    # ------------------------------------------------------------ views of the state

    def _item(self, c: Conversation, position: int) -> Json:
        return {
            "id": f"q-{c.id}",
            "conversation_id": c.id,
            "reason": c.reason,
            "priority": c.priority,
            "channel": c.channel,
            "waiting_s": int(time.monotonic() - c.since),
            "position": position,
            "profile": c.profile,
        }

    def waiting_items(self) -> list[Json]:
        waiting = [c for c in self.conversations.values() if c.status == "waiting"]
        return [self._item(c, n) for n, c in enumerate(waiting, start=1)]

    def mine_items(self, agent: str) -> list[Json]:
        mine = [c for c in self.conversations.values() if c.agent == agent and c.status == "agent"]
        return [self._item(c, 0) for c in mine]

    def conversation_body(self, c: Conversation, *, masked: bool = True) -> Json:
        show = mask_pii if masked else str
        return {
            "id": c.id,
            "channel": c.channel,
            "handoff": {"status": c.status},
            "profile": {
                flag: c.profile.get(flag, False)
                for flag in ("kiosk", "screen_reader", "telegram", "elder_mode")
            },
            "messages": [{**m, "text": show(m["text"])} for m in c.messages],
            "notes": list(c.notes),
        }

    def get(self, cid: str) -> Conversation:
        conversation = self.conversations.get(cid)
        if conversation is None:
            raise ApiFailure(404, "not_found", "找不到这个对话。")
        return conversation

    # ------------------------------------------------------------ test controls (any thread)

    def push(self, event: Json | None) -> None:
        """Send `event` to every open socket; None closes them (a dropped connection)."""
        loop = self._loop
        if loop is None:
            return
        for queue in list(self._sockets):
            loop.call_soon_threadsafe(queue.put_nowait, event)

    def push_queue(self) -> None:
        self.push({"type": "queue", "items": self.waiting_items()})

    def say(self, cid: str, text: str, confidence: float | None = None) -> Json:
        """The resident says something; it reaches the agent as a live message event."""
        message = self.add_message(self.get(cid), "user", text, confidence)
        shown = {**message, "text": mask_pii(text)}
        self.push({"type": "message", "conversation_id": cid, "message": shown})
        return message

    def claim_as(self, cid: str, agent: str = OTHER_AGENT) -> None:
        """Another agent takes the conversation, and the page is NOT told (a race)."""
        conversation = self.get(cid)
        conversation.status, conversation.agent = "agent", agent

    def drop_sockets(self) -> None:
        self.push(None)

    def socket_count(self) -> int:
        return len(self._sockets)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    # ------------------------------------------------------------ socket plumbing

    def attach(self, queue: asyncio.Queue[Json | None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._sockets.add(queue)

    def detach(self, queue: asyncio.Queue[Json | None]) -> None:
        self._sockets.discard(queue)


def current_agent(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The agent whose bearer token came with the request, or the contract's 401."""
    token = (authorization or "").removeprefix("Bearer ").strip()
    name = request.app.state.backend.tokens.get(token)
    if name is None:
        raise ApiFailure(401, "unauthorized", "登录已过期，请重新登录。")
    return str(name)


# Module level: with postponed annotations FastAPI resolves these names in module globals.
Agent = Annotated[str, Depends(current_agent)]


def create_fake_app(backend: FakeBackend | None = None) -> FastAPI:
    """The console router plus the fake agent API; the backend is at ``app.state.backend``."""
    fake = backend if backend is not None else FakeBackend()
    app = FastAPI(title="fake agent API")
    app.state.backend = fake
    install_error_handlers(app)
    app.include_router(console.router)

    @app.exception_handler(ApiFailure)
    async def api_failure(request: Request, exc: ApiFailure) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message}}
        return JSONResponse(body, status_code=exc.status)

    async def text_of(request: Request, what: str) -> str:
        body = await request.json()
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise ApiFailure(422, "empty_message", f"{what}是空的。")
        return text.strip()

    @app.post("/api/agent/login")
    async def login(request: Request) -> Json:
        body = await request.json()
        if body.get("username") != USERNAME or body.get("password") != PASSWORD:
            raise ApiFailure(401, "invalid_credentials", "用户名或密码不对，请再试一次。")
        token = secrets.token_urlsafe(16)
        fake.tokens[token] = USERNAME
        return {"token": token}

    @app.get("/api/agent/queue")
    async def queue(me: Agent) -> Json:
        return {"items": fake.waiting_items(), "claimed": fake.mine_items(me)}

    @app.post("/api/agent/conversations/{cid}/claim")
    async def claim(cid: str, me: Agent) -> Json:
        conversation = fake.get(cid)
        if conversation.status != "waiting":
            raise ApiFailure(409, "already_claimed", "已被其他工作人员接手。")
        conversation.status, conversation.agent = "agent", me
        fake.push({"type": "claimed", "conversation_id": cid, "agent": me})
        fake.push_queue()
        return {"ok": True}

    @app.get("/api/agent/conversations/{cid}")
    async def conversation(cid: str, me: Agent) -> Json:
        return fake.conversation_body(fake.get(cid))

    @app.post("/api/agent/conversations/{cid}/reveal")
    async def reveal(cid: str, me: Agent) -> Json:
        fake.reveals.append(cid)
        return fake.conversation_body(fake.get(cid), masked=False)

    @app.post("/api/agent/conversations/{cid}/messages")
    async def reply(cid: str, me: Agent, request: Request) -> Json:
        text = await text_of(request, "回复")
        fake.sent.append((cid, text))
        message = fake.add_message(fake.get(cid), "agent", text)
        # The real backend echoes the agent's own message too: the page must not show it twice.
        fake.push({"type": "message", "conversation_id": cid, "message": message})
        return message

    @app.post("/api/agent/conversations/{cid}/notes")
    async def note(cid: str, me: Agent, request: Request) -> Json:
        text = await text_of(request, "备注")
        fake.notes_added.append((cid, text))
        added = {"id": f"n-{next(fake._ids)}", "text": text, "agent": me, "created_at": _now()}
        fake.get(cid).notes.append(added)
        return added

    @app.post("/api/agent/conversations/{cid}/handback")
    async def handback(cid: str, me: Agent) -> Json:
        fake.handbacks.append(cid)
        conversation = fake.get(cid)
        conversation.status, conversation.agent = "bot", None
        return {"ok": True}

    @app.post("/api/agent/conversations/{cid}/close")
    async def close(cid: str, me: Agent) -> Json:
        fake.closes.append(cid)
        conversation = fake.get(cid)
        conversation.status, conversation.agent = "closed", None
        return {"ok": True}

    @app.get("/api/agent/canned-replies")
    async def canned(me: Agent) -> Json:
        return {"replies": fake.canned}

    @app.put("/api/agent/canned-replies")
    async def put_canned(me: Agent, request: Request) -> Json:
        replies = (await request.json())["replies"]
        fake.canned_puts.append(replies)
        fake.canned = replies
        return {"replies": replies}

    @app.websocket("/ws/agent")
    async def agent_socket(websocket: WebSocket) -> None:
        if fake.refuse_sockets:
            await websocket.close(code=1013)  # before accept: the handshake fails (HTTP 403)
            return
        if websocket.query_params.get("token") not in fake.tokens:
            await websocket.accept()
            await websocket.close(code=4401)
            return
        # Listen before accepting: once the page sees "open", no pushed event may be lost.
        queue: asyncio.Queue[Json | None] = asyncio.Queue()
        fake.attach(queue)
        receiver: asyncio.Task[None] | None = None
        try:
            await websocket.accept()
            receiver = asyncio.create_task(_until_disconnect(websocket))
            while True:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if receiver in done:
                    getter.cancel()
                    return
                event = getter.result()
                if event is None:
                    await websocket.close(code=1012)  # "service restart": the client retries
                    return
                await websocket.send_json(event)
        finally:
            if receiver is not None:
                receiver.cancel()
            fake.detach(queue)

    return app


async def _until_disconnect(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        return
