"""axe-core finds nothing, the page reflows at 200% zoom, and a screenshot to look at."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, ViewportSize, expect

from .fake_api import FakeBackend
from .helpers import assert_no_axe_violations, claim_first, login

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "test-results" / "browser"

# 1280 x 900 at 200% zoom lays out like a 640 x 450 window (CSS pixels halve).
ZOOMED: ViewportSize = {"width": 640, "height": 450}


def has_horizontal_scroll(page: Page) -> bool:
    result: bool = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )
    return result


def show_busy_conversation(page: Page, backend: FakeBackend) -> None:
    """The conversation view with every part filled: notice, note, error, open editor."""
    login(page)
    claim_first(page)
    page.get_by_role("button", name="显示完整号码").click()
    expect(page.locator("#reveal-notice")).not_to_be_empty()
    page.get_by_label("新的内部备注").fill("请核对户籍地址。")
    page.get_by_role("button", name="添加备注").click()
    expect(page.locator("#notes-list > li")).to_have_count(1)
    page.get_by_role("button", name="编辑常用回复").click()
    backend.say("c-1001", "听不清，你说慢一点", confidence=0.3)
    expect(page.locator("#transcript")).to_contain_text("听不清")
    page.get_by_role("button", name="发送", exact=True).click()  # empty: shows an error
    expect(page.get_by_role("alert")).not_to_be_empty()


def test_login_view_has_no_axe_violations(console: Page) -> None:
    assert console.locator("html").get_attribute("lang") == "zh-CN"
    assert_no_axe_violations(console)
    console.get_by_role("button", name="登录").click()  # with its error showing too
    expect(console.get_by_role("alert")).not_to_be_empty()
    assert_no_axe_violations(console)


def test_queue_view_has_no_axe_violations(console: Page) -> None:
    login(console)
    assert_no_axe_violations(console)


def test_conversation_view_has_no_axe_violations(console: Page, backend: FakeBackend) -> None:
    show_busy_conversation(console, backend)
    assert_no_axe_violations(console)


def test_disconnected_state_has_no_axe_violations(console: Page, backend: FakeBackend) -> None:
    login(console)
    backend.refuse_sockets = True
    backend.drop_sockets()
    expect(console.get_by_role("button", name="立即重新连接")).to_be_visible()
    assert_no_axe_violations(console)


def test_page_reflows_at_200_percent_zoom(console: Page, backend: FakeBackend) -> None:
    console.set_viewport_size(ZOOMED)
    assert not has_horizontal_scroll(console)
    show_busy_conversation(console, backend)
    assert not has_horizontal_scroll(console)
    # One column: the queue sits above the conversation instead of beside it.
    queue = console.locator("#queue-panel").bounding_box()
    main = console.locator("main").bounding_box()
    assert queue is not None and main is not None
    assert main["y"] >= queue["y"] + queue["height"]
    assert_no_axe_violations(console)


def test_screenshot_of_the_conversation_view(console: Page, backend: FakeBackend) -> None:
    """Saved for a person to look at (var/test-results/browser/); checks only that it exists."""
    show_busy_conversation(console, backend)
    console.get_by_role("button", name="取消编辑").click()
    console.get_by_label("回复居民").fill("您好，我是社区工作人员，我来帮您。")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "console-conversation.png"
    console.screenshot(path=str(path), full_page=True)
    console.set_viewport_size(ZOOMED)
    zoomed = SCREENSHOTS / "console-conversation-200pct.png"
    console.screenshot(path=str(zoomed), full_page=True)
    assert path.stat().st_size > 10_000 and zoomed.stat().st_size > 10_000
