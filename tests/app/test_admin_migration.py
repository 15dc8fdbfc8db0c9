"""Migration 0003 (agents.role, task_outcomes, training_candidates) on a database that
already has agents, on SQLite (batch mode) and PostgreSQL: existing accounts become plain
agents, nobody a supervisor; and back down to 0002."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, inspect, text

from bot.store.db import Database, alembic_config

WHEN = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


def _shape(connection: Connection) -> tuple[set[str], set[str]]:
    inspector = inspect(connection)
    return set(inspector.get_table_names()), {c["name"] for c in inspector.get_columns("agents")}


async def test_existing_accounts_become_agents_and_the_way_back(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_migrate, "0002")
            await connection.execute(
                text(
                    "INSERT INTO agents (username, password_hash, active, created_at) "
                    "VALUES ('wangfang', 'x', true, :when)"
                ),
                {"when": WHEN},
            )
            await connection.run_sync(_migrate, "0003")
            tables, columns = await connection.run_sync(_shape)
            roles = (await connection.execute(text("SELECT role FROM agents"))).scalars().all()
        assert {"task_outcomes", "training_candidates"} <= tables
        assert "role" in columns
        assert roles == ["agent"]

        async with database.engine.begin() as connection:
            await connection.run_sync(_migrate, "0002", down=True)
            tables, columns = await connection.run_sync(_shape)
            names = (await connection.execute(text("SELECT username FROM agents"))).scalars().all()
        assert not {"task_outcomes", "training_candidates"} & tables
        assert "role" not in columns
        assert names == ["wangfang"]
    finally:
        await database.dispose()
