"""The three real processes (action server, Rasa with the trained model, gateway) for the
end-to-end tests, on free ports with a temporary var/; plus how a user talks to them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.bench_stacks import free_port as free_port  # the cluster tests import it from here
from scripts.model_cache import ROOT, model_path
from scripts.stack import Stack, StackConfig, rasa_token


def trained_model() -> Path:
    """`make test` trains the model and passes its path in RASA_MODEL."""
    configured = os.environ.get("RASA_MODEL")
    path = Path(configured) if configured else model_path(ROOT / "config.yml")
    if not path.exists():
        if configured:
            pytest.fail(f"RASA_MODEL={configured} does not exist")
        pytest.skip("no trained model: run `make train` (make test does)")
    return path


@contextmanager
def running_stack(var_dir: Path) -> Iterator[Stack]:
    """Started and stopped around the block; the processes' logs are shown if start fails."""
    config = StackConfig(
        model=trained_model(),
        var_dir=var_dir,
        rasa_port=free_port(),
        actions_port=free_port(),
        gateway_port=free_port(),
        log_dir=var_dir / "logs",
    )
    stack = Stack(config)
    with pytest.MonkeyPatch.context() as env:
        # The stack passes its environment on: keep the gateway's database in var_dir.
        env.delenv("DATABASE_URL", raising=False)
        env.delenv("GATEWAY_DATABASE_URL", raising=False)
        try:
            stack.start()
        except Exception:
            for log in sorted((var_dir / "logs").glob("*.log")):
                print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")  # noqa: T201
            raise
    try:
        yield stack
    finally:
        stack.stop()


def say(stack: Stack, sender: str, text: str) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{stack.config.gateway_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    replies: list[dict[str, Any]] = response.json()
    return replies


def texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies if r.get("text")]


def tracker(stack: Stack, sender: str) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.config.rasa_url}/conversations/{sender}/tracker",
        params={"token": rasa_token(stack.config.var_dir)},
        timeout=30,
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result
