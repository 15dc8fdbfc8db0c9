"""The console against the REAL gateway: real database, agent API and live feed; only
Rasa is a fake server (tests/app/fake_rasa.py). Login, claim, reply, hand back, axe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.app.handoff_kit import PASSWORD, gateway_with_fake_rasa, wait_for

from .conftest import LiveServer
from .helpers import assert_no_axe_violations, claim_first, login

WEBHOOK = "/webhooks/rest/webhook"
AGENT = "liming"
USER = "browser-user-1"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveServer]:
    with gateway_with_fake_rasa(tmp_path, agents=[AGENT]) as server:
        yield server


def user_says(server: LiveServer, text: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{server.url}{WEBHOOK}", json={"sender": USER, "message": text})
    response.raise_for_status()
    replies: list[dict[str, Any]] = response.json()
    return replies


def user_inbox(server: LiveServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/api/conversations/{USER}/messages")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def test_login_claim_reply_and_hand_back(gateway: LiveServer, page: Page) -> None:
    assert any("custom" in r for r in user_says(gateway, "转人工"))

    page.goto(f"{gateway.url}/agent")
    login(page, AGENT, PASSWORD)
    expect(page.locator("#waiting-list > li")).to_have_count(1)
    claim_first(page)
    expect(page.locator("#transcript")).to_contain_text("转人工")
    assert_no_axe_violations(page)

    page.get_by_label("回复居民").fill("您好，我是社区工作人员，请讲。")
    page.keyboard.press("Control+Enter")
    reply = wait_for(
        lambda: next((m for m in user_inbox(gateway) if m["role"] == "agent"), None),
        what="the agent's reply in the user's inbox",
    )
    assert reply["text"] == "您好，我是社区工作人员，请讲。"

    # While the agent has the conversation, the user's words go to the agent, not Rasa.
    assert user_says(gateway, "我想问一下高龄津贴") == []
    expect(page.locator("#transcript")).to_contain_text("我想问一下高龄津贴")

    page.get_by_role("button", name="交回智能助手").click()
    expect(page.locator("#mine-list > li")).to_have_count(0)
    after = user_says(gateway, "你好")
    assert after and all(r.get("recipient_id") == USER for r in after), after
