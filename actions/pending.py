"""Certification requests the registry could not take, kept until it can.

When the registry is down the kiosk still tells the resident their request is noted; `keep`
is what makes that true. `complete_pending` later verifies and records each kept request
under the kiosk's rules (`actions.registry.refusal`) and settles it, so it is never done
twice. An operator or a timer runs it (engine env, from the repository root):

    python -m actions.pending          # complete what the registry now accepts
    python -m actions.pending --list   # what is waiting (ID numbers masked)

The exit status is 0 when nothing is left waiting, 1 when the registry is still down.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from actions.cycle import CycleSettings
from actions.registry import (
    Assistance,
    Registry,
    RegistryUnavailable,
    refusal,
    registry_from_settings,
)
from actions.settings import ActionSettings
from nlu.id_card import mask_id_number

logger = logging.getLogger(__name__)

CERTIFIED = "certified"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_certifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    id_number TEXT NOT NULL,
    name TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    -- NULL while waiting; then certified, already_certified, not_found or name_mismatch
    outcome TEXT,
    settled_at TEXT
);
CREATE INDEX IF NOT EXISTS pending_waiting ON pending_certifications(outcome, id);
"""

# Requests made by a helper (帮他人认证) keep the helper's relation, recorded with them.
_ADD_RELATION = "ALTER TABLE pending_certifications ADD COLUMN helper_relation TEXT"

# A settled request keeps only what counts need (when asked, attempts, outcome, when
# settled): the ID number and the name are blanked as it is settled. Run by every write,
# so rows settled before this rule existed are blanked too.
_FORGET_SETTLED = (
    "UPDATE pending_certifications SET id_number = '', name = '' "
    "WHERE outcome IS NOT NULL AND (id_number != '' OR name != '')"
)


@dataclass(frozen=True)
class PendingRequest:
    """A certification request still waiting for the registry."""

    id: int
    id_number: str = field(repr=False)
    name: str = field(repr=False)
    requested_at: datetime
    attempts: int  # runs of `complete_pending` that found the registry down
    helper_relation: str | None = None  # started by a helper; the resident confirmed


class PendingStore:
    """The waiting requests, one SQLite file (``PENDING_DB``, default var/pending.sqlite3).

    Settled requests stay as rows for counts, without the ID number and the name, for
    ``retention_days``; then they are deleted.
    """

    def __init__(self, db_path: Path, retention_days: int = 180) -> None:
        self._db_path = db_path
        self._retention = timedelta(days=retention_days)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db_path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self._db_path, timeout=5)) as connection:
            # Blanked values are overwritten with zeros in the file, not left in free pages.
            connection.execute("PRAGMA secure_delete = ON")
            connection.executescript(_SCHEMA)
            columns = {
                row[1] for row in connection.execute("PRAGMA table_info(pending_certifications)")
            }
            if "helper_relation" not in columns:
                connection.execute(_ADD_RELATION)
            with connection:
                yield connection

    def purge(self, now: datetime | None = None) -> int:
        """Delete requests settled longer ago than the retention period; return how many."""
        cutoff = (now or datetime.now()) - self._retention
        with self._transaction() as connection:
            deleted = connection.execute(
                "DELETE FROM pending_certifications WHERE outcome IS NOT NULL AND settled_at < ?",
                (cutoff.isoformat(timespec="seconds"),),
            ).rowcount
        if deleted:
            logger.info("%d settled request(s) past the retention period deleted", deleted)
        return deleted

    def keep(
        self,
        id_number: str,
        name: str,
        requested_at: datetime,
        helper_relation: str | None = None,
    ) -> None:
        """Keep a request; the same person asking again while it waits adds nothing."""
        with self._transaction() as connection:
            waiting = connection.execute(
                "SELECT 1 FROM pending_certifications "
                "WHERE outcome IS NULL AND id_number = ? AND name = ?",
                (id_number, name),
            ).fetchone()
            if waiting is None:
                connection.execute(
                    "INSERT INTO pending_certifications "
                    "(id_number, name, requested_at, helper_relation) VALUES (?, ?, ?, ?)",
                    (id_number, name, requested_at.isoformat(timespec="seconds"), helper_relation),
                )
            connection.execute(_FORGET_SETTLED)
        logger.info(
            "certification of %s kept until the registry is back", mask_id_number(id_number)
        )

    def pending(self) -> list[PendingRequest]:
        """The waiting requests, oldest first."""
        with self._transaction() as connection:
            rows = connection.execute(
                "SELECT id, id_number, name, requested_at, attempts, helper_relation "
                "FROM pending_certifications WHERE outcome IS NULL ORDER BY id"
            ).fetchall()
        return [
            PendingRequest(row[0], row[1], row[2], datetime.fromisoformat(row[3]), row[4], row[5])
            for row in rows
        ]

    def _settle(self, request: PendingRequest, outcome: str) -> None:
        with self._transaction() as connection:
            connection.execute(
                "UPDATE pending_certifications SET outcome = ?, settled_at = ? WHERE id = ?",
                (outcome, datetime.now().isoformat(timespec="seconds"), request.id),
            )
            connection.execute(_FORGET_SETTLED)

    def _count_attempt(self, request: PendingRequest) -> None:
        with self._transaction() as connection:
            connection.execute(
                "UPDATE pending_certifications SET attempts = attempts + 1 WHERE id = ?",
                (request.id,),
            )

    async def complete_pending(self, registry: Registry, cycle: CycleSettings | None = None) -> int:
        """Verify and record the waiting requests; return how many were settled.

        A request is certified at the time the resident asked, and "already certified"
        means too early in the cycle on the day they asked (the kiosk's rule; without
        ``cycle``, in the year they asked). Not found and name mismatch are settled too (a
        member of staff follows those up). Stops at the first `RegistryUnavailable`: the
        rest wait for the next run.
        """
        settled = 0
        for request in self.pending():
            masked = mask_id_number(request.id_number)
            try:
                resident = await registry.find(request.id_number)
                asked = request.requested_at
                reason = refusal(resident, request.name, asked.year, on=asked.date(), cycle=cycle)
                if reason is None:
                    helped = request.helper_relation
                    await registry.record_certification(
                        request.id_number,
                        request.requested_at,
                        Assistance(helped) if helped else None,
                    )
            except RegistryUnavailable as err:
                self._count_attempt(request)
                logger.warning("registry still unavailable at %s: %s", masked, err)
                break
            outcome = reason or CERTIFIED
            self._settle(request, outcome)
            logger.info("kept certification of %s: %s", masked, outcome)
            settled += 1
        self.purge()
        return settled


def default_store() -> PendingStore:
    settings = ActionSettings.from_env()
    return PendingStore(settings.pending_db, settings.retention_days)


def keep(
    id_number: str, name: str, requested_at: datetime, helper_relation: str | None = None
) -> None:
    """Keep a certification the registry could not take (called by the kiosk action).

    Never raises: the resident is mid-conversation. A store that cannot be written is
    logged as an error, with the ID number masked, for staff to act on.
    """
    try:
        default_store().keep(id_number, name, requested_at, helper_relation)
    except (sqlite3.Error, OSError) as err:
        logger.error("could not keep the certification of %s: %s", mask_id_number(id_number), err)


def pending() -> list[PendingRequest]:
    return default_store().pending()


async def complete_pending(registry: Registry, cycle: CycleSettings | None = None) -> int:
    return await default_store().complete_pending(registry, cycle)


async def _complete(settings: ActionSettings, store: PendingStore) -> int:
    registry = registry_from_settings(settings)
    try:
        settled = await store.complete_pending(registry, settings.auth_cycle)
    finally:
        await registry.close()
    left = len(store.pending())
    logger.info("%d kept certification(s) settled, %d still waiting", settled, left)
    return 0 if left == 0 else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Complete certifications kept while down.")
    parser.add_argument("--list", action="store_true", help="only show what is waiting")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = ActionSettings.from_env()
    store = PendingStore(settings.pending_db, settings.retention_days)
    if args.list:
        for request in store.pending():
            logger.info(
                "waiting: %s requested %s, %d attempt(s)",
                mask_id_number(request.id_number),
                request.requested_at.isoformat(sep=" "),
                request.attempts,
            )
        return 0
    return asyncio.run(_complete(settings, store))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
