"""A local fake of the Telegram Bot API, for aiogram's real client to talk to over TCP.

aiohttp's web server on a free 127.0.0.1 port, in a thread of its own, serving the JSON
shapes of https://core.telegram.org/bots/api for the methods the channel uses:
``getUpdates`` (long polling over a queue the test fills), ``getMe``, ``deleteWebhook``,
``setWebhook``, ``sendMessage``, ``sendVoice`` (multipart upload, kept), ``getFile`` and
the file download URL, ``answerCallbackQuery``, ``editMessageReplyMarkup``. Every call is
recorded with its parameters and time. ``flood(method, times)`` makes the next calls of a
method fail with Telegram's 429 (``parameters.retry_after``), as flood control does.

It is not Telegram: only the parts of the protocol the channel relies on are here.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "社区助手", "username": "community_bot"}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    files: dict[str, bytes] = field(default_factory=dict)


class FakeTelegram:
    """The server and its state; methods are safe to call from the test's thread."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self._lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self.calls: list[Call] = []
        self.files: dict[str, tuple[bytes, int]] = {}  # file_id -> (bytes, claimed size)
        self._flood: dict[str, int] = {}
        self.retry_after = 1
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    # -- lifecycle

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._socket.close()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.SockSite(self._runner, self._socket).start()

    # -- what a test does

    def reset(self) -> None:
        with self._lock:
            self._updates.clear()
            self.calls.clear()
            self.files.clear()
            self._flood.clear()

    def flood(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` get 429 with ``retry_after``."""
        with self._lock:
            self._flood[method] = times
            self.retry_after = retry_after

    def push(self, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = next(self._update_ids)
            self._updates.append({"update_id": update_id, **update})
        return update_id

    def update(self, **content: Any) -> dict[str, Any]:
        """An update with the next id, not queued (for webhook tests)."""
        return {"update_id": next(self._update_ids), **content}

    def message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "李"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "李"},
            **content,
        }

    def user_says(self, chat_id: int, text: str) -> int:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        return self.push({"message": self.message(chat_id, **content)})

    def user_sends_voice(
        self, chat_id: int, data: bytes, duration: int, claimed_size: int | None = None
    ) -> str:
        """A voice note whose file the server will serve; returns its file_id."""
        file_id = f"voice-{next(self._message_ids)}"
        size = claimed_size if claimed_size is not None else len(data)
        with self._lock:
            self.files[file_id] = (data, size)
        voice = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": size,
        }
        self.push({"message": self.message(chat_id, voice=voice)})
        return file_id

    def user_presses(self, chat_id: int, data: str, keyboard: Any = None) -> int:
        message = self.message(chat_id, text="请选择服务：")
        message["from"] = BOT_USER
        if keyboard is not None:
            message["reply_markup"] = keyboard
        query = {
            "id": f"cb{next(self._message_ids)}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "李"},
            "chat_instance": "ci",
            "message": message,
            "data": data,
        }
        return self.push({"callback_query": query})

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == method and (chat_id is None or c.params.get("chat_id") == chat_id)
            ]

    def texts(self, chat_id: int) -> list[str]:
        """Texts the bot sent to the chat (successful sendMessage calls only)."""
        return [
            c.params["text"] for c in self.calls_of("sendMessage", chat_id) if not c.params["_429"]
        ]

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    # -- the API

    async def _api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = value.file.read()
                else:
                    params[key] = _value(key, str(value))
        for key, value in list(params.items()):  # aiogram uploads as "attach://<field>"
            if isinstance(value, str) and value.startswith("attach://"):
                files[key] = files.get(value.removeprefix("attach://"), b"")
        with self._lock:
            flooded = self._flood.get(method, 0) > 0
            if flooded:
                self._flood[method] -= 1
            params["_429"] = flooded
            self.calls.append(Call(method, params, time.monotonic(), files))
        if flooded:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {self.retry_after}",
                    "parameters": {"retry_after": self.retry_after},
                },
                status=429,
            )
        if method == "getUpdates":
            return _ok(await self._get_updates(params))
        if method == "getMe":
            return _ok(BOT_USER)
        if method in {"deleteWebhook", "setWebhook", "answerCallbackQuery"}:
            return _ok(True)
        if method == "editMessageReplyMarkup":
            return _ok(True)
        if method == "sendMessage":
            sent = self._sent(params, text=params["text"])
            if "reply_markup" in params:
                sent["reply_markup"] = params["reply_markup"]
            return _ok(sent)
        if method == "sendVoice":
            voice = {"file_id": "out", "file_unique_id": "out", "duration": 1}
            return _ok(self._sent(params, voice=voice))
        if method == "getFile":
            with self._lock:
                known = self.files.get(params.get("file_id", ""))
            if known is None:
                return _error(400, "Bad Request: invalid file_id")
            file_id = params["file_id"]
            return _ok(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "file_size": known[1],
                    "file_path": f"voice/{file_id}.oga",
                }
            )
        return _error(404, f"Not Found: method {method} is not faked")

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        deadline = time.monotonic() + min(float(params.get("timeout", 0) or 0), 5.0)
        while True:
            with self._lock:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates[:100])
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)

    def _sent(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = self.message(chat_id, **content)
        message["from"] = BOT_USER
        return message

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        file_id = request.match_info["path"].removeprefix("voice/").removesuffix(".oga")
        with self._lock:
            known = self.files.get(file_id)
            self.calls.append(Call("download", {"file_id": file_id, "_429": False}, 0.0))
        if known is None:
            return web.Response(status=404)
        return web.Response(body=known[0], content_type="audio/ogg")


_NUMBERS = frozenset({"chat_id", "offset", "timeout", "limit", "duration", "message_id"})
_JSON = frozenset({"reply_markup", "allowed_updates"})


def _value(key: str, raw: str) -> Any:
    """Form fields as aiogram sends them: numbers and JSON objects as text."""
    if key in _NUMBERS and raw.lstrip("-").isdigit():
        return int(raw)
    if key in _JSON:
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(code: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=code
    )
