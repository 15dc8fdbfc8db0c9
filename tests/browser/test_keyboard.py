"""Everything an agent does, done with the keyboard alone (Tab, Enter, Space, typing)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .fake_api import ID_NUMBER, PASSWORD, USERNAME, FakeBackend
from .helpers import active, focus_outline, tab_to


def test_whole_take_over_by_keyboard_only(console: Page, backend: FakeBackend) -> None:
    keys = console.keyboard

    # Log in: Tab to the fields, type, Enter submits.
    tab_to(console, "#login-username")
    keys.type(USERNAME)
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    expect(console.get_by_role("heading", name="等待接手")).to_be_focused()
    expect(console.locator("#connection-status")).to_contain_text("已连接")

    # Claim the first waiting resident.
    tab_to(console, "接手")
    keys.press("Enter")
    expect(console.locator("#conversation-heading")).to_be_focused()
    expect(console.locator("#transcript")).to_contain_text("（识别不确定）")

    # Reveal the full numbers (Space activates a button too).
    tab_to(console, "显示完整号码")
    keys.press("Space")
    expect(console.locator("#transcript")).to_contain_text(ID_NUMBER)

    # A canned reply fills the box and puts focus there; Ctrl+Enter sends it.
    tab_to(console, "请稍等，我查一下。")
    keys.press("Enter")
    expect(console.get_by_label("回复居民")).to_be_focused()
    keys.type("马上好。")
    keys.press("Control+Enter")
    expect(console.get_by_label("回复居民")).to_have_value("")
    assert backend.sent == [("c-1001", "请稍等，我查一下。马上好。")]

    # An internal note.
    tab_to(console, "#note-text")
    keys.type("需要上门核验。")
    keys.press("Tab")
    assert active(console)["text"] == "添加备注"
    keys.press("Enter")
    expect(console.locator("#notes-list")).to_contain_text("需要上门核验。")
    assert backend.notes_added == [("c-1001", "需要上门核验。")]

    # Hand the conversation back to the bot.
    tab_to(console, "交回智能助手")
    keys.press("Space")
    expect(console.get_by_role("heading", name="没有打开的对话")).to_be_focused()
    assert backend.handbacks == ["c-1001"]


def test_claim_race_by_keyboard_is_announced(console: Page, backend: FakeBackend) -> None:
    tab_to(console, "#login-username")
    console.keyboard.type(USERNAME)
    console.keyboard.press("Tab")
    console.keyboard.type(PASSWORD)
    console.keyboard.press("Enter")
    expect(console.locator("#waiting-list > li")).to_have_count(2)
    backend.claim_as("c-1001")
    tab_to(console, "接手")
    console.keyboard.press("Enter")
    expect(console.get_by_role("alert")).to_contain_text("已被其他工作人员接手")
    # Focus is not lost to the page body: it goes back to the (refreshed) queue.
    expect(console.get_by_role("heading", name="等待接手")).to_be_focused()


def test_skip_link_appears_and_jumps_to_main(console: Page) -> None:
    console.keyboard.press("Tab")
    skip = console.get_by_role("link", name="跳到主要内容")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    console.keyboard.press("Enter")
    expect(console.locator("main")).to_be_focused()


def test_focus_is_clearly_visible(console: Page) -> None:
    tab_to(console, "#login-username")
    field = focus_outline(console)
    tab_to(console, "登录")
    button = focus_outline(console)
    for outline in (field, button):
        assert outline["style"] == "solid", outline
        assert float(outline["width"].removesuffix("px")) >= 3, outline
        assert outline["color"] == "rgb(0, 0, 0)", outline  # black on white: 21:1


def test_focus_survives_a_live_queue_update(console: Page, backend: FakeBackend) -> None:
    """A push that rebuilds the list must not throw the keyboard user off their button."""
    tab_to(console, "#login-username")
    console.keyboard.type(USERNAME)
    console.keyboard.press("Tab")
    console.keyboard.type(PASSWORD)
    console.keyboard.press("Enter")
    expect(console.locator("#waiting-list > li")).to_have_count(2)
    tab_to(console, "接手")
    tab_to(console, "接手")  # the second one: c-1002
    backend.add_conversation("c-1000", "web", "user_request", "normal", {})
    backend.conversations = {  # the new one goes first, so c-1002 moves down a place
        "c-1000": backend.conversations.pop("c-1000"),
        **backend.conversations,
    }
    backend.push_queue()
    expect(console.locator("#waiting-list > li")).to_have_count(3)
    assert "紧急情况" in active(console)["text"]
    # When the focused entry disappears, focus goes to the list's heading, not the page.
    backend.claim_as("c-1002")
    backend.push_queue()
    expect(console.locator("#waiting-list > li")).to_have_count(2)
    expect(console.get_by_role("heading", name="等待接手")).to_be_focused()
