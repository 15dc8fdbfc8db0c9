"""The three real processes (action server, Rasa with the trained model, gateway), one
Chinese conversation through the gateway's REST webhook.

Needs the trained model: `make test` trains it and passes its path in RASA_MODEL.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from scripts.stack import Stack, rasa_token

from .real_stack import running_stack, say, texts, tracker


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def test_health_reports_every_part(stack: Stack) -> None:
    body = httpx.get(f"{stack.config.gateway_url}/health", timeout=30).json()
    assert body["status"] == "ok", body


def test_no_process_shows_the_rasa_token_on_its_command_line(stack: Stack) -> None:
    """Command lines are world-readable (`ps`); Rasa gets its token in memory instead."""
    token = rasa_token(stack.config.var_dir).encode()
    command_lines: dict[int, bytes] = {}
    sessions: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):  # gone meanwhile
                command_lines[int(proc.name)] = (proc / "cmdline").read_bytes()
                # Field 6 of stat, after the ")" that ends the command name: the session.
                stat = (proc / "stat").read_text()
                sessions[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[3])
    # Each of the three was started in a session of its own (its pid), with its children.
    ours = {p.pid for p in stack.processes.values()}
    assert ours <= set(command_lines)  # the stack's own processes were all looked at
    in_stack = [line for pid, line in command_lines.items() if sessions.get(pid) in ours]
    assert len(in_stack) >= len(ours)
    assert not any(b"--auth-token" in line or b"--jwt-secret" in line for line in in_stack)
    # Nowhere on the machine, the stack's processes or anything else.
    assert {pid: line for pid, line in command_lines.items() if token in line} == {}
    # …and Rasa's API still requires it.
    status = f"{stack.config.rasa_url}/status"
    assert httpx.get(status, timeout=30).status_code == 401
    assert httpx.get(status, params={"token": token.decode()}, timeout=30).status_code == 200


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
    handoffs = [r["custom"]["handoff"] for r in replies if "handoff" in r.get("custom", {})]
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


def test_chinese_dialogue_over_the_kiosk_socket(stack: Stack) -> None:
    url = stack.config.gateway_url.replace("http://", "ws://") + "/ws/kiosk"

    def turn(socket: ClientConnection, text: str) -> list[str]:
        socket.send(json.dumps({"type": "text", "text": text}))
        said: list[str] = []
        while True:  # replies end when the socket goes quiet for a moment
            try:
                event = json.loads(socket.recv(timeout=15 if not said else 3))
            except TimeoutError:
                return said
            assert event["type"] != "error", event
            if event["type"] == "bot":
                said.append(event["text"])

    with connect(url) as socket:
        assert "姓名" in "".join(turn(socket, "我要办养老金认证"))
        assert "身份证" in "".join(turn(socket, "我叫王桂兰"))
        assert "好的，我说慢一点。" in turn(socket, "慢一点")


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
