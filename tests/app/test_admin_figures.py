"""Dashboard figures on a seeded history (tests/app/admin_seed.py) against numbers worked
out by hand, on SQLite and PostgreSQL; the tables, charts and CSV built from them."""

from __future__ import annotations

import csv
import io
import re

import pytest

from bot.reports.figures import Dashboard, Granularity, ReportFilter, dashboard, percentile
from bot.reports.presentation import DashboardView, build, to_csv
from bot.store.db import Database
from tests.app import admin_seed
from tests.app.admin_seed import DAYS, END, EXPECTED, NOW, START


async def _dashboard(url: str, flt: ReportFilter) -> Dashboard:
    await admin_seed.seed_database(url)
    database = Database(url)
    try:
        async with database.read() as session:
            return await dashboard(session, flt, NOW)
    finally:
        await database.dispose()


def _by_label(dash: Dashboard) -> dict[str, object]:
    return {label: b for label, b in zip(DAYS, dash.buckets, strict=True)}


async def test_figures_per_day_match_the_hand_count(database_url: str) -> None:
    dash = await _dashboard(database_url, ReportFilter(START, END))
    assert [b.isoformat()[5:] for b in dash.buckets] == DAYS

    for label, bucket in _by_label(dash).items():
        r = dash.resolution.by_bucket[bucket]  # type: ignore[index]
        assert (r.conversations, r.solved_by_bot, r.solved_with_agent) == EXPECTED["resolution"][
            label
        ]
        g = dash.ratings.by_bucket[bucket]  # type: ignore[index]
        assert (g.asked, g.answered, g.good) == EXPECTED["ratings"][label]
        c = dash.rectification.by_bucket[bucket]  # type: ignore[index]
        assert (c.cases, c.on_time, c.late, c.overdue) == EXPECTED["rectification"][label]

    total = dash.resolution.total
    assert (total.conversations, total.solved_by_bot, total.solved_with_agent) == (7, 2, 1)
    assert total.rate == pytest.approx(3 / 7)
    ratings = dash.ratings.total
    assert (ratings.asked, ratings.answered, ratings.good) == (8, 6, 2)
    assert ratings.good_rate == pytest.approx(2 / 6)  # 好评率 33.3 %
    assert ratings.unrated_rate == pytest.approx(2 / 8)  # 未评价率 25 %
    fixes = dash.rectification.total
    assert fixes.rate == pytest.approx(2 / 3) and fixes.on_time_rate == pytest.approx(1 / 3)
    assert fixes.open == 0

    waits = dash.waits.total
    assert (
        waits.wait_p50,
        waits.wait_p90,
        waits.first_response_p50,
        waits.first_response_p90,
    ) == EXPECTED["waits_total"]
    first_day = dash.waits.by_bucket[dash.buckets[0]]
    assert (
        first_day.wait_p50,
        first_day.wait_p90,
        first_day.first_response_p50,
        first_day.first_response_p90,
    ) == EXPECTED["waits_11_23"]
    assert dash.waits.by_bucket[dash.buckets[2]].wait_p50 == 60.0  # c7 never claimed

    assert dash.handoff_reasons.total == dict(sorted(EXPECTED["reasons_total"].items()))
    assert dash.handoff_reasons.by_bucket[dash.buckets[0]] == {
        "no_progress": 1,
        "not_understood": 1,
    }
    assert dash.cases_by_state == EXPECTED["cases_by_state"]
    assert [(m.text, m.count) for m in dash.least_understood] == EXPECTED["least_understood"]
    assert dash.least_understood[0].kinds == ("fallback",)
    assert dash.channels == ["kiosk", "telegram", "web"]


async def test_a_week_is_one_bucket_with_the_period_s_totals(database_url: str) -> None:
    dash = await _dashboard(database_url, ReportFilter(START, END, Granularity.WEEK))
    assert dash.buckets == [START]  # Monday 23 November
    r = dash.resolution.by_bucket[START]
    assert (r.conversations, r.solved_by_bot, r.solved_with_agent) == (7, 2, 1)


async def test_one_channel(database_url: str) -> None:
    dash = await _dashboard(database_url, ReportFilter(START, END, channel="web"))
    r = dash.resolution.total  # c1 c2 c6 c7; c1 alone, c2 with an agent
    assert (r.conversations, r.solved_by_bot, r.solved_with_agent) == (4, 1, 1)
    g = dash.ratings.total  # r1 5, r2 2, r6 3, r7 —, r10 1
    assert (g.asked, g.answered, g.good) == (5, 4, 1)
    assert dash.handoff_reasons.total == {"emergency": 1, "not_understood": 1, "user_request": 1}
    # Once each on the web (c3's 那个啥来着 was at the kiosk): ties in character order.
    assert [(m.text, m.count) for m in dash.least_understood] == [
        ("我要办那个卡 138****5678", 1),
        ("那个啥来着", 1),
    ]


def test_nearest_rank_percentiles() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    assert percentile([60, 120, 600, 1200], 50) == 120
    assert percentile([60, 120, 600, 1200], 90) == 1200
    assert percentile(list(range(1, 11)), 90) == 9


def test_a_period_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError):
        ReportFilter(END, START)


def _bars(svg: str) -> list[dict[str, str]]:
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        for tag in re.findall(r"<rect class=\"bar\"[^>]*>", svg)
    ]


async def test_tables_charts_and_csv_carry_the_same_numbers(tmp_path: object) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/seed.db"
    view: DashboardView = build(await _dashboard(url, ReportFilter(START, END)))
    charts = {chart.id: chart for chart in view.charts}
    assert list(charts) == [
        "resolution",
        "ratings",
        "rectification",
        "handoffs",
        "waits",
        "cases",
        "missed",
    ]
    resolution = charts["resolution"].table
    assert [row.label for row in resolution.rows] == [*DAYS, "合计"]
    assert resolution.rows[-1].cells[3].text == "42.9%"  # 3 of 7
    assert charts["ratings"].table.rows[-1].cells[3].text == "33.3%"
    assert charts["waits"].table.rows[-1].cells[1].text == "120 秒"

    # Bar heights are proportional to the values on a 0-100 % scale.
    bars = _bars(charts["resolution"].svg)
    by_key = {(b["data-series"], b["data-category"]): b for b in bars}
    full = float(by_key[("助手独立解决", "11-24")]["height"]) / 0.5  # 1 of 2
    assert float(by_key[("助手独立解决", "11-23")]["height"]) == pytest.approx(full / 3, abs=0.02)
    assert float(by_key[("转人工后解决", "11-23")]["height"]) == pytest.approx(full / 3, abs=0.02)
    assert float(by_key[("助手独立解决", "11-25")]["height"]) == 0.0
    assert 'role="img"' in charts["resolution"].svg and "<title" in charts["resolution"].svg

    missed = _bars(charts["missed"].svg)
    assert [(b["data-category"], b["data-value"]) for b in missed] == [
        ("那个啥来着", "2.0"),
        ("嗯嗯啊", "1.0"),
        ("我要办那个卡 138****5678", "1.0"),
    ]

    rows = list(csv.DictReader(io.StringIO(to_csv(view))))
    solved = next(
        r
        for r in rows
        if r["figure"] == "问题解决率" and r["row"] == "合计" and r["column"] == "问题解决率"
    )
    assert float(solved["value"]) == pytest.approx(3 / 7, abs=1e-5)
