"""Handoff with the three real processes (action server, Rasa with the trained model,
gateway): a user starts the pension authentication, asks for a person, an agent takes
over and hands back, and Rasa continues the task with the slots it kept.

Needs the trained model: `make test` trains it and passes its path in RASA_MODEL.
The gateway's database is a SQLite file in the test's temporary var/ folder.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from scripts.stack import Stack

from .handoff_kit import PASSWORD, add_agent, sqlite_url, wait_for
from .real_stack import running_stack, say, texts, tracker


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    var_dir = tmp_path_factory.mktemp("var")
    with running_stack(var_dir) as running:
        yield running, sqlite_url(var_dir / "gateway.db")


def joined(replies: list[dict[str, Any]]) -> str:
    return "".join(texts(replies))


def slots(stack: Stack, sender: str) -> dict[str, Any]:
    result: dict[str, Any] = tracker(stack, sender)["slots"]
    return result


def test_agent_takes_over_and_hands_back_with_the_task_state_kept(
    stack: tuple[Stack, str],
) -> None:
    running, database_url = stack
    base = running.config.gateway_url
    sender = f"e2e-handoff-{uuid.uuid4().hex[:8]}"
    add_agent(database_url, "e2e-agent")

    assert "姓名" in joined(say(running, sender, "我想办养老金认证"))
    assert "身份证" in joined(say(running, sender, "我叫王桂兰"))
    assert slots(running, sender)["person_name"] == "王桂兰"

    handoff = say(running, sender, "转人工")
    assert [r["custom"]["handoff"] for r in handoff if "handoff" in r.get("custom", {})] == [
        {"reason": "user_request", "priority": "normal"}
    ]
    assert "您排在第1位" in joined(handoff)

    with httpx.Client(base_url=base, timeout=30) as http:
        login = http.post("/api/agent/login", json={"username": "e2e-agent", "password": PASSWORD})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['token']}"}
        items = http.get("/api/agent/queue", headers=auth).json()["items"]
        (item,) = [i for i in items if i["reason"] == "user_request"]
        conversation = f"/api/agent/conversations/{item['conversation_id']}"

        claimed = http.post(f"{conversation}/claim", headers=auth)
        assert claimed.status_code == 200, claimed.text
        said = [m["text"] for m in claimed.json()["messages"] if m["role"] == "user"]
        assert said == ["我想办养老金认证", "我叫王桂兰", "转人工"], "nobody repeats themselves"

        # The user's words now go to the agent, not to Rasa.
        assert say(running, sender, "我的认证一直办不下来") == []
        reply = http.post(f"{conversation}/messages", headers=auth, json={"text": "我来帮您。"})
        assert reply.status_code == 200, reply.text

        def agent_reply_seen() -> bool:
            page = http.get(f"/api/conversations/{sender}/messages").json()
            return any(m["role"] == "agent" and m["text"] == "我来帮您。" for m in page["messages"])

        wait_for(agent_reply_seen, timeout_s=10, what="the agent's reply for the user")
        handed = http.post(f"{conversation}/handback", headers=auth)
        assert handed.status_code == 200, handed.text

    # Back with Rasa: the name slot survived the handoff, so it asks for the ID next.
    resumed = joined(say(running, sender, "认证"))
    assert "身份证" in resumed, resumed
    assert "姓名" not in resumed, resumed
    assert slots(running, sender)["person_name"] == "王桂兰"
