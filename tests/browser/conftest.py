"""Browser tests of the agent console: Debian's Chromium driven by Playwright, offline.

The server under test is built by `make_app` alone, so pointing these tests at the real
backend means changing that one function (and `backend`, which the tests use to make
things happen on the server side). Tests that need a browser are skipped, with the reason,
only when ``/usr/bin/chromium`` is missing; Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, expect
from starlette.types import ASGIApp

from .fake_api import FakeBackend, create_fake_app

CHROMIUM = Path("/usr/bin/chromium")
# Offline and quiet: nothing in the browser may try to reach the internet.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_REASON = f"{CHROMIUM} not found: install Debian's chromium package (apt-get install chromium)"


def make_app() -> ASGIApp:
    """The app the browser talks to. Swap in the real gateway here when its API is ready."""
    return create_fake_app()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip the tests that open a page when there is no browser; the rest still run."""
    if CHROMIUM.exists():
        return
    if os.environ.get("REQUIRE_FULL_SUITE"):  # CI: a missing browser is a failure, not a skip
        raise pytest.UsageError(SKIP_REASON)
    for item in items:
        if "page" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


class LiveServer:
    """Uvicorn serving `app` from a background thread on a free 127.0.0.1 port."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        # "auto": the real gateway builds its hub in its lifespan; the fake has none.
        config = uvicorn.Config(app, log_level="warning", lifespan="auto", access_log=False)
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
        raise RuntimeError("console test server did not start")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer(make_app())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def backend(live_server: LiveServer) -> FakeBackend:
    """The server-side controls, reset so one test's state never leaks into the next."""
    fake: FakeBackend = live_server.app.state.backend  # type: ignore[attr-defined]
    fake.reset()
    return fake


# pytest-playwright fixtures, overridden: our browser binary, and every page on our server.
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Playwright adds its own --headless first; the later --headless=new in ours wins.
    # Every launch gets a fresh temporary profile (user-data dir) from Playwright.
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "locale": "zh-CN",
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def console(page: Page, backend: FakeBackend) -> Page:
    """The console page, freshly loaded, showing the login form."""
    # Generous for a loaded 2-core CI machine; a passing step never waits this long.
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page.goto("/agent")
    return page
