"""Alembic migrations of the gateway's database (see `bot.store.db`)."""
