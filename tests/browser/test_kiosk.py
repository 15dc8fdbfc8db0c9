"""The kiosk page against the REAL gateway (fake Rasa only): axe, keyboard, a typed turn, and
a spoken turn from Chromium's fake microphone playing Korean espeak-ng speech into Vosk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Playwright, expect

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
from .helpers import active, assert_no_axe_violations, tab_to

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
