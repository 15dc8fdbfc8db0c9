"""Database settings and schema: URLs, migrations matching the models, aware UTC times."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from pydantic import ValidationError
from sqlalchemy import select

from bot.messages import UserMessage
from bot.settings import DEFAULT_DATABASE_URL, PROJECT_ROOT, Settings, get_settings
from bot.store.db import Database
from bot.store.models import Base, Conversation
from bot.store.transcript import ensure_conversation

pytestmark = pytest.mark.usefixtures("clean_env")


def test_default_is_sqlite_in_var(tmp_path: Path) -> None:
    settings = Settings(rasa_token_file=tmp_path / "absent")
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'gateway.db'}" == DEFAULT_DATABASE_URL


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db/gw", "postgresql+asyncpg://u:p@db/gw"),
        ("postgres://u:p@db/gw", "postgresql+asyncpg://u:p@db/gw"),
        ("postgresql+asyncpg://u:p@db/gw", "postgresql+asyncpg://u:p@db/gw"),
        ("sqlite:////srv/gw.db", "sqlite+aiosqlite:////srv/gw.db"),
    ],
)
def test_database_url_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, given: str, used: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    settings = get_settings()
    assert settings.database_url == used
    assert "u:p" not in repr(settings)


def test_prefixed_name_works_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "postgresql://x@db/gw")
    assert get_settings().database_url == "postgresql+asyncpg://x@db/gw"


@pytest.mark.parametrize("bad", ["mysql://db/gw", "gateway.db", "postgresql+psycopg2://db/gw"])
def test_unsupported_database_urls_are_rejected(bad: str) -> None:
    with pytest.raises(ValidationError):
        Settings(database_url=bad)


async def test_migrations_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    try:
        await database.upgrade()
        async with database.engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await database.dispose()
    assert diff == []


async def test_times_come_back_as_aware_utc(database_url: str) -> None:
    database = Database(database_url)
    shanghai = timezone(timedelta(hours=8))
    try:
        await database.upgrade()
        async with database.transaction() as session:
            conversation = await ensure_conversation(
                session, UserMessage(sender_id="u1", text="x", channel="rest")
            )
            conversation.created_at = datetime(2025, 1, 1, 8, 0, tzinfo=shanghai)
        async with database.read() as session:
            stored = await session.scalar(select(Conversation))
    finally:
        await database.dispose()
    assert stored is not None
    assert stored.created_at == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
    assert stored.created_at.tzinfo is not None


def test_sqlite_folder_is_created(tmp_path: Path) -> None:
    Database(f"sqlite+aiosqlite:///{tmp_path / 'new' / 'dir' / 'gw.db'}")
    assert (tmp_path / "new" / "dir").is_dir()


def test_importing_opens_no_database(tmp_path: Path) -> None:
    """Every new module imports without reading settings or touching a database."""
    database = tmp_path / "never" / "gateway.db"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "GATEWAY_PORT": "not-a-number",  # reading settings at import time would fail
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    modules = (
        "bot.store.db, bot.store.models, bot.agents, bot.store.audit, bot.handoff.canned, "
        "bot.bus.console_feed, bot.handoff.desk, bot.bus.events, bot.handoff.texts, bot.hub, "
        "bot.bus.outbox, bot.privacy.phone_numbers, bot.handoff.queue, bot.handoff.queue_watch, "
        "bot.store.transcript, bot.views, bot.handoff.wait_time, bot.handoff.waiting_room, "
        "channels.app, channels.agent_api, channels.agent_ws, channels.user_api, "
        "scripts.bench_handoff"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"import {modules}"], env=env, capture_output=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr.decode()
    assert not database.parent.exists()
