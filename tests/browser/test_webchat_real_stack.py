"""The web chat against the REAL stack: action server, Rasa with the trained model, gateway
(tests/app/real_stack.py). A keyboard-only walk through 社保认证 in Chromium: every bot
message arrives in the ``role="log"`` live region, the ID is read back in groups, 对 ends
it with success; a reload restores the same log; axe-core finds nothing.

Needs the trained model (`make train`; `make test` passes it in RASA_MODEL).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from scripts.stack import Stack
from tests.app.real_stack import running_stack

from .helpers import active, assert_no_axe_violations, log_additions, tab_to, watch_log

LOG = '[role="log"]'
# Rasa on a loaded 2-core machine: a turn can take seconds; a passing step never waits this.
TURN_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def bot_says(page: Page, text: str) -> None:
    """Wait until the newest bot message contains `text`."""
    newest = page.locator(f"{LOG} li.message.from-bot").last
    expect(newest).to_contain_text(text, timeout=TURN_TIMEOUT_MS)


def bot_said(page: Page, text: str | re.Pattern[str]) -> None:
    """Wait until a bot message contains `text`: a question may follow the answer (the
    reminder offer after an authentication, the rating after a task)."""
    said = page.locator(f"{LOG} li.message.from-bot", has_text=text)
    expect(said.last).to_be_visible(timeout=TURN_TIMEOUT_MS)


def say_by_keyboard(page: Page, text: str) -> None:
    assert active(page)["id"] == "message-input", "focus stays in the input"
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def test_keyboard_only_authentication(stack: Stack, page: Page) -> None:
    page.set_default_timeout(TURN_TIMEOUT_MS)
    page.goto(f"{stack.config.gateway_url}/")
    expect(page.locator(LOG)).to_have_attribute("aria-busy", "false")

    page.keyboard.press("Tab")
    assert active(page)["text"] == "跳到输入框"
    page.keyboard.press("Enter")
    watch_log(page)

    say_by_keyboard(page, "我要认证")
    bot_says(page, "姓名")
    say_by_keyboard(page, "王桂兰")
    bot_says(page, "身份证")
    say_by_keyboard(page, "110105194910010031")
    bot_says(page, "我听到的号码是：110105，19491001，0031。对吗？")
    say_by_keyboard(page, "对")
    bot_said(page, "认证成功")
    bot_says(page, "到期前要提醒您吗？")  # the reminder offer follows the answer
    assert active(page)["id"] == "message-input"

    log = page.locator(LOG)
    items = log.locator("li.message")
    texts = [t.strip() for t in items.all_inner_texts()]
    user_turns = [t for t in texts if t.startswith("您说：")]
    assert [t.split("\n", 1)[1] for t in user_turns] == [
        "我要认证",
        "王桂兰",
        "110105194910010031",
        "对",
    ]
    bot_turns = [t for t in texts if t.startswith("助手说：")]
    assert any("对吗？" in t for t in bot_turns) and "认证成功" in bot_turns[-2]
    # Every message was added to the live region while the page was open: read out once.
    added = log_additions(page)
    for text in texts:
        spoken = text.replace("\n朗读", "").replace("\n", "")
        assert any(a.replace("朗读", "").startswith(spoken) for a in added), (spoken, added)
    assert_no_axe_violations(page)

    page.reload()
    expect(log).to_have_attribute("aria-busy", "false")
    assert [t.strip() for t in items.all_inner_texts()] == texts
    assert_no_axe_violations(page)


def test_spoken_digits_typed_as_a_recogniser_writes_them(stack: Stack, page: Page) -> None:
    """Dictation software writes numbers the way the kiosk's recogniser does."""
    page.set_default_timeout(TURN_TIMEOUT_MS)
    page.goto(f"{stack.config.gateway_url}/")
    expect(page.locator(LOG)).to_have_attribute("aria-busy", "false")
    page.get_by_label("输入要说的话").focus()
    say_by_keyboard(page, "我想办养老金认证")
    bot_says(page, "姓名")
    say_by_keyboard(page, "我叫王桂兰")
    bot_says(page, "身份证")
    say_by_keyboard(page, "幺幺零幺零五 一九四九一零零一 零零三幺")
    bot_says(page, "我听到的号码是：110105，19491001，0031。对吗？")
    # The read-back offers 对 / 不对 as buttons: Tab to 对, Enter; focus returns to the input.
    choices = page.locator(f"{LOG} .quick-replies:visible button")
    expect(choices).to_have_text(["对", "不对"])
    tab_to(page, "对")
    page.keyboard.press("Enter")
    expect(page.locator(f"{LOG} li.message.from-user").last).to_contain_text("对")
    assert active(page)["id"] == "message-input"
    # The module's first test already certified 王桂兰 this year (same registry).
    bot_said(page, re.compile("认证成功|已经认证过了"))
