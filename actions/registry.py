"""The social-security registry: who is entitled to a pension and when they last certified.

A small typed interface (`Registry`) with an embedded SQLite implementation seeded from a
committed file; a real deployment puts an HTTP client to the registry behind the same
interface.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from nlu.id_card import mask_id_number

logger = logging.getLogger(__name__)


class RegistryUnavailable(Exception):
    """The registry could not be asked; the request must be kept and retried later."""


@dataclass(frozen=True)
class Resident:
    id_number: str
    name: str
    district: str
    pension_status: str
    last_certified: date | None


class Registry(Protocol):
    async def find(self, id_number: str) -> Resident | None: ...

    async def record_certification(self, id_number: str, when: datetime) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS residents (
    id_number TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    district TEXT NOT NULL,
    pension_status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS certifications (
    id_number TEXT NOT NULL REFERENCES residents(id_number),
    certified_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS certifications_by_id ON certifications(id_number);
"""


def _seed_rows(seed_file: Path, today: date) -> tuple[list[tuple[str, ...]], list[tuple[str, str]]]:
    residents: list[tuple[str, ...]] = []
    certifications: list[tuple[str, str]] = []
    with seed_file.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            residents.append(
                (row["id_number"], row["name"], row["district"], row["pension_status"])
            )
            if row["certified_this_year"] == "yes":
                # Early in the year, but never in the future.
                when = min(today, date(today.year, 3, 15))
                certifications.append((row["id_number"], f"{when.isoformat()}T09:30:00"))
            elif row["last_certified"]:
                certifications.append((row["id_number"], f"{row['last_certified']}T09:30:00"))
    return residents, certifications


class SqliteRegistry:
    """The embedded registry, one SQLite file; seeded on first use."""

    def __init__(self, db_path: Path, seed_file: Path) -> None:
        self._db_path = db_path
        self._seed_file = seed_file
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._db_path, timeout=10)
        if not self._ready:
            connection.executescript(_SCHEMA)
            if connection.execute("SELECT COUNT(*) FROM residents").fetchone()[0] == 0:
                residents, certifications = _seed_rows(self._seed_file, date.today())
                connection.executemany("INSERT INTO residents VALUES (?, ?, ?, ?)", residents)
                connection.executemany("INSERT INTO certifications VALUES (?, ?)", certifications)
                connection.commit()
                logger.info("registry seeded with %d residents", len(residents))
            self._ready = True
        return connection

    def _find(self, id_number: str) -> Resident | None:
        with self._connect() as connection:
            row = connection.execute(
                "SELECT r.id_number, r.name, r.district, r.pension_status, MAX(c.certified_at) "
                "FROM residents r LEFT JOIN certifications c ON c.id_number = r.id_number "
                "WHERE r.id_number = ? GROUP BY r.id_number",
                (id_number,),
            ).fetchone()
        if row is None:
            return None
        last = datetime.fromisoformat(row[4]).date() if row[4] else None
        return Resident(row[0], row[1], row[2], row[3], last)

    def _record(self, id_number: str, when: datetime) -> None:
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO certifications VALUES (?, ?)",
                (id_number, when.isoformat(timespec="seconds")),
            )
        logger.info("certification recorded for %s", mask_id_number(id_number))

    async def find(self, id_number: str) -> Resident | None:
        try:
            return await asyncio.to_thread(self._find, id_number)
        except sqlite3.Error as err:
            raise RegistryUnavailable(str(err)) from err

    async def record_certification(self, id_number: str, when: datetime) -> None:
        try:
            await asyncio.to_thread(self._record, id_number, when)
        except sqlite3.Error as err:
            raise RegistryUnavailable(str(err)) from err
