"""好差评 in the web chat against the real gateway (fake Rasa): the rating question as five
real buttons with the words, answered by keyboard; 评价这次服务 asks again later (the rating
window); axe-core with AAA contrast while the question is on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.feedback import texts as feedback_texts
from tests.app.handoff_kit import gateway_with_fake_rasa

from .conftest import LiveServer
from .helpers import assert_no_axe_violations, tab_to

LOG = '[role="log"]'
LEVELS = ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveServer]:
    with gateway_with_fake_rasa(tmp_path) as server:
        yield server


def test_rate_with_buttons_and_again_later(gateway: LiveServer, page: Page) -> None:
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page.goto(f"{gateway.url}/")
    expect(page.locator(LOG)).to_have_attribute("aria-busy", "false")
    tab_to(page, "#message-input")
    page.keyboard.type("查认证")  # the fake bot ends a task: the rating is asked
    page.keyboard.press("Enter")
    question = page.locator(f"{LOG} li.message", has_text=feedback_texts.ASK_RATING)
    expect(question).to_have_count(1)
    expect(question.locator(".quick-replies button")).to_have_text(LEVELS)
    assert_no_axe_violations(page)

    page.keyboard.type("跳过")
    page.keyboard.press("Enter")
    expect(page.locator(LOG)).to_contain_text(feedback_texts.SKIPPED)

    tab_to(page, "评价这次服务")
    page.keyboard.press("Enter")
    expect(page.locator(f"{LOG} li.message", has_text=feedback_texts.ASK_RATING)).to_have_count(2)
    tab_to(page, "基本满意")
    page.keyboard.press("Enter")
    expect(page.locator(LOG)).to_contain_text(feedback_texts.THANKS)
    assert_no_axe_violations(page)
