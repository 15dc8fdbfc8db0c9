"""A real redis-server on a free port for the scale-out tests, and the skip rule they share:
without Redis (or PostgreSQL / HAProxy for the cluster) they skip with the install
command, except under ``REQUIRE_FULL_SUITE=1`` (CI), where a missing package fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts.cluster import INSTALL_HINT, missing_packages

from .real_stack import free_port


def require(*packages: str) -> None:
    """Skip (or fail in CI) unless these Debian packages' programs are installed."""
    missing = [p for p in missing_packages() if p in packages]
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed: {INSTALL_HINT}"
    if os.environ.get("REQUIRE_FULL_SUITE"):
        pytest.fail(reason)
    pytest.skip(reason)


class RedisServer:
    """redis-server in the foreground on 127.0.0.1:`port`, data in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        redis_server = shutil.which("redis-server")
        assert redis_server is not None
        self.proc = subprocess.Popen(
            [
                redis_server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            done = subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            )
            if done.stdout.strip() == b"PONG":
                return
            time.sleep(0.1)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@contextmanager
def redis_server(directory: Path) -> Iterator[RedisServer]:
    require("redis-server")
    server = RedisServer(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
