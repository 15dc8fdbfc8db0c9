"""The kiosk page against the REAL gateway (fake Rasa only): axe, keyboard, a typed turn, and
a spoken turn from Chromium's fake microphone playing Korean espeak-ng speech into Vosk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, Playwright, expect

from bot.settings import Settings
from channels.app import create_app
from tests.app.fake_rasa import FakeRasaServer
from tests.app.handoff_kit import sqlite_url
from tests.voice.voice_testkit import (
    VOICE_ENV,
    espeak_wav,
    korean_model_path,
    silence,
)
from voice.audio import to_pcm16k, write_wav

from .conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer
from .helpers import active, assert_no_axe_violations, horizontal_overflow, tab_to

COMMAND_BUTTONS = ("转人工", "再说一遍", "慢一点", "结束")


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    for name in VOICE_ENV:
        monkeypatch.delenv(name, raising=False)
    rasa = FakeRasaServer()
    rasa.start()
    settings = Settings(
        rasa_url=rasa.url,
        action_server_url=rasa.url,
        rasa_token="test-token",
        rasa_token_file=tmp_path / "no_token_file",
        database_url=sqlite_url(tmp_path / "gateway.db"),
    )
    server = LiveServer(create_app(settings))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        rasa.stop()


@pytest.fixture
def kiosk(gateway: LiveServer, page: Page) -> Page:
    page.set_default_timeout(15_000)
    expect.set_options(timeout=15_000)
    page.goto(f"{gateway.url}/kiosk")
    expect(page.locator("#connection-status")).to_have_text("已连接")
    return page


def test_no_axe_violations(kiosk: Page) -> None:
    expect(kiosk.locator("html")).to_have_attribute("lang", "zh-CN")
    assert_no_axe_violations(kiosk)
    font_px = kiosk.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_px >= 30


def test_buttons_reachable_by_keyboard(kiosk: Page) -> None:
    for name in COMMAND_BUTTONS:
        kiosk.locator("body").focus()
        tab_to(kiosk, name)
        assert active(kiosk)["text"] == name
    kiosk.locator("body").focus()
    tab_to(kiosk, "#text-input")


def test_typed_turn_shows_the_reply(kiosk: Page) -> None:
    kiosk.get_by_label("打字提问").fill("你好")
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#log li.bot").first).to_contain_text("你好")
    expect(kiosk.locator("#reply")).not_to_be_empty()
    # A command button by keyboard: Enter on 再说一遍 sends another turn.
    before = kiosk.locator("#log li.bot").count()
    kiosk.get_by_role("button", name="再说一遍").focus()
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#log li.bot")).not_to_have_count(before)
    assert_no_axe_violations(kiosk)


def test_reply_choices_are_big_buttons_that_answer(kiosk: Page) -> None:
    kiosk.get_by_label("打字提问").fill("你好")
    kiosk.keyboard.press("Enter")
    choices = kiosk.get_by_role("group", name="可以直接按").get_by_role("button")
    expect(choices).to_have_text(["助餐服务", "转人工"])
    height = choices.first.evaluate("el => el.getBoundingClientRect().height")
    assert height >= 60, f"choices are big touch targets ({height} px)"
    assert_no_axe_violations(kiosk)
    # By keyboard: Tab to the choice, Enter: the words are sent as the resident's turn.
    tab_to(kiosk, "助餐服务")
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#log li.user").last).to_contain_text("助餐服务")
    expect(kiosk.locator("#log li.bot").last).to_contain_text("请选择服务")
    expect(kiosk.locator("#log li.bot", has_text="助餐服务")).to_have_count(1)
    # Focus continues at the main control: 开始说话, or the keyboard when voice is off.
    main_control = "text-input" if kiosk.locator("#talk-button").is_disabled() else "talk-button"
    assert active(kiosk)["id"] == main_control


def test_voice_unavailable_says_so_and_focuses_keyboard(
    gateway: LiveServer, page: Page, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(tmp_path / "no_model"))
    page.goto(f"{gateway.url}/kiosk")
    expect(page.locator("#voice-off")).to_be_visible()
    expect(page.locator("#text-input")).to_be_focused()
    expect(page.locator("#talk-button")).to_be_disabled()


def test_fake_microphone_shows_captions(
    gateway: LiveServer, playwright: Playwright, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))
    speech = silence(0.5) + to_pcm16k(espeak_wav("하나 둘 셋 넷 다섯"), "wav") + silence(1.5)
    wav = tmp_path / "korean.wav"
    wav.write_bytes(write_wav(speech))  # 16 kHz 16-bit mono PCM WAV, as Chromium wants
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required",
        ],
    )
    try:
        context = browser.new_context(locale="zh-CN", permissions=["microphone"])
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{gateway.url}/kiosk")
        expect(page.locator("#connection-status")).to_have_text("已连接")
        talk = page.get_by_role("button", name="开始说话")
        talk.click()
        expect(page.get_by_role("button", name="停止说话")).to_be_visible()
        # Vosk's partials or final appear as a caption (anything but the prompt).
        page.wait_for_function(
            """() => {
              const text = document.getElementById("caption").textContent.trim();
              return text && text !== "请说话……";
            }""",
            timeout=30_000,
        )
        page.get_by_role("button", name="停止说话").click()
        expect(page.locator("#error-alert")).to_be_empty()
        context.close()
    finally:
        browser.close()


# Replies are "played" by a stub that never ends, so a test can see them being cut off.
_SILENT_PLAYER = """
  window.__players = [];
  HTMLMediaElement.prototype.play = function () {
    window.__players.push(this);
    this.__stopped = false;
    return Promise.resolve();
  };
  HTMLMediaElement.prototype.pause = function () { this.__stopped = true; };
"""


def test_pressing_talk_stops_the_reply_at_once(
    gateway: LiveServer, page: Page, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice import tts

    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))  # the button is enabled
    if not tts.availability()[0]:
        pytest.skip("no speech synthesis: replies have no audio")
    page.add_init_script(_SILENT_PLAYER)
    page.goto(f"{gateway.url}/kiosk")
    expect(page.locator("#connection-status")).to_have_text("已连接")
    page.get_by_label("打字提问").fill("你好")
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__players.length > 0", timeout=15_000)
    assert page.evaluate("window.__players[0].__stopped") is False
    page.get_by_role("button", name="开始说话").click()
    assert page.evaluate("window.__players[0].__stopped") is True


def test_hands_free_toggle_streams_in_hands_free_mode(
    gateway: LiveServer, playwright: Playwright, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(korean_model_path()))
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
        ],
    )
    try:
        context = browser.new_context(locale="zh-CN", permissions=["microphone"])
        page = context.new_page()
        sent: list[str] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
        page.goto(f"{gateway.url}/kiosk")
        expect(page.locator("#connection-status")).to_have_text("已连接")
        toggle = page.get_by_role("button", name="免提模式")
        expect(toggle).to_have_attribute("aria-pressed", "false")
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "true")
        for _ in range(50):  # the frame event may trail the click a little
            if any('"mode":"hands_free"' in frame for frame in sent):
                break
            page.wait_for_timeout(100)
        assert any('"mode":"hands_free"' in frame for frame in sent), sent
        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "false")
        context.close()
    finally:
        browser.close()


def _idle_page(gateway: LiveServer, page: Page) -> None:
    page.goto(f"{gateway.url}/kiosk")
    page.evaluate("document.body.dataset.idleSeconds = '1'")
    expect(page.locator("#connection-status")).to_have_text("已连接")


def test_inactivity_returns_to_the_welcome_screen(gateway: LiveServer, page: Page) -> None:
    _idle_page(gateway, page)
    page.get_by_label("打字提问").fill("你好")
    page.keyboard.press("Enter")
    expect(page.locator("#log li.bot").first).to_be_visible()
    expect(page.locator("#welcome")).to_be_visible(timeout=10_000)
    expect(page.locator("#log li")).to_have_count(0)


def test_inactivity_during_a_handoff_keeps_the_conversation(
    gateway: LiveServer, page: Page
) -> None:
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(str(f))))
    _idle_page(gateway, page)
    page.get_by_role("button", name="转人工").click()
    expect(page.locator("#log li.bot").first).to_be_visible()
    expect(page.locator("#welcome")).to_be_visible(timeout=10_000)
    expect(page.locator("#log li")).to_have_count(0)
    assert not any('"end"' in frame for frame in sent), sent


# Screens the kiosk runs on: laptop-sized, common monitors, and a portrait totem.
KIOSK_VIEWPORTS = [(1280, 800), (1280, 900), (1280, 1024), (1920, 1080), (1080, 1920)]

# Where an element is: fully inside the window, and which of five points on it (centre, and
# near the corners: 20 % in, clear of rounded corners) show something else on top (the
# defect: the fixed command bar over the keyboard field).
_PLACE = """(el) => {
  const r = el.getBoundingClientRect();
  const inside = r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
  const at = (fx, fy) => [r.left + fx * r.width, r.top + fy * r.height];
  const points = [at(0.5, 0.5), at(0.2, 0.2), at(0.8, 0.2), at(0.2, 0.8), at(0.8, 0.8)];
  const covered = points.filter(([x, y]) => {
    const hit = document.elementFromPoint(x, y);
    return !hit || !(hit === el || el.contains(hit));
  }).map(([x, y]) => document.elementFromPoint(x, y)?.outerHTML.slice(0, 60) ?? 'nothing');
  return {inside, covered, box: [r.left, r.top, r.right, r.bottom].map(Math.round)};
}"""
_CONTROLS = "button:not([hidden]), input:not([type=hidden])"


def _assert_in_full_view(page: Page, element: Locator, what: str) -> None:
    place = element.evaluate(_PLACE)
    assert place["inside"] and not place["covered"], f"{what}: {place}"


@pytest.mark.parametrize(("width", "height"), KIOSK_VIEWPORTS, ids=lambda v: str(v))
def test_every_control_is_visible_and_reachable(
    gateway: LiveServer, page: Page, width: int, height: int
) -> None:
    """Voice off (no model here) is the tallest page: the alert, and focus on the field."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{gateway.url}/kiosk")
    expect(page.locator("#connection-status")).to_have_text("已连接")
    expect(page.locator("#voice-off")).to_be_visible()
    # On arrival the focused field is in full view, and so is the command bar.
    expect(page.locator("#text-input")).to_be_focused()
    _assert_in_full_view(page, page.locator("#text-input"), "the focused field on arrival")
    bar = page.get_by_role("navigation", name="常用操作")
    for name in COMMAND_BUTTONS:
        _assert_in_full_view(page, bar.get_by_role("button", name=name), name)
    # A turn with choices and a transcript: the page at its longest.
    page.get_by_label("打字提问").fill("你好")
    page.keyboard.press("Enter")
    expect(page.get_by_role("group", name="可以直接按").get_by_role("button")).to_have_count(2)
    for name in COMMAND_BUTTONS:
        _assert_in_full_view(page, bar.get_by_role("button", name=name), f"{name} after a turn")
    # Keyboard: from the field forwards to the end, and back to the start, every stop
    # of the Tab order is in full view while it has the focus.
    visited = {"text-input"}
    for key_name in ("Tab", "Shift+Tab"):
        page.locator("#text-input").focus()
        for _ in range(40):
            page.keyboard.press(key_name)
            key = page.evaluate(
                "() => document.activeElement === document.body ? null"
                " : document.activeElement.id || document.activeElement.textContent.trim()"
            )
            if key is None:  # out of the page, into the browser
                break
            visited.add(key)
            place = page.evaluate(f"() => ({_PLACE})(document.activeElement)")
            assert place["inside"] and not place["covered"], f"{key_name} to {key!r}: {place}"
    enabled = page.locator(_CONTROLS).evaluate_all(
        "els => els.filter(el => !el.disabled && el.checkVisibility())"
        ".map(el => el.id || el.textContent.trim())"
    )
    assert set(enabled) <= visited, "every enabled control is in the Tab order"
    # Touch: every control, disabled ones too, can be scrolled into full view.
    controls = page.locator(_CONTROLS)
    for index in range(controls.count()):
        control = controls.nth(index)
        if control.is_visible():
            control.evaluate("el => el.scrollIntoView({block: 'nearest'})")
            _assert_in_full_view(
                page, control, f"control {control.evaluate('el => el.outerHTML.slice(0, 60)')}"
            )
    assert horizontal_overflow(page) == 0
    assert_no_axe_violations(page)
