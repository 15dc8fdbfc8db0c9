"""Deeply nested JSON bodies: a readable 400, and the keep-alive connection stays usable.

Over a real uvicorn server, because the defect was the server's: an unhandled error in
the app (RecursionError from `json.loads`) gives a 500 *and* makes uvicorn close the
connection, so the client's next request on it fails as well.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from channels.json_body import MAX_JSON_DEPTH
from tests.app.handoff_kit import gateway_with_fake_rasa
from tests.live_server import LiveServer

REST = "/webhooks/rest/webhook"
WEBCHAT = "/api/webchat/messages"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with gateway_with_fake_rasa(tmp_path_factory.mktemp("deep")) as server:
        yield server


def nested_metadata(depth: int) -> dict[str, Any]:
    """``{"a": {"a": … {}}}`` with `depth` objects."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def client_port(response: httpx.Response) -> int:
    """The client side's port of the TCP connection the response came on."""
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


def assert_invalid_json(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {
        "error": {"code": "invalid_json", "message": "消息格式不对，请再试一次。"}
    }


@pytest.mark.parametrize(
    ("path", "sender"),
    [pytest.param(REST, "u1", id="rest"), pytest.param(WEBCHAT, "web-1", id="webchat")],
)
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 5000, id="5000-brackets"),
        # 3,000 levels of objects: as deep as fits in the 16 KiB body cap.
        pytest.param(b'{"a":' * 3000, id="3000-objects"),
        pytest.param(b"[" * 5000 + b"]" * 5000, id="5000-balanced"),
    ],
)
def test_deep_nesting_is_a_400_and_the_connection_lives_on(
    gateway: LiveServer, path: str, sender: str, body: bytes
) -> None:
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        rejected = client.post(path, content=body, headers={"content-type": "application/json"})
        first_port = client_port(rejected)
        answered = client.post(path, json={"sender": sender, "message": "你好"})
        second_port = client_port(answered)

    assert_invalid_json(rejected)
    assert answered.status_code == 200, answered.text
    assert rejected.headers.get("connection") != "close"
    assert second_port == first_port  # the same keep-alive connection


def test_nesting_the_parser_can_read_is_still_limited(gateway: LiveServer) -> None:
    too_deep = {"sender": "u2", "message": "你好", "metadata": nested_metadata(MAX_JSON_DEPTH)}
    at_limit = {"sender": "u2", "message": "你好", "metadata": nested_metadata(MAX_JSON_DEPTH - 1)}
    with httpx.Client(base_url=gateway.url, timeout=10) as client:
        # json.dumps(…) by hand: the body is one level deeper than its metadata.
        assert_invalid_json(
            client.post(
                REST, content=json.dumps(too_deep), headers={"content-type": "application/json"}
            )
        )
        accepted = client.post(REST, json=at_limit)

    assert accepted.status_code == 200, accepted.text
