"""The audit log: which agent did what, to which conversation, when.

Staff can read personal information (a revealed ID number, a call-back phone) and act
for a resident, so every such step leaves a row. The entry is written in the same
transaction as the action itself: an action that happened is always audited, and an
audit row never describes something that was rolled back.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.models import AuditEntry, utcnow

logger = logging.getLogger(__name__)


class AuditAction(StrEnum):
    """What was done; stable names, since operators search the log by them."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    CLAIM = "claim"
    REVEAL = "reveal"
    HANDBACK = "handback"
    CLOSE = "close"
    CANNED_REPLIES = "canned_replies"
    SET_ROLE = "set_role"
    VIEW_DASHBOARD = "view_dashboard"
    REVIEW_CANDIDATE = "review_candidate"
    EXPORT_REVIEWED = "export_reviewed"
    CASE_VIEW = "case_view"
    CASE_STEP = "case_step"
    RATING_ABUSIVE = "rating_abusive"


def record(
    session: AsyncSession,
    action: AuditAction,
    *,
    agent_id: int | None,
    conversation_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one audit row to the caller's transaction."""
    session.add(
        AuditEntry(
            created_at=utcnow(),
            agent_id=agent_id,
            action=action.value,
            conversation_id=conversation_id,
            detail=detail,
        )
    )
    logger.info("audit %s agent=%s conversation=%s", action.value, agent_id, conversation_id)


async def entries(session: AsyncSession, conversation_id: int | None = None) -> list[AuditEntry]:
    """Audit rows, oldest first, optionally of one conversation (for tests and operators)."""
    statement = select(AuditEntry).order_by(AuditEntry.id)
    if conversation_id is not None:
        statement = statement.where(AuditEntry.conversation_id == conversation_id)
    return list(await session.scalars(statement))
