"""Migration 0005 (residents, reminders, job leases) up and down on SQLite and PostgreSQL,
on a database that already has a conversation: it keeps it, and downgrading drops only
the new tables."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, insert, inspect, select

from bot.store.db import Database, alembic_config
from bot.store.models import Conversation

WHEN = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
NEW_TABLES = {"residents", "resident_senders", "reminder_optouts", "reminders_sent", "job_leases"}


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_0005_up_and_down_keeps_conversations(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_migrate, "0004")
            assert not NEW_TABLES & await connection.run_sync(_tables)
            await connection.execute(
                insert(Conversation).values(
                    id=1,
                    sender_id="tg-1",
                    channel="telegram",
                    profile={},
                    created_at=WHEN,
                    updated_at=WHEN,
                )
            )
        await database.upgrade()
        async with database.engine.begin() as connection:
            assert await connection.run_sync(_tables) >= NEW_TABLES
            await connection.run_sync(_migrate, "0004", down=True)
            assert not NEW_TABLES & await connection.run_sync(_tables)
        async with database.read() as session:
            assert list(await session.scalars(select(Conversation.sender_id))) == ["tg-1"]
    finally:
        await database.dispose()
