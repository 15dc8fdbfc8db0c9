"""POST /webhooks/rest/webhook: pass-through of good turns, precise errors for bad input."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .fake_rasa import BUTTONS, HANDOFF, FakeRasaState

URL = "/webhooks/rest/webhook"


def assert_error(response: Any, status: int, code: str) -> None:
    """Every error has exactly the common shape, with a Chinese sentence for the user."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"].endswith("。")


def test_normal_turn_passes_replies_and_buttons_through(
    client: TestClient, fake_rasa: FakeRasaState
) -> None:
    response = client.post(URL, json={"sender": "kiosk-1", "message": "我想订午饭"})

    assert response.status_code == 200
    assert response.json() == [
        {"recipient_id": "kiosk-1", "text": "您说的是：我想订午饭"},
        {"recipient_id": "kiosk-1", "text": "请选择服务：", "buttons": BUTTONS},
    ]
    # Chinese is sent as UTF-8, not \u escapes, so simple clients can read it.
    assert "您说的是" in response.content.decode("utf-8")
    assert fake_rasa.webhook_calls == [
        {"sender": "kiosk-1", "message": "我想订午饭", "metadata": {}}
    ]


def test_custom_handoff_payload_is_passed_through_unchanged(client: TestClient) -> None:
    response = client.post(URL, json={"sender": "u1", "message": "转人工"})

    assert response.status_code == 200
    replies = response.json()
    assert replies[1] == {"recipient_id": "u1", "custom": HANDOFF}
    # Absent keys stay absent (Rasa's shape), rather than appearing as null.
    assert "text" not in replies[1]
    assert "buttons" not in replies[0]


def test_metadata_reaches_rasa_and_message_is_trimmed(
    client: TestClient, fake_rasa: FakeRasaState
) -> None:
    metadata = {"kiosk": {"id": "K-07", "large_font": True}}
    response = client.post(
        URL, json={"sender": "tg:12345", "message": "  你好\n", "metadata": metadata}
    )

    assert response.status_code == 200
    assert fake_rasa.webhook_calls == [
        {"sender": "tg:12345", "message": "你好", "metadata": metadata}
    ]


def test_utf8_byte_order_mark_is_tolerated(client: TestClient) -> None:
    raw = "\ufeff" + json.dumps({"sender": "u1", "message": "你好"})
    response = client.post(URL, content=raw.encode("utf-8"))
    assert response.status_code == 200


def test_openapi_documents_the_request_body(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][URL]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) == {"sender", "message"}
    assert "metadata" in schema["properties"]
    assert {"400", "413", "422", "503"} <= set(operation["responses"])


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        pytest.param(
            b'{"sender": "u1", "message": "\xff\xfe"}', 400, "invalid_encoding", id="bad-utf8"
        ),
        pytest.param(
            b'{"sender": "u1", "message": "\\ud800"}', 400, "invalid_encoding", id="lone-surrogate"
        ),
        pytest.param(b'{"sender": "u1", "message": "hi"', 400, "invalid_json", id="truncated"),
        pytest.param(b"", 400, "invalid_json", id="empty-body"),
        pytest.param(b"sender=u1&message=hi", 400, "invalid_json", id="form-encoded"),
        pytest.param(
            b'{"sender": "u1", "message": "hi", "metadata": {"x": NaN}}',
            400,
            "invalid_json",
            id="nan",
        ),
        pytest.param(b'["u1", "hi"]', 422, "invalid_request", id="not-an-object"),
        pytest.param(b'{"message": "hi"}', 422, "invalid_sender", id="sender-missing"),
        pytest.param(b'{"sender": 42, "message": "hi"}', 422, "invalid_sender", id="sender-number"),
        pytest.param(b'{"sender": "", "message": "hi"}', 422, "invalid_sender", id="sender-empty"),
        pytest.param(
            b'{"sender": "a b", "message": "hi"}', 422, "invalid_sender", id="sender-space"
        ),
        pytest.param(
            '{"sender": "老人", "message": "hi"}'.encode(),
            422,
            "invalid_sender",
            id="sender-chinese",
        ),
        pytest.param(
            b'{"sender": "u1\\n", "message": "hi"}', 422, "invalid_sender", id="sender-newline"
        ),
        pytest.param(b'{"sender": "u1"}', 422, "invalid_message", id="message-missing"),
        pytest.param(
            b'{"sender": "u1", "message": null}', 422, "invalid_message", id="message-null"
        ),
        pytest.param(
            b'{"sender": "u1", "message": ["hi"]}', 422, "invalid_message", id="message-list"
        ),
        pytest.param(
            b'{"sender": "u1", "message": "hi", "metadata": "x"}',
            422,
            "invalid_metadata",
            id="metadata-string",
        ),
        pytest.param(b'{"sender": "u1", "message": ""}', 400, "empty_message", id="message-empty"),
        pytest.param(
            b'{"sender": "u1", "message": " \\t\\n "}', 400, "empty_message", id="message-blank"
        ),
        pytest.param(
            '{"sender": "u1", "message": "\u3000\u200b"}'.encode(),
            400,
            "empty_message",
            id="message-ideographic-space",
        ),
    ],
)
def test_bad_input_gets_its_own_status_and_code(
    client: TestClient, fake_rasa: FakeRasaState, raw: bytes, status: int, code: str
) -> None:
    response = client.post(URL, content=raw, headers={"content-type": "application/json"})

    assert_error(response, status, code)
    assert fake_rasa.webhook_calls == [], "bad input must not reach Rasa"


def test_sender_pattern_accepts_every_allowed_character(client: TestClient) -> None:
    sender = "Aa0_.:@-" + "x" * 120  # 128 characters, the maximum
    response = client.post(URL, json={"sender": sender, "message": "你好"})
    assert response.status_code == 200


def test_sender_longer_than_128_is_rejected(client: TestClient) -> None:
    response = client.post(URL, json={"sender": "x" * 129, "message": "你好"})
    assert_error(response, 422, "invalid_sender")


def test_message_length_limit_counts_characters_not_bytes(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(max_message_chars=10)

    at_limit = client.post(URL, json={"sender": "u1", "message": "十个汉字十个汉字十个"})
    over_limit = client.post(URL, json={"sender": "u1", "message": "十一个汉字十一个汉字啊"})

    assert at_limit.status_code == 200  # 10 characters but 30 bytes
    assert_error(over_limit, 400, "message_too_long")


def test_default_message_limit_is_2000_characters(client: TestClient) -> None:
    response = client.post(URL, json={"sender": "u1", "message": "好" * 2001})
    assert_error(response, 400, "message_too_long")
    assert client.post(URL, json={"sender": "u1", "message": "好" * 2000}).status_code == 200


def test_body_over_byte_limit_is_413(client: TestClient, fake_rasa: FakeRasaState) -> None:
    # The message itself is short: only the padding makes the body too big, so without
    # the byte cap this request would succeed.
    body = {"sender": "u1", "message": "你好", "metadata": {"pad": "x" * 17_000}}
    response = client.post(URL, json=body)

    assert_error(response, 413, "body_too_large")
    assert fake_rasa.webhook_calls == []


def test_body_limit_also_holds_without_content_length(
    client: TestClient, fake_rasa: FakeRasaState
) -> None:
    raw = json.dumps({"sender": "u1", "message": "你好", "metadata": {"pad": "x" * 17_000}})

    def chunks() -> Iterator[bytes]:
        data = raw.encode()
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    response = client.post(URL, content=chunks(), headers={"content-type": "application/json"})

    assert "content-length" not in response.request.headers
    assert_error(response, 413, "body_too_large")
    assert fake_rasa.webhook_calls == []


def test_body_just_under_limit_is_accepted(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=200)
    body = json.dumps({"sender": "u1", "message": "你好", "metadata": {"p": ""}})
    # Grow the metadata string value (body ends with `"}}`) to exactly 200 bytes.
    padded = body[:-3] + "x" * (200 - len(body.encode())) + body[-3:]
    assert len(padded.encode()) == 200

    assert client.post(URL, content=padded.encode()).status_code == 200
    too_big = padded[:-3] + "x" + padded[-3:]
    assert_error(client.post(URL, content=too_big.encode()), 413, "body_too_large")


def test_unknown_route_and_wrong_method_use_the_common_shape(client: TestClient) -> None:
    assert_error(client.get("/no/such/page"), 404, "not_found")
    assert_error(client.get(URL), 405, "method_not_allowed")
