"""An ASGI app served by uvicorn from a background thread on a free 127.0.0.1 port.

Shared by the fake Rasa server (tests/app) and the pages' browser tests (tests/browser):
a real HTTP/WebSocket server the code under test reaches over loopback.
"""

from __future__ import annotations

import socket
import threading
from typing import Literal

import uvicorn
from starlette.types import ASGIApp


class LiveServer:
    def __init__(self, app: ASGIApp, lifespan: Literal["auto", "on", "off"] = "auto") -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        for _ in range(1000):
            if self._server.started:
                return
            threading.Event().wait(0.01)
        raise RuntimeError(f"test server for {type(self.app).__name__} did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()
