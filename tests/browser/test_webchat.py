"""The web chat at ``/`` in Chromium against the REAL gateway (database, hub, handoff, agent
API, speech); only Rasa is the fake server (tests/app/fake_rasa.py: it echoes the text,
then offers two quick-reply buttons). Keyboard only, the live region, restore on reload,
sending failures, 长辈模式, reflow at 320 px and 200% zoom, axe-core (AAA contrast on)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.app.handoff_kit import PASSWORD, gateway_with_fake_rasa

from .conftest import LiveServer
from .helpers import (
    active,
    assert_no_axe_violations,
    focus_outline,
    horizontal_overflow,
    log_additions,
    tab_to,
    watch_log,
)

AGENT = "zhaomin"
LOG = '[role="log"]'
SEND = "/api/webchat/messages"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One gateway for the module; every test's browser context is a new user (its own
    localStorage, so its own ``web-…`` sender id)."""
    with gateway_with_fake_rasa(tmp_path_factory.mktemp("webchat"), agents=[AGENT]) as server:
        yield server


@pytest.fixture
def chat(page: Page, gateway: LiveServer) -> Page:
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page.goto(f"{gateway.url}/")
    expect(page.locator(LOG)).to_have_attribute("aria-busy", "false")
    return page


def type_and_send(page: Page, text: str) -> None:
    """What a keyboard user does: focus is in the input; type, Enter."""
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def messages(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(f"{LOG} li.message").all_inner_texts()]


def sender_of(page: Page) -> str:
    sender: str = page.evaluate("() => localStorage.getItem('webchat.sender')")
    return sender


def test_page_structure(chat: Page) -> None:
    assert chat.locator("html").get_attribute("lang") == "zh-CN"
    log = chat.locator(LOG)
    assert log.locator("> ol").count() == 1, "the messages are a list inside the log"
    # role=log is implicitly aria-live=polite; nothing overrides it to "off".
    assert log.get_attribute("aria-live") in (None, "polite")
    expect(log).to_have_accessible_name("对话记录")
    assert chat.get_by_role("status").count() == 2
    expect(chat.get_by_label("输入要说的话")).to_be_visible()
    assert re.fullmatch(r"web-[0-9a-f]{32}", sender_of(chat))


def test_keyboard_only_conversation_with_quick_replies(chat: Page) -> None:
    chat.keyboard.press("Tab")
    assert active(chat)["text"] == "跳到输入框"
    chat.keyboard.press("Enter")
    assert active(chat)["id"] == "message-input"
    watch_log(chat)

    type_and_send(chat, "你好")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3)
    assert messages(chat)[:2] == ["您说：\n你好", "助手说：\n您说的是：你好\n朗读"]
    assert active(chat)["id"] == "message-input", "focus stays in the input after sending"
    expect(chat.get_by_label("输入要说的话")).to_have_value("")
    # Each message reached the live region as an addition (what a screen reader reads).
    added = log_additions(chat)
    assert any(t.startswith("您说：你好") for t in added), added
    assert any(t.startswith("助手说：您说的是：你好") for t in added), added

    # Quick replies are real buttons, reached by Tab and pressed with Enter.
    choices = chat.locator(f"{LOG} .quick-replies:visible button")
    expect(choices).to_have_count(2)
    assert choices.evaluate_all("els => els.map(e => e.tagName)") == ["BUTTON", "BUTTON"]
    tab_to(chat, "助餐服务")
    ring = focus_outline(chat)  # visible focus: a thick solid ring
    assert ring["style"] == "solid" and float(ring["width"].removesuffix("px")) >= 3, ring
    chat.keyboard.press("Enter")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(6)
    assert messages(chat)[3] == "您说：\n助餐服务"
    assert active(chat)["id"] == "message-input"
    # Only the newest question's choices stay; the answered ones are hidden.
    expect(chat.locator(f"{LOG} .quick-replies:visible")).to_have_count(1)


def test_reload_restores_the_log_and_the_settings(chat: Page) -> None:
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "第一句")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3)
    type_and_send(chat, "第二句")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(6)
    tab_to(chat, "长辈模式")
    chat.keyboard.press("Space")
    expect(chat.get_by_role("button", name="长辈模式")).to_have_attribute("aria-pressed", "true")
    before = messages(chat)
    sender = sender_of(chat)

    chat.reload()
    expect(chat.locator(LOG)).to_have_attribute("aria-busy", "false")
    assert messages(chat) == before
    assert sender_of(chat) == sender
    expect(chat.locator("html")).to_have_class("elder")
    expect(chat.get_by_role("button", name="长辈模式")).to_have_attribute("aria-pressed", "true")
    # Polling adds nothing already shown.
    chat.wait_for_timeout(2500)
    assert messages(chat) == before


def test_ending_the_conversation_clears_it_from_this_browser(chat: Page) -> None:
    """A shared computer: the next person must not see (or continue) this conversation."""
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "第一句")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3)
    old_sender = sender_of(chat)

    chat.once("dialog", lambda dialog: dialog.dismiss())  # "cancel" keeps everything
    tab_to(chat, "结束对话")
    chat.keyboard.press("Enter")
    chat.wait_for_timeout(300)
    assert sender_of(chat) == old_sender
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3)

    chat.once("dialog", lambda dialog: dialog.accept())
    chat.get_by_role("button", name="结束对话").focus()
    chat.keyboard.press("Enter")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(0)
    expect(chat.locator(LOG)).to_have_attribute("aria-busy", "false")
    assert sender_of(chat) != old_sender
    expect(chat.locator("#connection-status")).to_contain_text("上一次对话已经结束")
    assert active(chat)["id"] == "message-input"
    # The new conversation works, and the old one does not come back on reload.
    type_and_send(chat, "新的一句")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3)
    chat.reload()
    expect(chat.locator(LOG)).to_have_attribute("aria-busy", "false")
    assert "第一句" not in " ".join(messages(chat))


def test_axe_normal_and_elder_mode_with_messages_and_buttons(chat: Page) -> None:
    assert_no_axe_violations(chat)  # empty
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "我要办事")
    expect(chat.locator(f"{LOG} .quick-replies:visible button")).to_have_count(2)
    assert_no_axe_violations(chat)
    chat.get_by_role("button", name="长辈模式").click()
    expect(chat.locator("html")).to_have_class("elder")
    assert_no_axe_violations(chat)


def test_elder_mode_sizes(chat: Page) -> None:
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "你好")
    expect(chat.locator(f"{LOG} .quick-replies:visible button")).to_have_count(2)
    chat.get_by_role("button", name="长辈模式").click()
    sizes: dict[str, Any] = chat.evaluate(
        """() => {
          const text = getComputedStyle(document.querySelector('.message .text'));
          const controls = [...document.querySelectorAll('button, input')]
            .filter((el) => el.offsetParent !== null)
            .map((el) => { const r = el.getBoundingClientRect();
                           return {h: r.height, w: r.width, name: el.textContent || el.id}; });
          return {font: parseFloat(text.fontSize), line: parseFloat(text.lineHeight), controls};
        }"""
    )
    assert sizes["font"] >= 30
    assert sizes["line"] >= 1.5 * sizes["font"]
    small = [c for c in sizes["controls"] if c["h"] < 60 or c["w"] < 60]
    assert not small, small
    # Simplified: the long introduction and the hint are gone.
    expect(chat.locator(".intro")).to_be_hidden()


def test_send_failure_keeps_the_text_and_retry_works(chat: Page) -> None:
    chat.route("**/api/webchat/messages", lambda route: route.abort())
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "我要认证")
    alert = chat.get_by_role("alert")
    expect(alert).to_contain_text("没有发出去")
    expect(alert).to_contain_text("您的话还在输入框里")
    expect(chat.get_by_label("输入要说的话")).to_have_value("我要认证")
    assert active(chat)["id"] == "message-input"
    assert messages(chat) == []

    chat.unroute("**/api/webchat/messages")
    chat.keyboard.press("Enter")  # retry: the same words, still in the input
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3)
    assert messages(chat)[0] == "您说：\n我要认证"
    expect(chat.get_by_label("输入要说的话")).to_have_value("")
    expect(alert).to_have_text("")


def test_a_send_whose_answer_was_lost_is_said_once_when_retried(chat: Page) -> None:
    """The gateway got the message and answered, but the answer never reached the page
    (a dropped connection, a proxy timeout). The page says it was not sent and keeps the
    words; sending them again must not make a second turn: same client_message_id, and
    the log shows the message and the bot's reply once."""
    sent: list[Any] = []

    def record(request: Request) -> None:
        if request.url.endswith(SEND):
            sent.append(request.post_data_json)

    chat.on("request", record)

    def lose_the_answer(route: Route) -> None:
        route.fetch()  # the gateway stores the turn and answers it...
        route.abort()  # ...and the answer is lost on the way back

    chat.route("**/api/webchat/messages", lose_the_answer)
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "我要认证")
    expect(chat.get_by_role("alert")).to_contain_text("没有发出去")
    expect(chat.get_by_label("输入要说的话")).to_have_value("我要认证")

    chat.unroute("**/api/webchat/messages")
    chat.keyboard.press("Enter")  # the user tries again, as the page asked
    expect(chat.get_by_label("输入要说的话")).to_have_value("")
    expect(chat.get_by_role("alert")).to_have_text("")
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3)
    chat.wait_for_timeout(2500)  # a poll later, still nothing twice
    shown = messages(chat)
    assert shown.count("您说：\n我要认证") == 1, shown
    assert shown.count("助手说：\n您说的是：我要认证\n朗读") == 1, shown
    assert len(shown) == 3, shown
    first, retry = sent
    assert retry["client_message_id"] == first["client_message_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first["client_message_id"])

    type_and_send(chat, "我要认证")  # the same words again, on purpose: a new message
    expect(chat.locator(f"{LOG} li.message")).to_have_count(6)
    assert sent[2]["client_message_id"] != first["client_message_id"]


def set_visibility(page: Page, state: str) -> None:
    """What switching tabs does; headless Chromium never hides a page by itself."""
    page.evaluate(
        """(state) => {
          const define = (name, get) =>
            Object.defineProperty(document, name, { configurable: true, get });
          define("visibilityState", () => state);
          define("hidden", () => state === "hidden");
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_a_hidden_tab_polls_slowly_and_catches_up_when_shown(
    chat: Page, gateway: LiveServer
) -> None:
    polls: list[str] = []
    chat.on("request", lambda r: polls.append(r.url) if "/messages?after=" in r.url else None)
    set_visibility(chat, "hidden")
    chat.wait_for_timeout(2500)  # the poll already planned (within 2 s) may still run
    polls.clear()
    # Meanwhile the conversation goes on elsewhere (another tab of the same user).
    answer = httpx.post(
        f"{gateway.url}{SEND}",
        json={"sender": sender_of(chat), "message": "在别的标签页说的"},
    )
    answer.raise_for_status()
    chat.wait_for_timeout(5000)
    assert polls == [], "hidden: every 15 s, not every 2 s"
    expect(chat.locator(f"{LOG} li.message")).to_have_count(0)

    set_visibility(chat, "visible")
    # At once, not after the rest of the 15 s: well before the 2 s poll could do it.
    expect(chat.locator(f"{LOG} li.message")).to_have_count(3, timeout=1500)
    assert messages(chat)[0] == "您说：\n在别的标签页说的"


def test_server_error_message_is_announced(chat: Page) -> None:
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "boom")  # the fake Rasa answers 500: the gateway says 503
    expect(chat.get_by_role("alert")).to_contain_text("助手暂时连不上，请稍后再试。")
    expect(chat.get_by_label("输入要说的话")).to_have_value("boom")


def test_a_dropped_connection_is_said_politely_and_recovers(chat: Page) -> None:
    chat.route("**/api/conversations/**", lambda route: route.abort())
    status = chat.locator("#connection-status")
    expect(status).to_have_text("连接断了，正在重新连接。您的对话都还在。")
    assert status.get_attribute("role") == "status"
    chat.unroute("**/api/conversations/**")
    expect(status).to_have_text("已经重新连上了。", timeout=15_000)


def test_empty_input_is_explained(chat: Page) -> None:
    chat.get_by_label("输入要说的话").focus()
    chat.keyboard.press("Enter")
    expect(chat.get_by_role("alert")).to_have_text("请先输入要说的话。")


@pytest.mark.parametrize("elder", [False, True])
def test_320_px_wide_no_sideways_scrolling(chat: Page, elder: bool) -> None:
    chat.set_viewport_size({"width": 320, "height": 640})
    if elder:
        chat.get_by_role("button", name="长辈模式").click()
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "我的身份证号是110105194910010031")
    expect(chat.locator(f"{LOG} .quick-replies:visible button")).to_have_count(2)
    assert horizontal_overflow(chat) == 0
    expect(chat.get_by_role("button", name="发送")).to_be_in_viewport()


def test_200_percent_zoom(browser: Browser, gateway: LiveServer) -> None:
    """Browser zoom at 200% on a 1280x900 window is a 640x450 CSS-pixel viewport at
    twice the device pixels: that is what this context is."""
    context = browser.new_context(
        viewport={"width": 640, "height": 450}, device_scale_factor=2, locale="zh-CN"
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{gateway.url}/")
        page.get_by_role("button", name="长辈模式").click()
        page.get_by_label("输入要说的话").focus()
        type_and_send(page, "你好")
        expect(page.locator(f"{LOG} .quick-replies:visible button")).to_have_count(2)
        assert horizontal_overflow(page) == 0
        assert page.evaluate("() => window.devicePixelRatio") == 2
        assert_no_axe_violations(page)
    finally:
        context.close()


def test_queue_and_agent_messages_in_the_same_log(chat: Page, gateway: LiveServer) -> None:
    chat.get_by_role("button", name="我用读屏软件").click()
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "转人工")
    expect(chat.locator("#queue-status")).to_have_text(re.compile(r"排队中：您排在第 1 位"))
    expect(chat.locator(LOG)).to_contain_text("正在为您转接工作人员")

    api = f"{gateway.url}/api/agent"
    token = httpx.post(f"{api}/login", json={"username": AGENT, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['token']}"}
    items = httpx.get(f"{api}/queue", headers=headers).json()["items"]
    (mine,) = [i for i in items if i["channel"] == "web" and i["profile"]["screen_reader"]]
    conversation = f"{api}/conversations/{mine['conversation_id']}"
    httpx.post(f"{conversation}/claim", headers=headers).raise_for_status()
    reply = httpx.post(f"{conversation}/messages", headers=headers, json={"text": "您好，请讲。"})
    reply.raise_for_status()

    agent_item = chat.locator(f"{LOG} li.message.from-agent")
    expect(agent_item).to_contain_text("工作人员说：")
    expect(agent_item).to_contain_text("您好，请讲。")
    expect(chat.locator("#queue-status")).to_have_text("工作人员正在和您对话。")
    assert_no_axe_violations(chat)
    # The agent's message can be read aloud too; nothing plays by itself.
    expect(agent_item.get_by_role("button", name="朗读")).to_be_visible()


def test_listen_button_speaks_on_request_only(chat: Page) -> None:
    speech_requests: list[str] = []
    chat.on("request", lambda r: speech_requests.append(r.url) if "/speech" in r.url else None)
    chat.get_by_label("输入要说的话").focus()
    type_and_send(chat, "你好")
    listen = chat.locator(f"{LOG} li.message.from-bot").first.get_by_role("button", name="朗读")
    expect(listen).to_be_visible()
    chat.wait_for_timeout(500)
    assert speech_requests == [], "never autoplay"

    with chat.expect_response(re.compile(r"/speech$")) as answer:
        listen.focus()
        chat.keyboard.press("Enter")
    response = answer.value
    if shutil.which("espeak-ng"):
        assert response.status == 200, response.text()
        assert response.headers["content-type"] == "audio/wav"
        # A real WAV from espeak-ng (the page consumed the body, so look at its size).
        assert int(response.headers["content-length"]) > 1000
        expect(chat.get_by_role("alert")).to_have_text("")
    else:
        assert response.status == 503
        expect(chat.get_by_role("alert")).to_contain_text("语音播报暂时不能用")
