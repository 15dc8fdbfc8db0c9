"""The supervisors' page against the REAL gateway (real database seeded with
tests/app/admin_seed.py; only Rasa is a fake server): axe with AAA contrast, keyboard
only, the SVG bars' heights from the seeded numbers, a screenshot, agents kept out."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.settings import Settings
from channels.app import create_app
from tests.app import admin_seed
from tests.app.admin_seed import SUPERVISOR, make_supervisor
from tests.app.fake_rasa import FakeRasaServer
from tests.app.handoff_kit import PASSWORD, add_agent, sqlite_url
from tests.live_server import LiveServer

from .helpers import active, assert_no_axe_violations, horizontal_overflow, tab_to
from .test_accessibility import SCREENSHOTS, ZOOMED

AGENT = "liming"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveServer]:
    """The gateway on a seeded SQLite file; exports go to `tmp_path`, never to data/."""
    rasa = FakeRasaServer()
    rasa.start()
    url = sqlite_url(tmp_path / "gateway.db")
    settings = Settings(
        rasa_url=rasa.url,
        action_server_url=rasa.url,
        rasa_token="test-token",
        rasa_token_file=tmp_path / "no_token_file",
        database_url=url,
        reviewed_nlu_file=tmp_path / "reviewed.yml",
    )
    server = LiveServer(create_app(settings))
    server.start()
    try:
        # Playwright's sync API runs an event loop in this thread: seed beside it.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(lambda: asyncio.run(admin_seed.seed_database(url))).result()
            pool.submit(make_supervisor, url, SUPERVISOR).result()
            pool.submit(add_agent, url, AGENT).result()
        yield server
    finally:
        server.stop()
        rasa.stop()


def open_dashboard(page: Page, server: LiveServer) -> None:
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page.goto(f"{server.url}/admin")
    page.get_by_label("用户名").fill(SUPERVISOR)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#dashboard-heading")).to_be_focused()
    page.get_by_label("开始日期").fill(str(admin_seed.START))
    page.get_by_label("结束日期").fill(str(admin_seed.END))
    page.get_by_role("button", name="查看").click()
    expect(page.locator("#resolution-table tbody tr").last).to_contain_text("42.9%")


def bar_heights(page: Page, chart: str) -> dict[tuple[str, str], float]:
    """Rendered heights (CSS pixels) of a chart's bars, by (series, category)."""
    found: list[list[object]] = page.evaluate(
        """(id) => [...document.querySelectorAll(`#${id} rect.bar`)].map((bar) => [
            bar.dataset.series, bar.dataset.category, bar.getBoundingClientRect().height])""",
        chart,
    )
    return {(str(s), str(c)): float(h) for s, c, h in found}  # type: ignore[arg-type]


def test_dashboard_passes_axe_and_its_bars_follow_the_seeded_numbers(
    gateway: LiveServer, page: Page
) -> None:
    open_dashboard(page, gateway)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    expect(page.locator("#charts svg[role='img']")).to_have_count(7)
    expect(page.locator("#charts table")).to_have_count(7)
    assert_no_axe_violations(page)

    heights = bar_heights(page, "chart-resolution")
    half = heights[("助手独立解决", "11-24")]  # 1 of 2 conversations
    assert half > 50
    assert heights[("助手独立解决", "11-23")] == pytest.approx(half * 2 / 3, rel=0.02)  # 1 of 3
    assert heights[("转人工后解决", "11-23")] == pytest.approx(half * 2 / 3, rel=0.02)
    assert heights[("转人工后解决", "11-24")] == 0
    missed = bar_heights(page, "chart-missed")
    # The horizontal chart: widths carry the counts, heights are equal rows.
    widths: list[float] = page.evaluate(
        "() => [...document.querySelectorAll('#chart-missed rect.bar')]"
        ".map((bar) => bar.getBoundingClientRect().width)"
    )
    assert len(missed) == 3 and widths[0] == pytest.approx(2 * widths[1], rel=0.02)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "admin-dashboard.png"
    page.locator("#charts").screenshot(path=str(shot))
    chart_shot = SCREENSHOTS / "admin-resolution-chart.png"
    page.locator("#chart-resolution").screenshot(path=str(chart_shot))
    assert shot.stat().st_size > 30_000 and chart_shot.stat().st_size > 5_000
    png = chart_shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    # The image is the chart as laid out (IHDR: width and height, big-endian).
    box = page.locator("#chart-resolution").bounding_box()
    assert box is not None
    width, height = struct.unpack(">II", png[16:24])
    assert abs(width - box["width"]) <= 2 and abs(height - box["height"]) <= 2
    assert width >= 600 and height >= 200

    # 200 % zoom: one column, no sideways scrolling; the charts shrink with the page.
    page.set_viewport_size(ZOOMED)
    assert horizontal_overflow(page) == 0
    assert_no_axe_violations(page)


def test_keyboard_only_login_filter_csv_and_review(gateway: LiveServer, page: Page) -> None:
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page.goto(f"{gateway.url}/admin")
    tab_to(page, "#login-username")
    page.keyboard.type(SUPERVISOR)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#dashboard-heading")).to_be_focused()

    tab_to(page, "#filter-start")
    page.keyboard.type("11232026")  # Chromium's date field in the zh-CN order is y-m-d
    tab_to(page, "#filter-granularity")
    page.keyboard.press("ArrowDown")  # 按周
    tab_to(page, "#csv-button")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    path = download.value.path()
    assert path is not None and "问题解决率" in Path(path).read_text(encoding="utf-8-sig")

    expect(page.locator("#review-list > li")).to_have_count(5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin-review.png"), full_page=True)
    first = page.locator("#review-list > li").first
    intent = first.locator("select")
    intent.focus()
    page.keyboard.press("ArrowDown")  # the first intent of the domain
    assert intent.input_value() != ""
    tab_to(page, "采用")
    page.keyboard.press("Enter")
    expect(page.locator("#review-list > li")).to_have_count(4)
    expect(page.locator("#announcer")).to_contain_text("已采用")
    # Focus moves on to the next candidate's intent, so a reviewer can keep going.
    assert active(page)["id"].startswith("intent-")
    assert_no_axe_violations(page)


def test_an_agent_is_kept_out(gateway: LiveServer, page: Page) -> None:
    page.set_default_timeout(10_000)
    expect.set_options(timeout=10_000)
    page.goto(f"{gateway.url}/admin")
    page.get_by_label("用户名").fill(AGENT)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("这一页只有主管能看。")
    expect(page.locator("#admin-view")).to_be_hidden()
    expect(page.locator("#charts svg")).to_have_count(0)
    assert_no_axe_violations(page)
