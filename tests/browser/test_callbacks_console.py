"""The console's call-back list against the REAL gateway (only Rasa is a fake): residents
whose authentication is due and who left only a phone number are listed with the number
masked; 显示完整号码 shows it and is audited; 已回电 takes the item off; axe finds nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.store.db import Database
from bot.store.models import ReminderSent, utcnow
from tests.app.handoff_kit import PASSWORD, audit_rows, gateway_with_fake_rasa, sqlite_url

from .conftest import LiveServer
from .helpers import assert_no_axe_violations, login

AGENT = "zhaomin"
DUE = date.today() + timedelta(days=20)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[LiveServer]:
    with gateway_with_fake_rasa(tmp_path, agents=[AGENT]) as server:
        yield server


def list_for_call_back(url: str, phone: str) -> None:
    """What the reminder job writes for a resident reachable only by phone."""

    async def add() -> None:
        database = Database(url)
        try:
            async with database.transaction() as session:
                session.add(
                    ReminderSent(
                        ref="ab" * 32, due_date=DUE, channel="phone", phone=phone, sent_at=utcnow()
                    )
                )
        finally:
            await database.dispose()

    with ThreadPoolExecutor(max_workers=1) as pool:  # Playwright's loop runs in this thread
        pool.submit(asyncio.run, add()).result()


def test_call_back_list_masks_reveals_with_audit_and_marks_called(
    gateway: LiveServer, page: Page, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "gateway.db")
    list_for_call_back(url, "13912345678")

    page.goto(f"{gateway.url}/agent")
    login(page, AGENT, PASSWORD)
    item = page.locator("#callbacks-list > li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(f"认证到期：{DUE.year}年{DUE.month}月{DUE.day}日")
    expect(item).to_contain_text("电话：139****5678")
    assert_no_axe_violations(page)

    item.get_by_role("button", name="显示完整号码").click()
    expect(item).to_contain_text("电话：13912345678")
    expect(page.locator("#announcer")).to_contain_text("这次查看已记录")
    with ThreadPoolExecutor(max_workers=1) as pool:
        actions = [a.action for a in pool.submit(audit_rows, url).result()]
    assert "reveal" in actions

    item.get_by_role("button", name="已回电").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#callbacks-list > li")).to_have_count(0)
    expect(page.locator("#callbacks-empty")).to_be_visible()
