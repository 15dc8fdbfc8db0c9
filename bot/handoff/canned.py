"""The team's canned replies: one shared, ordered list of ready-made answers.

Agents answer the same questions many times a day ("请带上身份证…"); a click is faster
than typing and keeps the wording plain. The list is seeded by the first migration and
then belongs to the team: a PUT replaces it whole (the console edits it as one list),
which also makes concurrent edits simple: the last save wins, and both are audited.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from bot.store.audit import AuditAction, record
from bot.store.db import Database
from bot.store.models import CannedReply

MAX_REPLIES = 100
MAX_REPLY_CHARS = 500


async def load(database: Database) -> list[str]:
    """The replies in display order."""
    async with database.read() as session:
        rows = await session.scalars(select(CannedReply.text).order_by(CannedReply.position))
        return list(rows)


async def replace(database: Database, replies: Sequence[str], agent_id: int) -> list[str]:
    """Store `replies` (already validated: see `MAX_REPLIES`, `MAX_REPLY_CHARS`) as the list."""
    cleaned = [reply.strip() for reply in replies]
    async with database.transaction() as session:
        await session.execute(delete(CannedReply))
        session.add_all(
            CannedReply(position=index, text=text) for index, text in enumerate(cleaned)
        )
        record(
            session, AuditAction.CANNED_REPLIES, agent_id=agent_id, detail={"count": len(cleaned)}
        )
    return cleaned
