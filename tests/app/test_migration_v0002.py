"""Migration 0002 (``messages.client_message_id`` + its unique index) on a database that
already has conversations and turns, on SQLite (batch mode) and PostgreSQL; and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Connection, insert, inspect, select
from sqlalchemy.exc import IntegrityError

from bot.store.db import Database, alembic_config
from bot.store.models import Conversation, Message

WHEN = datetime(2025, 11, 28, 9, 30, tzinfo=UTC)


def _migrate(connection: Connection, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


def _message_columns(connection: Connection) -> tuple[set[str], set[str]]:
    inspector = inspect(connection)
    columns = {column["name"] for column in inspector.get_columns("messages")}
    indexes = {str(index["name"]) for index in inspector.get_indexes("messages")}
    return columns, indexes


async def test_upgrade_from_0001_keeps_the_transcript(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_migrate, "0001")
            # Core inserts name only v0001's columns, as a gateway of that version wrote.
            await connection.execute(
                insert(Conversation).values(
                    id=1,
                    sender_id="web-old",
                    channel="web",
                    profile={"screen_reader": True},
                    created_at=WHEN,
                    updated_at=WHEN,
                )
            )
            for role, text in (("user", "你好"), ("bot", "您好"), ("user", "你好")):
                await connection.execute(
                    insert(Message).values(
                        conversation_id=1, role=role, text=text, channel="web", created_at=WHEN
                    )
                )
            columns, _ = await connection.run_sync(_message_columns)
            assert "client_message_id" not in columns

        await database.upgrade()

        async with database.engine.connect() as connection:
            columns, indexes = await connection.run_sync(_message_columns)
        assert "client_message_id" in columns
        assert "uq_messages_client_message_id" in indexes
        async with database.read() as session:
            rows = list(await session.scalars(select(Message).order_by(Message.id)))
        assert [(r.role, r.text, r.client_message_id) for r in rows] == [
            ("user", "你好", None),
            ("bot", "您好", None),
            ("user", "你好", None),
        ]
        assert all(r.created_at == WHEN for r in rows)

        # The index is live: a new id once is fine, twice in one conversation is not.
        async with database.transaction() as session:
            session.add(
                Message(
                    conversation_id=1,
                    role="user",
                    text="新的",
                    channel="web",
                    client_message_id="abc",
                )
            )
        duplicate = Message(
            conversation_id=1, role="user", text="新的", channel="web", client_message_id="abc"
        )
        with pytest.raises(IntegrityError):
            async with database.transaction() as session:
                session.add(duplicate)

        # And back: the column goes, the turns stay.
        async with database.engine.begin() as connection:
            await connection.run_sync(_migrate, "0001", down=True)
            columns, indexes = await connection.run_sync(_message_columns)
            count = len((await connection.execute(select(Message.id))).all())
        assert "client_message_id" not in columns
        assert "uq_messages_client_message_id" not in indexes
        assert count == 4
    finally:
        await database.dispose()
