"""Steps shared by the console tests: log in, move by keyboard, run axe-core."""

from __future__ import annotations

import re
from typing import Any

from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import Page, expect

from .fake_api import PASSWORD, USERNAME

# axe-core ships inside the package (axe.min.js): nothing is fetched. The AAA contrast rule
# is switched on too, because this page promises high contrast, not just enough contrast.
AXE = Axe()
AXE_OPTIONS: dict[str, Any] = {
    "resultTypes": ["violations"],
    "rules": {"color-contrast-enhanced": {"enabled": True}},
}

# Which element has focus, as text a test can match: its id and its visible text.
_ACTIVE = """() => {
  const el = document.activeElement;
  return el ? {id: el.id, text: (el.innerText || el.value || "").trim()} : {id: "", text: ""};
}"""


def login(page: Page, username: str = USERNAME, password: str = PASSWORD) -> None:
    """Log in through the form and wait for the live connection."""
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#queue-panel")).to_be_visible()
    expect(page.locator("#connection-status")).to_contain_text("已连接")
    # The queue has arrived too (the count is only written once it has).
    expect(page.locator("#waiting-count")).to_have_text(re.compile(r"（\d+）"))


def claim_first(page: Page) -> None:
    """Take the first waiting conversation and wait until it is the open one."""
    mine = page.locator("#mine-list > li")
    before = mine.count()
    page.get_by_role("button", name="接手").first.click()
    expect(mine).to_have_count(before + 1)
    # Focus lands on the heading only once the conversation has been loaded and shown.
    expect(page.locator("#conversation-heading")).to_be_focused()


def active(page: Page) -> dict[str, str]:
    result: dict[str, str] = page.evaluate(_ACTIVE)
    return result


def tab_to(page: Page, target: str, max_presses: int = 60) -> None:
    """Press Tab until focus is on `target`: ``#id``, or a control whose text starts with it."""
    for _ in range(max_presses):
        page.keyboard.press("Tab")
        now = active(page)
        if target.startswith("#") and now["id"] == target[1:]:
            return
        if not target.startswith("#") and now["text"].startswith(target):
            return
    raise AssertionError(f"Tab never reached {target!r}; focus is on {active(page)!r}")


def assert_no_axe_violations(page: Page) -> None:
    """Run axe-core on the page as it is now; the failure message is axe's full report."""
    results = AXE.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, results.generate_report()


def focus_outline(page: Page) -> dict[str, str]:
    """The computed outline of the focused element (what a sighted keyboard user sees)."""
    result: dict[str, str] = page.evaluate(
        """() => {
          const s = getComputedStyle(document.activeElement);
          return {style: s.outlineStyle, width: s.outlineWidth, color: s.outlineColor};
        }"""
    )
    return result


# ---------------------------------------------------------------- web chat (page at /)

# Records every element added to the role=log region, as screen readers are told of them.
_WATCH_LOG = """() => {
  const log = document.querySelector('[role="log"]');
  window.__logAdditions = [];
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) window.__logAdditions.push(node.textContent);
    }
  }).observe(log, {childList: true, subtree: true});
}"""


def watch_log(page: Page) -> None:
    """Start recording what is added to the page's ``role="log"`` live region."""
    page.evaluate(_WATCH_LOG)


def log_additions(page: Page) -> list[str]:
    """The text of each node added to the live region since `watch_log`."""
    result: list[str] = page.evaluate("() => window.__logAdditions")
    return result


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no sideways scrolling)."""
    result: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return result
