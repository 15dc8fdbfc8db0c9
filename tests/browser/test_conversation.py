"""The conversation view: transcript, masking and reveal, replies, canned replies, notes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .fake_api import ID_NUMBER, ID_NUMBER_MASKED, PHONE, FakeBackend
from .helpers import claim_first, login


def open_first(page: Page) -> None:
    login(page)
    claim_first(page)


def test_transcript_shows_every_turn_masked_and_marked(console: Page) -> None:
    open_first(console)
    transcript = console.locator("#transcript > li")
    expect(transcript).to_have_count(7)
    expect(transcript.nth(0)).to_contain_text("居民")
    expect(transcript.nth(1)).to_contain_text("智能助手")
    expect(transcript.nth(6)).to_contain_text("系统")
    # Personal numbers arrive masked and stay masked until someone asks.
    expect(transcript.nth(2)).to_contain_text(ID_NUMBER_MASKED)
    expect(transcript.nth(4)).to_contain_text("138****5678")
    expect(console.locator("#transcript")).not_to_contain_text(ID_NUMBER)
    # An uncertain recognition says so in words (the icon is only decoration).
    expect(transcript.nth(2)).to_contain_text("（识别不确定）")
    expect(transcript.nth(2).locator(".icon")).to_have_attribute("aria-hidden", "true")
    expect(transcript.nth(0)).not_to_contain_text("识别不确定")
    badges = console.locator("#profile-badges > li")
    expect(badges).to_have_text(["自助机", "长辈模式"])


def test_reveal_shows_the_full_number_and_says_it_was_logged(
    console: Page, backend: FakeBackend
) -> None:
    open_first(console)
    console.get_by_role("button", name="显示完整号码").click()
    expect(console.locator("#transcript")).to_contain_text(ID_NUMBER)
    expect(console.locator("#transcript")).to_contain_text(PHONE)
    expect(console.locator("#reveal-notice")).to_contain_text("已记入审计日志")
    assert backend.reveals == ["c-1001"]


def test_reply_is_posted_and_shown_once(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    box = console.get_by_label("回复居民")
    box.fill("您好，我来帮您核对。")
    console.get_by_role("button", name="发送", exact=True).click()
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    # Shown once, although it comes back both in the answer and over the socket.
    agent_turns = console.locator("#transcript > li.message-agent")
    expect(agent_turns).to_have_count(1)
    expect(agent_turns).to_contain_text("工作人员")
    expect(agent_turns).to_contain_text("您好，我来帮您核对。")
    console.wait_for_timeout(300)  # time for the socket's echo to arrive, if it were shown
    expect(agent_turns).to_have_count(1)
    assert backend.sent == [("c-1001", "您好，我来帮您核对。")]
    expect(console.locator("#announcer")).to_contain_text("回复已发送")


def test_ctrl_enter_sends_and_enter_makes_a_new_line(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    box = console.get_by_label("回复居民")
    box.focus()
    console.keyboard.type("第一行")
    console.keyboard.press("Enter")
    console.keyboard.type("第二行")
    assert backend.sent == []
    console.keyboard.press("Control+Enter")
    expect(box).to_have_value("")
    assert backend.sent == [("c-1001", "第一行\n第二行")]


def test_empty_reply_is_refused_with_a_message(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    console.get_by_role("button", name="发送", exact=True).click()
    expect(console.get_by_role("alert")).to_have_text("回复是空的，请先写内容。")
    assert backend.sent == []


def test_canned_reply_fills_the_box(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    console.get_by_role("button", name="请稍等，我查一下。").click()
    box = console.get_by_label("回复居民")
    expect(box).to_have_value("请稍等，我查一下。")
    expect(box).to_be_focused()
    assert backend.sent == []  # filling is not sending


def test_canned_replies_can_be_edited(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    edit = console.get_by_role("button", name="编辑常用回复")
    edit.click()
    expect(edit).to_have_attribute("aria-expanded", "true")
    editor = console.get_by_label("常用回复（每行一条）")
    expect(editor).to_be_focused()
    editor.fill("您好。\n\n  请稍等。  \n")
    console.get_by_role("button", name="保存常用回复").click()
    expect(console.locator("#canned-list button")).to_have_text(["您好。", "请稍等。"])
    expect(edit).to_have_attribute("aria-expanded", "false")
    assert backend.canned_puts == [["您好。", "请稍等。"]]


def test_note_is_saved_and_shown_as_internal(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    console.get_by_label("新的内部备注").fill("居民说身份证在家里，明天再来。")
    console.get_by_role("button", name="添加备注").click()
    notes = console.locator("#notes-list > li")
    expect(notes).to_have_count(1)
    expect(notes).to_contain_text("内部备注 · zhangwei")
    expect(notes).to_contain_text("居民说身份证在家里，明天再来。")
    assert backend.notes_added == [("c-1001", "居民说身份证在家里，明天再来。")]
    assert backend.sent == []  # never sent to the resident


def test_hand_back_returns_the_conversation_to_the_bot(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    console.get_by_role("button", name="交回智能助手").click()
    expect(console.locator("#conversation-view")).to_be_hidden()
    expect(console.get_by_role("heading", name="没有打开的对话")).to_be_focused()
    expect(console.locator("#mine-list > li")).to_have_count(0)
    expect(console.locator("#announcer")).to_contain_text("已交回智能助手")
    assert backend.handbacks == ["c-1001"]


def test_close_ends_the_conversation(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    console.get_by_role("button", name="结束对话").click()
    expect(console.locator("#conversation-view")).to_be_hidden()
    expect(console.locator("#announcer")).to_contain_text("对话已结束")
    assert backend.closes == ["c-1001"]


def test_new_message_reaches_the_transcript_and_the_live_region(
    console: Page, backend: FakeBackend
) -> None:
    open_first(console)
    backend.say("c-1001", "我的号码是幺三八", confidence=0.35)
    last = console.locator("#transcript > li").last
    expect(last).to_contain_text("我的号码是幺三八")
    expect(last).to_contain_text("（识别不确定）")
    announcer = console.locator("#announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_contain_text("居民说：我的号码是幺三八")


def test_api_error_message_is_shown_in_the_alert(console: Page, backend: FakeBackend) -> None:
    open_first(console)
    del backend.conversations["c-1001"]  # gone on the server (e.g. closed elsewhere)
    console.get_by_role("button", name="显示完整号码").click()
    expect(console.get_by_role("alert")).to_have_text("找不到这个对话。")
