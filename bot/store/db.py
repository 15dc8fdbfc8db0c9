"""The gateway's database: engine, transactions, and Alembic migrations.

SQLite (one machine, the default at ``var/gateway.db``) and PostgreSQL (scale-out) are
both first-class: every query is written for both, and the tests run on both.

SQLite needs three settings to behave under concurrent async writers: WAL (readers do
not block the writer), a busy timeout (writers queue instead of failing), and
``BEGIN IMMEDIATE`` for `transaction()` (it takes the write lock when it starts, so two
read-then-write transactions cannot deadlock on the lock upgrade, which a busy timeout
does not resolve). `read()` sessions begin DEFERRED and never write, so they run
alongside the writer instead of queueing for its lock. Writers of this process also
queue on an `asyncio.Lock` before they begin: SQLite's busy handler waits by sleeping
(up to 100 ms a time), so a freed lock would sit idle while waiters sleep; the asyncio
queue hands it over at once. Other processes (the CLI) still meet the busy timeout.

``python -m bot.store.db upgrade`` applies the migrations (the gateway also does at start-up).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.privacy.log_redaction import quiet_user_text_loggers
from bot.settings import PROJECT_ROOT, get_settings

logger = logging.getLogger(__name__)

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"
SQLITE_BUSY_TIMEOUT_S = 30
# Execution option naming the SQLite BEGIN mode of a session's transactions.
_BEGIN_OPTION = "sqlite_begin"


class Database:
    """One engine and its session factory; built by the composition root or a CLI."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: AsyncEngine = _create_engine(url)
        self._writers = async_sessionmaker(self.engine, expire_on_commit=False)
        self._readers = async_sessionmaker(
            self.engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}), expire_on_commit=False
        )
        # PostgreSQL has row locks and many writers; only SQLite needs writers in line.
        self._write_turn = asyncio.Lock() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: the few queries that differ branch on this."""
        return self.engine.dialect.name

    def safe_url(self) -> str:
        """The URL without its password, for logs."""
        return make_url(self.url).render_as_string(hide_password=True)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed on success, rolled back on error.

        Never open a second transaction while one is open in the same task.
        """
        async with contextlib.AsyncExitStack() as stack:
            if self._write_turn is not None:
                await stack.enter_async_context(self._write_turn)
            session = await stack.enter_async_context(self._writers.begin())
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only (one consistent snapshot); never write through it."""
        async with self._readers() as session:
            yield session

    async def upgrade(self) -> None:
        """Apply every pending migration; idempotent, so safe at each start-up."""
        async with self.engine.begin() as connection:
            await connection.run_sync(_upgrade_with_connection)
        logger.info("database ready at %s", self.safe_url())

    async def dispose(self) -> None:
        """Close every pooled connection (end of the app's lifespan)."""
        await self.engine.dispose()


def _create_engine(url: str) -> AsyncEngine:
    """Build the engine; the SQLite file's folder is created so a fresh checkout works.

    SQL parameters are what users said (names, ID numbers): ``hide_parameters`` keeps
    them out of SQLAlchemy's logs and exception texts, and aiosqlite, which logs every
    call with its arguments at DEBUG, is held at INFO.
    """
    quiet_user_text_loggers()
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, hide_parameters=True
    )
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Take BEGIN out of the driver's hands (it would defer it); `_sqlite_on_begin` emits it.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


def alembic_config() -> Config:
    """The project's Alembic configuration, independent of the current directory."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(Path(__file__).resolve().parent / "migrations"))
    return config


def _upgrade_with_connection(connection: Connection) -> None:
    """Run Alembic on a connection we already hold (env.py uses it instead of a URL)."""
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(url: str) -> None:
    """Migrate the database at `url` to the newest schema."""
    database = Database(url)
    try:
        await database.upgrade()
    finally:
        await database.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.store.db upgrade``: migrate the database named by DATABASE_URL."""
    parser = argparse.ArgumentParser(
        prog="python -m bot.store.db", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["upgrade"], help="apply pending migrations")
    parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(upgrade(get_settings().database_url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
