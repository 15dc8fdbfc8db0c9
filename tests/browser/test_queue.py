"""The live queue: pushed updates, ticking waiting times, claiming, races, reconnecting."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from .fake_api import FakeBackend
from .helpers import claim_first, login


def test_queue_updates_live_when_the_server_pushes(console: Page, backend: FakeBackend) -> None:
    login(console)
    expect(console.locator("#waiting-list > li")).to_have_count(2)
    backend.add_conversation(
        "c-1003", "telegram", "complaint", "high", {"telegram": True, "elder_mode": True}
    )
    backend.push_queue()
    items = console.locator("#waiting-list > li")
    expect(items).to_have_count(3)
    expect(items.nth(2)).to_contain_text("原因：投诉")
    expect(items.nth(2)).to_contain_text("渠道：Telegram")
    expect(items.nth(2)).to_contain_text("长辈模式")
    expect(console.locator("#waiting-count")).to_have_text("（3）")
    # Screen-reader users hear about the new request without looking for it.
    expect(console.locator("#announcer")).to_contain_text("新的转人工请求：高，投诉，Telegram")


def test_waiting_time_keeps_counting_between_updates(console: Page, backend: FakeBackend) -> None:
    backend.get("c-1002").since = time.monotonic() - 58
    login(console)
    second = console.locator("#waiting-list > li").nth(1)
    expect(second).to_contain_text("已等 58 秒")
    expect(second).to_contain_text("已等 1 分钟", timeout=5000)


def test_claim_opens_the_conversation(console: Page, backend: FakeBackend) -> None:
    login(console)
    claim_first(console)
    expect(console.get_by_role("heading", name="与居民的对话（自助机）")).to_be_focused()
    expect(console.locator("#conversation-meta")).to_contain_text("c-1001")
    # The claimed conversation moves from the waiting list to "mine".
    expect(console.locator("#waiting-list > li")).to_have_count(1)
    mine = console.locator("#mine-list button")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("aria-current", "true")
    assert backend.get("c-1001").agent == "zhangwei"


def test_claim_race_says_someone_else_took_it(console: Page, backend: FakeBackend) -> None:
    login(console)
    backend.claim_as("c-1001")  # the other agent was faster; the page does not know yet
    console.get_by_role("button", name="接手").first.click()
    expect(console.get_by_role("alert")).to_contain_text("已被其他工作人员接手")
    # The queue is fetched again, so the stale entry disappears.
    expect(console.locator("#waiting-list > li")).to_have_count(1)
    expect(console.locator("#conversation-view")).to_be_hidden()


def test_claimed_event_removes_the_entry(console: Page, backend: FakeBackend) -> None:
    login(console)
    backend.claim_as("c-1002")
    backend.push({"type": "claimed", "conversation_id": "c-1002", "agent": "lili"})
    expect(console.locator("#waiting-list > li")).to_have_count(1)
    expect(console.locator("#announcer")).to_contain_text("已由 lili 接手")


def test_dropped_connection_reconnects_and_says_so(console: Page, backend: FakeBackend) -> None:
    login(console)
    status = console.locator("#connection-status")
    backend.refuse_sockets = True
    backend.drop_sockets()
    expect(status).to_contain_text("实时连接断开了")
    expect(status).to_contain_text("秒后第 1 次重新连接")
    expect(console.get_by_role("button", name="立即重新连接")).to_be_visible()
    expect(status).to_contain_text("秒后第 2 次重新连接", timeout=5000)  # backing off
    # Something happens while the page is not listening; it must catch up on reconnect.
    backend.add_conversation("c-1003", "web", "user_request", "normal", {})
    backend.refuse_sockets = False
    expect(status).to_have_text("已连接，队列和消息实时更新。", timeout=10000)
    expect(console.locator("#waiting-list > li")).to_have_count(3)
    expect(console.get_by_role("button", name="立即重新连接")).to_be_hidden()
    # And the new socket is live: a pushed event arrives.
    backend.say("c-1001", "还在吗")
    claim_first(console)
    expect(console.locator("#transcript")).to_contain_text("还在吗")


def test_rejected_socket_token_returns_to_login(console: Page, backend: FakeBackend) -> None:
    login(console)
    backend.revoke_tokens()
    backend.drop_sockets()  # the reconnect is refused with 4401
    expect(console.locator("#login-view")).to_be_visible(timeout=5000)
    expect(console.get_by_role("alert")).to_have_text("登录已过期，请重新登录。")


def test_new_message_in_another_claimed_conversation_is_flagged(
    console: Page, backend: FakeBackend
) -> None:
    login(console)
    claim_first(console)  # c-1001
    claim_first(console)  # c-1002, now the open one
    backend.say("c-1001", "喂？")
    expect(console.locator("#mine-list")).to_contain_text("1 条新消息")
    expect(console.locator("#announcer")).to_contain_text("另一个对话有新消息（自助机）")
    console.get_by_role("button", name="打开对话：自助机").click()
    expect(console.locator("#transcript")).to_contain_text("喂？")
    expect(console.locator("#mine-list")).not_to_contain_text("条新消息")
