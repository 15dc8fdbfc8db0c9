"""The dashboard as the page and the CSV show it: one chart and one table per figure.

The same `TableView` feeds the page's accessible table, the chart's bars and the CSV
export, so what a screen-reader user hears, what a sighted user sees and what a
spreadsheet gets are the same numbers. Tables keep the raw value next to its text
(``value``: a share as 0-1, seconds as seconds) for the CSV and the tests.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

from pydantic import BaseModel

from bot.reports.charts import Series, bar_chart, horizontal_bar_chart
from bot.reports.figures import Dashboard, Granularity, ReportFilter

REASON_LABELS = {
    "user_request": "居民要求转人工",
    "emergency": "紧急情况",
    "complaint": "投诉",
    "not_understood": "听不懂",
    "no_progress": "三次没办成",
}
STATE_LABELS = {
    "open": "待回访",
    "called_back": "已回访",
    "fixed": "已整改",
    "explained": "已解释",
    "closed": "已办结",
}
KIND_LABELS = {"fallback": "没听懂", "handoff": "转了人工", "low_confidence": "没听清"}
TOTAL = "合计"
T = TypeVar("T")


class Cell(BaseModel):
    """One table cell: the text shown and the raw number (None: nothing to count)."""

    text: str
    value: float | None


class Row(BaseModel):
    """One table row: its label (a day, a reason, ...) and one cell per column."""

    label: str
    cells: list[Cell]


class TableView(BaseModel):
    """A figure's numbers as a table."""

    caption: str
    row_header: str
    columns: list[str]
    rows: list[Row]


class ChartView(BaseModel):
    """One figure: a heading, its SVG chart and its table."""

    id: str
    title: str
    note: str
    svg: str
    table: TableView


class DashboardView(BaseModel):
    """What ``GET /api/admin/dashboard`` answers."""

    start: date
    end: date
    granularity: Granularity
    channel: str | None
    channels: list[str]
    charts: list[ChartView]


def bucket_label(bucket: date, granularity: Granularity) -> str:
    """A short label for a bucket: ``12-01`` for a day, ``11-30起`` for the week from it."""
    text = f"{bucket.month:02d}-{bucket.day:02d}"
    return f"{text}起" if granularity is Granularity.WEEK else text


def percent(value: float | None) -> Cell:
    return Cell(text="—" if value is None else f"{value * 100:.1f}%", value=value)


def number(value: float | None) -> Cell:
    return Cell(text="—" if value is None else f"{value:g}", value=value)


def seconds(value: float | None) -> Cell:
    return Cell(text="—" if value is None else f"{value:.0f} 秒", value=value)


def _rows(
    dash: Dashboard, by_bucket: dict[date, T], total: T, cells: Callable[[T], list[Cell]]
) -> list[Row]:
    labels = [bucket_label(b, dash.filter.granularity) for b in dash.buckets]
    rows = [
        Row(label=label, cells=cells(by_bucket[b]))
        for label, b in zip(labels, dash.buckets, strict=True)
    ]
    return [*rows, Row(label=TOTAL, cells=cells(total))]


def _series(table: TableView, columns: Sequence[int], names: Sequence[str]) -> list[Series]:
    """Chart series from table columns, leaving out the total row."""
    body = [row for row in table.rows if row.label != TOTAL]
    return [
        Series(name, [row.cells[col].value for row in body])
        for col, name in zip(columns, names, strict=True)
    ]


def _categories(table: TableView) -> list[str]:
    return [row.label for row in table.rows if row.label != TOTAL]


def build(dash: Dashboard) -> DashboardView:
    """Every chart and table of the dashboard."""
    unit_word = "天" if dash.filter.granularity is Granularity.DAY else "周"
    charts: list[ChartView] = []

    table = TableView(
        caption="问题解决率",
        row_header=unit_word,
        columns=[
            "对话数",
            "助手独立解决",
            "转人工后解决",
            "问题解决率",
            "独立解决率",
            "人工参与解决率",
        ],
        rows=_rows(
            dash,
            dash.resolution.by_bucket,
            dash.resolution.total,
            lambda r: [
                number(r.conversations),
                number(r.solved_by_bot),
                number(r.solved_with_agent),
                percent(r.rate),
                percent(r.solved_by_bot / r.conversations if r.conversations else None),
                percent(r.solved_with_agent / r.conversations if r.conversations else None),
            ],
        ),
    )
    charts.append(
        ChartView(
            id="resolution",
            title="问题解决率",
            note="有居民说话的对话里，事情办成了的比例（助手独立办成 / 转人工后办成）。",
            svg=bar_chart(
                "chart-resolution",
                "问题解决率",
                _categories(table),
                _series(table, [4, 5], ["助手独立解决", "转人工后解决"]),
                unit="%",
            ),
            table=table,
        )
    )

    table = TableView(
        caption="好评率和未评价率",
        row_header=unit_word,
        columns=["邀请评价", "已评价", "好评", "好评率", "未评价率"],
        rows=_rows(
            dash,
            dash.ratings.by_bucket,
            dash.ratings.total,
            lambda r: [
                number(r.asked),
                number(r.answered),
                number(r.good),
                percent(r.good_rate),
                percent(r.unrated_rate),
            ],
        ),
    )
    charts.append(
        ChartView(
            id="ratings",
            title="好评率和未评价率",
            note="好评是非常满意和满意；经申诉复核认定为恶意的评价不算在内。",
            svg=bar_chart(
                "chart-ratings",
                "好评率和未评价率",
                _categories(table),
                _series(table, [3, 4], ["好评率", "未评价率"]),
                unit="%",
            ),
            table=table,
        )
    )

    table = TableView(
        caption="差评整改",
        row_header=unit_word,
        columns=["差评数", "按时整改", "超时整改", "逾期未办", "办理中", "整改率", "按时整改率"],
        rows=_rows(
            dash,
            dash.rectification.by_bucket,
            dash.rectification.total,
            lambda r: [
                number(r.cases),
                number(r.on_time),
                number(r.late),
                number(r.overdue),
                number(r.open),
                percent(r.rate),
                percent(r.on_time_rate),
            ],
        ),
    )
    charts.append(
        ChartView(
            id="rectification",
            title="差评整改率",
            note="按差评的日子算：在整改期限内办好（整改或解释）的算按时。",
            svg=bar_chart(
                "chart-rectification",
                "差评整改",
                _categories(table),
                _series(table, [1, 2, 3], ["按时整改", "超时整改", "逾期未办"]),
            ),
            table=table,
        )
    )

    known = list(REASON_LABELS)
    reasons = known + sorted(set(dash.handoff_reasons.total) - set(known))
    bucket_labels = [bucket_label(b, dash.filter.granularity) for b in dash.buckets]
    table = TableView(
        caption="转人工的原因",
        row_header="原因",
        columns=[*bucket_labels, TOTAL],
        rows=[
            Row(
                label=REASON_LABELS.get(reason, reason),
                cells=[
                    *(
                        number(dash.handoff_reasons.by_bucket[b].get(reason, 0))
                        for b in dash.buckets
                    ),
                    number(dash.handoff_reasons.total.get(reason, 0)),
                ],
            )
            for reason in reasons
        ],
    )
    charts.append(
        ChartView(
            id="handoffs",
            title="转人工的原因",
            note="这段时间里每种原因转人工的次数。",
            svg=bar_chart(
                "chart-handoffs",
                "转人工的原因",
                [row.label for row in table.rows],
                [Series("次数", [row.cells[-1].value for row in table.rows])],
            ),
            table=table,
        )
    )

    table = TableView(
        caption="等待时间和首次响应时间（秒）",
        row_header=unit_word,
        columns=["接入次数", "等待 p50", "等待 p90", "已回复次数", "首次响应 p50", "首次响应 p90"],
        rows=_rows(
            dash,
            dash.waits.by_bucket,
            dash.waits.total,
            lambda w: [
                number(w.waited),
                seconds(w.wait_p50),
                seconds(w.wait_p90),
                number(w.answered),
                seconds(w.first_response_p50),
                seconds(w.first_response_p90),
            ],
        ),
    )
    charts.append(
        ChartView(
            id="waits",
            title="等待时间和首次响应时间",
            note=(
                "等待：从排队到工作人员接手；首次响应：从排队到工作人员第一句话。"
                "p50 是一半人不超过的时间，p90 是九成人不超过的时间。"
            ),
            svg=bar_chart(
                "chart-waits",
                "等待时间和首次响应时间（秒）",
                _categories(table),
                _series(
                    table, [1, 2, 4, 5], ["等待 p50", "等待 p90", "首次响应 p50", "首次响应 p90"]
                ),
                unit="秒",
            ),
            table=table,
        )
    )

    table = TableView(
        caption="差评必改工单状态",
        row_header="状态",
        columns=["工单数"],
        rows=[
            Row(label=STATE_LABELS.get(state, state), cells=[number(count)])
            for state, count in dash.cases_by_state.items()
        ],
    )
    charts.append(
        ChartView(
            id="cases",
            title="差评必改工单状态",
            note="这段时间开出的工单现在处在哪一步。",
            svg=bar_chart(
                "chart-cases",
                "差评必改工单状态",
                [row.label for row in table.rows],
                [Series("工单数", [row.cells[0].value for row in table.rows])],
            ),
            table=table,
        )
    )

    table = TableView(
        caption="最没听懂的话（已隐去号码）",
        row_header="居民说的话",
        columns=["次数", "情况"],
        rows=[
            Row(
                label=missed.text,
                cells=[
                    number(missed.count),
                    Cell(text="、".join(KIND_LABELS.get(k, k) for k in missed.kinds), value=None),
                ],
            )
            for missed in dash.least_understood
        ],
    )
    charts.append(
        ChartView(
            id="missed",
            title="最没听懂的话",
            note="助手没听懂、转了人工或没听清的话，次数最多的在前。",
            svg=horizontal_bar_chart(
                "chart-missed",
                "最没听懂的话",
                [m.text for m in dash.least_understood],
                [float(m.count) for m in dash.least_understood],
            ),
            table=table,
        )
    )

    flt: ReportFilter = dash.filter
    return DashboardView(
        start=flt.start,
        end=flt.end,
        granularity=flt.granularity,
        channel=flt.channel,
        channels=dash.channels,
        charts=charts,
    )


def to_csv(view: DashboardView) -> str:
    """Every table as long rows: figure, row, column, value (raw number), text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["figure", "row", "column", "value", "text"])
    for chart in view.charts:
        for row in chart.table.rows:
            for column, cell in zip(chart.table.columns, row.cells, strict=True):
                value = "" if cell.value is None else f"{cell.value:g}"
                writer.writerow(
                    [chart.table.caption, _safe(row.label), column, value, _safe(cell.text)]
                )
    return out.getvalue()


def _safe(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (a resident's words are in here)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
