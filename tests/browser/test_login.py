"""Logging in, staying logged in, and being sent back to the form when the session ends."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .fake_api import FakeBackend
from .helpers import login


def test_wrong_password_shows_the_error(console: Page) -> None:
    console.get_by_label("用户名").fill("zhangwei")
    console.get_by_label("密码").fill("wrong")
    console.get_by_role("button", name="登录").click()
    expect(console.get_by_role("alert")).to_have_text("用户名或密码不对，请再试一次。")
    expect(console.locator("#login-view")).to_be_visible()
    expect(console.locator("#queue-panel")).to_be_hidden()


def test_empty_form_is_refused_without_a_request(console: Page, backend: FakeBackend) -> None:
    console.get_by_role("button", name="登录").click()
    expect(console.get_by_role("alert")).to_have_text("请填写用户名和密码。")
    expect(console.get_by_label("用户名")).to_be_focused()


def test_right_password_shows_the_queue(console: Page) -> None:
    login(console)
    expect(console.locator("#login-view")).to_be_hidden()
    expect(console.get_by_role("heading", name="等待接手")).to_be_focused()
    items = console.locator("#waiting-list > li")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("优先级：高")
    expect(items.nth(0)).to_contain_text("原因：身份核验多次失败")
    expect(items.nth(0)).to_contain_text("渠道：自助机")
    expect(items.nth(0)).to_contain_text("已等 2 分钟")
    expect(items.nth(1)).to_contain_text("优先级：紧急")
    expect(items.nth(1)).to_contain_text("读屏")
    expect(console.get_by_role("alert")).to_have_text("")


def test_token_is_kept_for_the_tab_and_sent_as_bearer(console: Page) -> None:
    login(console)
    token = console.evaluate("() => sessionStorage.getItem('agentConsole.token')")
    assert token
    with console.expect_request("**/api/agent/queue") as request_info:
        console.reload()
    assert request_info.value.headers["authorization"] == f"Bearer {token}"
    expect(console.locator("#waiting-list > li")).to_have_count(2)
    expect(console.locator("#login-view")).to_be_hidden()


def test_expired_session_returns_to_the_login_form(console: Page, backend: FakeBackend) -> None:
    login(console)
    backend.revoke_tokens()
    console.get_by_role("button", name="接手").first.click()
    expect(console.locator("#login-view")).to_be_visible()
    expect(console.get_by_role("alert")).to_have_text("登录已过期，请重新登录。")
    expect(console.get_by_label("用户名")).to_be_focused()
    assert console.evaluate("() => sessionStorage.getItem('agentConsole.token')") is None


def test_logout_forgets_the_token(console: Page) -> None:
    login(console)
    console.get_by_role("button", name="退出登录").click()
    expect(console.locator("#login-view")).to_be_visible()
    expect(console.locator("#connection-status")).to_have_text("尚未登录")
    assert console.evaluate("() => sessionStorage.getItem('agentConsole.token')") is None
