"""The social-security registry: who is entitled to a pension and when they last certified.

A small typed interface (`Registry`) with an embedded SQLite implementation seeded from a
committed file (`actions/data/residents.csv`, made by `scripts/make_residents.py`); a real
deployment puts the HTTP client of `actions.registry_http` behind the same interface.
`registry_from_settings` chooses between them.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from actions.cycle import CycleSettings
from actions.settings import ActionSettings
from nlu.id_card import mask_id_number
from nlu.name_sound import NameMatch, match_name

logger = logging.getLogger(__name__)


RECEIVING = "receiving"
SUSPENDED = "suspended"


class RegistryUnavailable(Exception):
    """The registry could not be asked; the request must be kept and retried later."""


@dataclass(frozen=True)
class Resident:
    # Personal data stays out of reprs, so a logged object never leaks it.
    id_number: str = field(repr=False)
    name: str = field(repr=False)
    district: str
    pension_status: str  # "receiving" or "suspended" (暂停发放, the cycle ran out)
    last_certified: date | None

    @property
    def suspended(self) -> bool:
        return self.pension_status == SUSPENDED

    def certified_in(self, year: int) -> bool:
        return self.last_certified is not None and self.last_certified.year == year


@dataclass(frozen=True)
class Assistance:
    """Someone else started the authentication for the resident (帮他人认证).

    The registry records who helped (their relation, not their identity) and that the
    resident confirmed in their own words at the same channel.
    """

    relation: str  # 子女 / 配偶 / 亲属 / 邻居 / 志愿者 / 社工
    resident_confirmed: bool = True


@dataclass(frozen=True)
class Verification:
    """Who the registry has under an ID number, and how the name given compares.

    A match by sound (王贵兰 for 王桂兰) is not a match yet: the resident must confirm the
    registered characters first, and only someone whose answer already sounded like the
    registered name may hear it.
    """

    resident: Resident | None
    name_match: NameMatch


def verification(resident: Resident | None, name: str) -> Verification:
    """Compare the name given with the registered one (shared by every registry)."""
    if resident is None:
        return Verification(None, NameMatch.NO)
    return Verification(resident, match_name(resident.name, name))


def refusal(
    resident: Resident | None,
    name: str,
    year: int,
    sound_confirmed: bool = False,
    *,
    on: date | None = None,
    cycle: CycleSettings | None = None,
) -> str | None:
    """Why a certification must not be recorded, or ``None`` if it may.

    The reasons are the values of the ``auth_result`` slot, so the kiosk and the pending
    store (which completes requests later) apply the same rules. ``sound_confirmed``: the
    resident said yes to the registered characters of a name that matched by sound.
    Given the day (``on``), the region's cycle decides whether it is too early
    (``already_certified``); without it, a certification in ``year`` does.
    """
    if resident is None:
        return "not_found"
    match = match_name(resident.name, name)
    if match is NameMatch.NO or (match is NameMatch.BY_SOUND and not sound_confirmed):
        return "name_mismatch"
    if on is not None:
        rules = cycle or CycleSettings()
        if not rules.cycle(resident.last_certified, resident.district, on).may_authenticate:
            return "already_certified"
    elif resident.certified_in(year):
        return "already_certified"
    return None


class Registry(Protocol):
    async def find(self, id_number: str) -> Resident | None: ...

    async def verify(self, id_number: str, name: str) -> Verification:
        """The resident and how ``name`` matched theirs: exact, by sound, or not."""
        ...

    async def record_certification(
        self, id_number: str, when: datetime, assisted: Assistance | None = None
    ) -> None:
        """Record it; payment suspended for a missed cycle resumes (pension_status receiving).

        ``assisted``: a helper started it and the resident confirmed (recorded with it).
        """
        ...

    async def close(self) -> None:
        """Release connections (the action server and `python -m actions.pending` at exit)."""
        ...


def registry_from_settings(settings: ActionSettings) -> Registry:
    """The HTTP registry when ``REGISTRY_URL`` is set, else the embedded SQLite one."""
    if settings.registry_url:
        # Imported here: the HTTP client imports this module for the interface.
        from actions.registry_http import HttpRegistry

        return HttpRegistry(settings.registry_url, settings.registry_token, settings.registry_http)
    return SqliteRegistry(settings.registry_db, settings.residents_seed)


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
CREATE TABLE IF NOT EXISTS assisted_certifications (
    id_number TEXT NOT NULL REFERENCES residents(id_number),
    certified_at TEXT NOT NULL,
    helper_relation TEXT NOT NULL,
    resident_confirmed INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class SeedRow:
    """A resident of the seed file with the certifications it implies."""

    resident: tuple[str, str, str, str]
    certified_at: tuple[str, ...]


def _seed_rows(seed_file: Path, today: date) -> list[SeedRow]:
    rows: list[SeedRow] = []
    with seed_file.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            certified_at: list[str] = []
            if row["last_certified"]:
                certified_at.append(f"{row['last_certified']}T09:30:00")
            if row["certified_this_year"] == "yes":
                # Early in the year, but never in the future.
                when = min(today, date(today.year, 3, 15))
                certified_at.append(f"{when.isoformat()}T09:30:00")
            resident = (row["id_number"], row["name"], row["district"], row["pension_status"])
            rows.append(SeedRow(resident, tuple(certified_at)))
    return rows


def _seed(connection: sqlite3.Connection, seed_file: Path, today: date) -> int:
    """Add the seed file's residents the database does not have yet; return how many.

    Safe to run on every start, by several processes at once: a resident already there
    (and every certification recorded since) is left alone, so nothing recorded is lost
    and a longer seed file only adds residents.
    """
    rows = _seed_rows(seed_file, today)
    added = 0
    with connection:  # one transaction; BEGIN IMMEDIATE serialises concurrent seeders
        connection.execute("BEGIN IMMEDIATE")
        for row in rows:
            inserted = connection.execute(
                "INSERT OR IGNORE INTO residents VALUES (?, ?, ?, ?)", row.resident
            ).rowcount
            if inserted:
                connection.executemany(
                    "INSERT INTO certifications VALUES (?, ?)",
                    [(row.resident[0], when) for when in row.certified_at],
                )
                added += 1
    return added


class SqliteRegistry:
    """The embedded registry, one SQLite file; created and seeded on first use."""

    def __init__(self, db_path: Path, seed_file: Path) -> None:
        self._db_path = db_path
        self._seed_file = seed_file
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self._db_path, timeout=5)
        if not self._ready:
            connection.executescript(_SCHEMA)
            added = _seed(connection, self._seed_file, date.today())
            if added:
                logger.info("registry seeded with %d residents", added)
            self._ready = True
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits (or rolls back) and is closed afterwards."""
        with closing(self._connect()) as connection, connection:
            yield connection

    def _find(self, id_number: str) -> Resident | None:
        with self._transaction() as connection:
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

    def _record(self, id_number: str, when: datetime, assisted: Assistance | None) -> None:
        at = when.isoformat(timespec="seconds")
        with self._transaction() as connection:
            connection.execute("INSERT INTO certifications VALUES (?, ?)", (id_number, at))
            if assisted is not None:
                connection.execute(
                    "INSERT INTO assisted_certifications VALUES (?, ?, ?, ?)",
                    (id_number, at, assisted.relation, int(assisted.resident_confirmed)),
                )
            # Payment resumes from the next month, the missed months paid (补发).
            connection.execute(
                "UPDATE residents SET pension_status = ? WHERE id_number = ?",
                (RECEIVING, id_number),
            )
        logger.info("certification recorded for %s", mask_id_number(id_number))

    async def find(self, id_number: str) -> Resident | None:
        try:
            return await asyncio.to_thread(self._find, id_number)
        except (sqlite3.Error, OSError) as err:
            raise RegistryUnavailable(f"registry database: {err}") from err

    async def verify(self, id_number: str, name: str) -> Verification:
        return verification(await self.find(id_number), name)

    async def record_certification(
        self, id_number: str, when: datetime, assisted: Assistance | None = None
    ) -> None:
        try:
            await asyncio.to_thread(self._record, id_number, when, assisted)
        except (sqlite3.Error, OSError) as err:
            raise RegistryUnavailable(f"registry database: {err}") from err

    async def close(self) -> None:
        """Nothing to release: every call opens and closes its own connection."""
