"""The agents' 差评件 page against the REAL gateway (only Rasa is a fake): a 差评 becomes a
case, an agent takes it, calls back and fixes it with the keyboard only, the resident is
told; axe-core with AAA contrast on the list and on the case page; another agent gets 403
for the transcript."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.app.handoff_kit import PASSWORD, gateway_with_fake_rasa, wait_for

from .conftest import LiveServer
from .helpers import assert_no_axe_violations, login, tab_to

WEBHOOK = "/webhooks/rest/webhook"
AGENT = "zhaomin"
OTHER = "qianli"
RESIDENT = "browser-resident-1"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveServer]:
    with gateway_with_fake_rasa(tmp_path, agents=[AGENT, OTHER]) as server:
        yield server


def resident_says(server: LiveServer, text: str) -> list[dict[str, Any]]:
    response = httpx.post(f"{server.url}{WEBHOOK}", json={"sender": RESIDENT, "message": text})
    response.raise_for_status()
    replies: list[dict[str, Any]] = response.json()
    return replies


def inbox(server: LiveServer) -> list[dict[str, Any]]:
    response = httpx.get(f"{server.url}/api/conversations/{RESIDENT}/messages")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


def test_take_call_back_and_fix_a_case_by_keyboard(gateway: LiveServer, page: Page) -> None:
    resident_says(gateway, "查认证")  # the fake bot ends a task; the rating is asked
    resident_says(gateway, "不太满意，等太久了")

    page.goto(f"{gateway.url}/agent")
    login(page, AGENT, PASSWORD)
    page.goto(f"{gateway.url}/agent/cases")
    expect(page.locator("#open-list > li")).to_have_count(1)
    expect(page.locator("#open-list")).to_contain_text("期限内")  # urgency in words
    assert_no_axe_violations(page)

    tab_to(page, "由我负责")
    page.keyboard.press("Enter")
    expect(page.locator("#case-heading")).to_be_focused()
    expect(page.locator("#case-reason")).to_have_text("等太久了")
    expect(page.locator("#transcript")).to_contain_text("不太满意，等太久了")
    expect(page.locator("#mine-list > li")).to_have_count(1)
    assert_no_axe_violations(page)

    tab_to(page, "已回电")
    page.keyboard.press("Enter")
    expect(page.locator("#announcer")).to_have_text("已记下：已回电，待整改。")
    tab_to(page, "#resolve-text")
    page.keyboard.type("已经加派人手，以后不用等这么久。")
    tab_to(page, "已整改")
    page.keyboard.press("Enter")
    expect(page.locator("#announcer")).to_have_text("已记下：已整改。")
    expect(page.locator("#case-facts")).to_contain_text("已整改")
    assert_no_axe_violations(page)

    told = wait_for(
        lambda: next((m for m in inbox(gateway) if "您上次的意见" in (m.get("text") or "")), None),
        what="the result in the resident's inbox",
    )
    assert "已经加派人手" in told["text"]

    # Another agent signed in cannot read this case's transcript.
    login_response = httpx.post(
        f"{gateway.url}/api/agent/login", json={"username": OTHER, "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {login_response.json()['token']}"}
    case_id = httpx.get(f"{gateway.url}/api/agent/cases", headers=headers).json()
    assert case_id["mine"] == [] and case_id["unassigned"] == []
    assert httpx.get(f"{gateway.url}/api/agent/cases/1", headers=headers).status_code == 403


def test_without_a_login_the_page_says_where_to_log_in(gateway: LiveServer, page: Page) -> None:
    page.goto(f"{gateway.url}/agent/cases")
    expect(page.locator("#login-needed")).to_be_visible()
    expect(page.get_by_role("link", name="对话控制台", exact=True)).to_be_visible()
    assert_no_axe_violations(page)
