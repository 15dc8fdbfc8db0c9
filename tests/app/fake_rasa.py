"""A small real HTTP server imitating the parts of Rasa 3.6 and the action server we use.

It runs with uvicorn on a free 127.0.0.1 port, so the gateway's real httpx client, its
timeouts and connection handling are exercised over TCP. It is NOT Rasa: the full Rasa
server (model, REST channel, actions) is covered by the separate integration tests.

Scripted behaviour of ``POST /webhooks/rest/webhook``, chosen by the message text:
- "转人工": a text reply plus a separate custom handoff element, like the real bot's
  ``utter_handoff`` (Rasa's REST channel sends text and custom as two elements)
- "救命": the same with reason ``emergency`` / priority ``urgent``
- "我要投诉": the same with reason ``complaint`` / priority ``high``
- "boom": HTTP 500 (with a reply-shaped body)
- "garbage": HTTP 200 with a body that is not a reply list
- "slow": sleeps `state.delay_s` before answering
- a text in `state.scripted`: the reply elements scripted for it
- "认证好了": an authentication that ended (``custom.task_done`` pension_auth and
  ``custom.resident``), then the reminder question (``custom.expect`` yes_no), like the
  real bot; "查认证": a status answer (task_done auth_status, resident), no question
- anything else: echoes the text, then a reply with two buttons
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.live_server import LiveServer

RASA_VERSION_TEXT = "Hello from Rasa: 3.6.21"
MODEL_FILE = "models/20240101-120000-test.tar.gz"
TOKEN = "test-token-123"
HANDOFF = {"handoff": {"reason": "user_request", "priority": "normal"}}
HANDOFF_TEXT = "好的，正在为您转接工作人员。"
# Message text -> the handoff payload the fake bot answers it with.
HANDOFFS: dict[str, dict[str, Any]] = {
    "转人工": HANDOFF,
    "救命": {"handoff": {"reason": "emergency", "priority": "urgent"}},
    "我要投诉": {"handoff": {"reason": "complaint", "priority": "high"}},
}
# The registry's opaque reference of the scripted resident (``custom.resident.ref``).
RESIDENT_REF = "ab" * 32
RESIDENT = {"ref": RESIDENT_REF, "next_due": "2027-12-01", "suspended": False}
TASK_REPLIES: dict[str, list[dict[str, Any]]] = {
    "认证好了": [
        {"text": "认证成功了！下次请在2027年12月1日前认证。"},
        {"custom": {"task_done": {"task": "pension_auth", "service": None}, "resident": RESIDENT}},
        {"text": "到期前要提醒您吗？"},
        {"custom": {"expect": {"kind": "yes_no"}}},
    ],
    "查认证": [
        {"text": "您已经认证过了，下次请在2027年12月1日前认证。"},
        {"custom": {"task_done": {"task": "auth_status", "service": None}, "resident": RESIDENT}},
    ],
}
BUTTONS = [
    {"title": "助餐服务", "payload": "/ask_meal_service"},
    {"title": "转人工", "payload": "/request_human"},
]


@dataclass
class FakeRasaState:
    """What the fake received and how it should misbehave; reset before every test."""

    webhook_calls: list[dict[str, Any]] = field(default_factory=list)
    status_tokens: list[str | None] = field(default_factory=list)
    model_loaded: bool = True
    actions_ok: bool = True
    actions_status: int = 200
    delay_s: float = 0.0
    # Message text -> the reply elements (without recipient_id) the fake answers it with,
    # for tests of `custom` parts the real bot sends (resident, reminders, forget_me, ...).
    scripted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def reset(self) -> None:
        self.scripted.clear()
        self.webhook_calls.clear()
        self.status_tokens.clear()
        self.model_loaded = True
        self.actions_ok = True
        self.actions_status = 200
        self.delay_s = 0.0


def build_fake_app(state: FakeRasaState) -> FastAPI:
    """Rasa's REST channel + /status, and the action server's /health, on one app."""
    app = FastAPI()

    @app.get("/")
    async def hello() -> PlainTextResponse:
        return PlainTextResponse(RASA_VERSION_TEXT)

    @app.get("/status")
    async def status(request: Request) -> Response:
        token = request.query_params.get("token")
        state.status_tokens.append(token)
        if token != TOKEN:
            return JSONResponse({"message": "User is not authenticated."}, status_code=401)
        if not state.model_loaded:
            return JSONResponse({"message": "No agent loaded."}, status_code=409)
        return JSONResponse(
            {"model_file": MODEL_FILE, "model_id": "abc123", "num_active_training_jobs": 0}
        )

    @app.post("/webhooks/rest/webhook")
    async def webhook(request: Request) -> Response:
        payload = await request.json()
        state.webhook_calls.append(payload)
        sender, text = payload["sender"], payload["message"]
        if text == "boom":
            # A list body on purpose: the gateway must trust the status, not the shape.
            return JSONResponse([{"recipient_id": sender, "text": "oops"}], status_code=500)
        if text == "garbage":
            return JSONResponse({"not": "a list"})
        if text == "slow":
            await asyncio.sleep(state.delay_s)
        if text in state.scripted:
            return JSONResponse([{"recipient_id": sender, **r} for r in state.scripted[text]])
        if text in TASK_REPLIES:
            return JSONResponse([{"recipient_id": sender, **r} for r in TASK_REPLIES[text]])
        if text in HANDOFFS:
            return JSONResponse(
                [
                    {"recipient_id": sender, "text": HANDOFF_TEXT},
                    {"recipient_id": sender, "custom": HANDOFFS[text]},
                ]
            )
        return JSONResponse(
            [
                {"recipient_id": sender, "text": f"您说的是：{text}"},
                {"recipient_id": sender, "text": "请选择服务：", "buttons": BUTTONS},
            ]
        )

    @app.get("/not-rasa/")
    async def some_other_server() -> PlainTextResponse:
        return PlainTextResponse("<html>Welcome to nginx!</html>")

    @app.get("/health")
    async def actions_health() -> Response:
        if state.actions_status != 200:
            return JSONResponse({"status": "broken"}, status_code=state.actions_status)
        return JSONResponse({"status": "ok" if state.actions_ok else "starting"})

    return app


class FakeRasaServer(LiveServer):
    """The fake app on a live loopback port, with its state at hand for the tests."""

    def __init__(self) -> None:
        self.state = FakeRasaState()
        super().__init__(build_fake_app(self.state), lifespan="off")


def closed_port() -> int:
    """A port nothing listens on: bound once to get a free number, then released."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def main() -> None:
    """``python -m tests.app.fake_rasa --port N``: serve the fake in the foreground.

    Used by ``scripts/bench_handoff.py``, which runs it as a separate process so the
    fake does not share an interpreter with the load generator.
    """
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.app.fake_rasa")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        build_fake_app(FakeRasaState()),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
