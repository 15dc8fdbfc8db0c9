"""Browser tests of the agent console: Debian's Chromium driven by Playwright, offline.

The server under test is built by `make_app` alone, so pointing these tests at the real
backend means changing that one function (and `backend`, which the tests use to make
things happen on the server side). Tests that need a browser are skipped, with the reason,
only when ``/usr/bin/chromium`` is missing; Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from starlette.types import ASGIApp

from tests.live_server import LiveServer

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
