"""Settled pending requests keep no ID number and no name (issue 13.4), only what counts need."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

from actions.pending import PendingStore
from actions.registry import SqliteRegistry
from actions.settings import DATA_DIR

SEED = DATA_DIR / "residents.csv"
WANG = ("110105194910010031", "王桂兰")
LI = ("310104195203150049", "李建国")
CHEN = ("51010719450208002X", "陈秀英")
UNKNOWN = ("110108195001010011", "张三")


def rows(db: Path) -> list[tuple[str, str, str | None, int]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT id_number, name, outcome, attempts FROM pending_certifications ORDER BY id"
        ).fetchall()


async def test_settled_requests_keep_outcome_and_times_but_not_who(tmp_path: Path) -> None:
    db = tmp_path / "pending.sqlite3"
    store = PendingStore(db)
    asked = datetime.now().replace(microsecond=0)
    for person in (WANG, LI, UNKNOWN):
        store.keep(*person, asked)

    assert await store.complete_pending(SqliteRegistry(tmp_path / "r.sqlite3", SEED)) == 3
    store.keep(*CHEN, asked)  # still waiting: it needs both to be completed later

    assert rows(db) == [
        ("", "", "certified", 0),
        ("", "", "already_certified", 0),
        ("", "", "not_found", 0),
        (*CHEN, None, 0),
    ]
    with sqlite3.connect(db) as connection:
        counts = connection.execute(
            "SELECT outcome, count(*), min(requested_at) FROM pending_certifications "
            "WHERE settled_at IS NOT NULL GROUP BY outcome ORDER BY outcome"
        ).fetchall()
    iso = asked.isoformat(timespec="seconds")
    assert counts == [("already_certified", 1, iso), ("certified", 1, iso), ("not_found", 1, iso)]
    # Not left behind in the file's free space either.
    raw = db.read_bytes()
    for id_number, name in (WANG, LI, UNKNOWN):
        assert id_number.encode() not in raw and name.encode() not in raw
    assert [p.id_number for p in store.pending()] == [CHEN[0]]


def test_rows_settled_before_the_rule_are_blanked_at_the_next_write(tmp_path: Path) -> None:
    db = tmp_path / "pending.sqlite3"
    store = PendingStore(db)
    store.pending()  # creates the schema
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO pending_certifications (id_number, name, requested_at, outcome, "
            "settled_at) VALUES (?, ?, '2026-01-05T09:00:00', 'certified', '2026-01-05T10:00:00')",
            WANG,
        )

    store.keep(*CHEN, datetime.now())

    assert rows(db) == [("", "", "certified", 0), (*CHEN, None, 0)]


async def test_kept_requests_follow_the_cycle_like_the_kiosk(tmp_path: Path) -> None:
    """A request kept while the registry was down is settled by the same cycle rule.

    王桂兰 last authenticated on 2025-10-08 (a rolling-12-month district): asked on
    2026-03-01 she is early in her cycle, although it is a new calendar year.
    """
    from actions.cycle import CycleSettings

    registry = SqliteRegistry(tmp_path / "registry.sqlite3", DATA_DIR / "residents.csv")
    store = PendingStore(tmp_path / "pending.sqlite3")
    store.keep("110105194910010031", "王桂兰", datetime(2026, 3, 1, 9, 0))
    rolling = CycleSettings.parse("rolling_12_months", "")
    assert await store.complete_pending(registry, rolling) == 1
    with sqlite3.connect(tmp_path / "pending.sqlite3") as connection:
        (outcome,) = connection.execute("SELECT outcome FROM pending_certifications").fetchone()
    assert outcome == "already_certified"
    resident = await registry.find("110105194910010031")
    assert resident is not None and resident.last_certified is not None
    assert resident.last_certified.year == 2025, "nothing recorded"


async def test_settled_requests_go_after_the_retention_period_waiting_ones_stay(
    tmp_path: Path,
) -> None:
    db = tmp_path / "pending.sqlite3"
    store = PendingStore(db, retention_days=180)
    asked = datetime.now().replace(microsecond=0)
    store.keep(*WANG, asked)
    assert await store.complete_pending(SqliteRegistry(tmp_path / "r.sqlite3", SEED)) == 1
    store.keep(*CHEN, asked)  # waiting for the registry
    assert store.purge(datetime.now() + timedelta(days=179)) == 0
    assert store.purge(datetime.now() + timedelta(days=181)) == 1
    assert [row[2] for row in rows(db)] == [None]  # the waiting request is kept


async def test_a_helpers_request_keeps_the_relation_until_it_is_recorded(tmp_path: Path) -> None:
    store = PendingStore(tmp_path / "pending.sqlite3")
    store.keep(*WANG, datetime.now(), helper_relation="子女")
    assert [request.helper_relation for request in store.pending()] == ["子女"]
    registry = SqliteRegistry(tmp_path / "r.sqlite3", SEED)
    assert await store.complete_pending(registry) == 1
    with sqlite3.connect(tmp_path / "r.sqlite3") as connection:
        recorded = connection.execute(
            "SELECT id_number, helper_relation FROM assisted_certifications"
        ).fetchall()
    assert recorded == [(WANG[0], "子女")]
