"""The three real processes (action server, Rasa with the trained model, gateway), one
Chinese conversation through the gateway's REST webhook.

Needs the trained model: `make test` trains it and passes its path in RASA_MODEL.
"""

from __future__ import annotations

import os
import signal
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.model_cache import ROOT, model_path
from scripts.stack import Stack, StackConfig, rasa_token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _model() -> Path:
    configured = os.environ.get("RASA_MODEL")
    path = Path(configured) if configured else model_path(ROOT / "config.yml")
    if not path.exists():
        if configured:
            pytest.fail(f"RASA_MODEL={configured} does not exist")
        pytest.skip("no trained model: run `make train` (make test does)")
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("var")
    config = StackConfig(
        model=_model(),
        var_dir=var_dir,
        rasa_port=_free_port(),
        actions_port=_free_port(),
        gateway_port=_free_port(),
        log_dir=var_dir / "logs",
    )
    running = Stack(config)
    try:
        running.start()
    except Exception:
        for log in sorted((var_dir / "logs").glob("*.log")):
            print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")  # noqa: T201
        raise
    yield running
    running.stop()


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


def test_health_reports_every_part(stack: Stack) -> None:
    body = httpx.get(f"{stack.config.gateway_url}/health", timeout=30).json()
    assert body["status"] == "ok", body


def test_pension_authentication_in_chinese_with_spoken_digits(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    assert "您好" in "".join(texts(say(stack, sender, "你好")))
    assert "姓名" in "".join(texts(say(stack, sender, "嗯 我想办那个养老金资格认证")))
    assert "身份证" in "".join(texts(say(stack, sender, "我叫王桂兰")))
    wrong = "".join(texts(say(stack, sender, "幺幺零幺零五一九四九一零零一零零三二")))
    assert "不对" in wrong, wrong
    # Misheard, yet checksum-valid: the read-back in groups lets the user fix one group.
    readback = texts(say(stack, sender, "幺幺零幺零五 嗯 一九四九一零零一 零三五拐"))
    assert readback == ["我听到的号码是：110105，19491001，0357。对吗？"], readback
    readback = texts(say(stack, sender, "不对 后四位是零零三幺"))
    assert readback == ["我听到的号码是：110105，19491001，0031。对吗？"], readback
    done = texts(say(stack, sender, "对"))
    assert any("认证成功" in t for t in done), done

    slots = tracker(stack, sender)["slots"]
    assert slots["auth_result"] == "success"
    assert slots["id_number"] is None, "the full ID number must not stay in the conversation"

    again = texts(say(stack, sender, "再说一遍"))
    assert again == done


def test_commands_inside_the_form_and_handoff(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    asked = texts(say(stack, sender, "我要认证"))
    assert asked and "姓名" in asked[-1]
    slower = texts(say(stack, sender, "你说慢一点"))
    assert slower[0] == "好的，我说慢一点。"
    assert slower[-1] == asked[-1], "the form asks its question again"
    assert tracker(stack, sender)["slots"]["speech_rate"] == 0.8

    replies = say(stack, sender, "转人工")
    handoffs = [r["custom"]["handoff"] for r in replies if r.get("custom")]
    assert handoffs == [{"reason": "user_request", "priority": "normal"}]
    assert tracker(stack, sender)["active_loop"] in ({}, None, {"name": None})


def test_service_lookup_with_a_colloquial_name_and_a_follow_up(stack: Stack) -> None:
    sender = f"e2e-{uuid.uuid4().hex[:8]}"
    first = "".join(texts(say(stack, sender, "俺想问问那个老年卡咋办")))
    assert "敬老卡" in first and "吗？" in first, first
    steps = "".join(texts(say(stack, sender, "好")))
    assert steps and steps != first, steps
    materials = "".join(texts(say(stack, sender, "那要带什么材料")))
    assert "身份证" in materials, materials


def test_dead_rasa_gives_a_readable_503_and_the_gateway_lives_on(stack: Stack) -> None:
    rasa = stack.processes["rasa"]
    os.killpg(rasa.pid, signal.SIGTERM)
    rasa.wait(timeout=30)
    response = httpx.post(
        f"{stack.config.gateway_url}/webhooks/rest/webhook",
        json={"sender": "e2e-dead", "message": "你好"},
        timeout=30,
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "engine_unavailable"
    health = httpx.get(f"{stack.config.gateway_url}/health", timeout=30).json()
    assert health["status"] == "degraded"
