"""Rasa's own REST client (`rasa shell`) against the gateway, run in the engine env.

`rasa shell` posts to ``/webhooks/rest/webhook?stream=true&token=…`` and reads one JSON
reply per line (`rasa.core.channels.console`); ``rasa shell --no-stream`` posts without
``stream`` and reads a list. The client code here is Rasa's, unchanged: only the
keyboard is replaced by a list of lines.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import httpx
import pytest

from scripts.model_cache import ROOT
from tests.app.handoff_kit import gateway_with_fake_rasa
from tests.live_server import LiveServer

ENGINE_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
URL = "/webhooks/rest/webhook"

# Rasa's console loop with typed input replaced; prints Rasa's rendering of every reply.
_SHELL = """
import asyncio, json, sys
import rasa.core.channels.console as console

lines = json.loads(sys.argv[3])

async def typed(previous_response):
    if previous_response is not None:
        console._print_bot_output(previous_response)
    return lines.pop(0) if lines else "/stop"

console._get_user_input = typed
count = asyncio.run(console.record_messages(
    sys.argv[2], server_url=sys.argv[1], use_response_stream=sys.argv[4] == "stream"))
print("messages sent:", count)
"""


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with gateway_with_fake_rasa(tmp_path_factory.mktemp("shell")) as server:
        yield server


def rasa_shell(gateway: LiveServer, lines: list[str], mode: str) -> str:
    """Rasa's console in `mode` (stream / no-stream), as its own user, fed `lines`."""
    if not ENGINE_PYTHON.exists():
        pytest.skip("no engine environment (.venv-rasa): run `make setup`")
    done = subprocess.run(
        [str(ENGINE_PYTHON), "-c", _SHELL, gateway.url, f"shell-{mode}", json.dumps(lines), mode],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.parametrize("mode", ["stream", "no-stream"])
def test_rasa_shell_talks_to_the_gateway(gateway: LiveServer, mode: str) -> None:
    output = rasa_shell(gateway, ["我想订午饭", "转人工"], mode)

    assert "您说的是：我想订午饭" in output
    assert "请选择服务：" in output
    assert "好的，正在为您转接工作人员。" in output
    assert "messages sent: 2" in output


def test_stream_wire_format(gateway: LiveServer) -> None:
    response = httpx.post(
        f"{gateway.url}{URL}",
        params={"stream": "true", "token": "ignored"},
        json={"sender": "u1", "message": "第一行\n第二行"},
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.split("\n")
    assert lines[-1] == ""  # every reply line ends with a newline, Rasa's framing
    replies = [json.loads(line) for line in lines[:-1]]
    assert (
        replies
        == httpx.post(
            f"{gateway.url}{URL}", json={"sender": "u1", "message": "第一行\n第二行"}
        ).json()
    )
    assert len(replies) == 2 and all(isinstance(reply, dict) for reply in replies)


def test_stream_errors_keep_their_status_and_body(gateway: LiveServer) -> None:
    response = httpx.post(
        f"{gateway.url}{URL}", params={"stream": "true"}, json={"sender": "u1", "message": " "}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_message"
