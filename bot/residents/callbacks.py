"""The staff's call-back list: residents due for authentication reachable only by phone.

The reminder job puts a resident here (a ``reminders_sent`` row with channel ``phone``)
when their only way back is the number they left in a call-back offer while waiting for
an agent. Staff see the number masked (``138****5678``); the full number is shown only on
request, and every such request is written to the audit log with who asked. Marking a
row as called records who called and when, and takes it off the open list.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import AgentIdentity
from bot.errors import ErrorCode, NotFound
from bot.store.audit import AuditAction, record
from bot.store.db import Database
from bot.store.models import ReminderSent, utcnow
from nlu.id_card import mask_phone_number

PHONE = "phone"


class CallbackItem(BaseModel):
    """One resident to call about their coming due date."""

    model_config = ConfigDict(frozen=True)

    id: int = Field(description="Call-back list item id")
    due_date: date = Field(description="The authentication is due on this date")
    phone: str = Field(description="The call-back number, masked unless revealed")
    listed_at: datetime
    called_at: datetime | None = None


class CallbackList(BaseModel):
    """Open items (not called yet), the soonest due date first."""

    model_config = ConfigDict(frozen=True)

    items: list[CallbackItem]


def _item(row: ReminderSent, *, masked: bool) -> CallbackItem:
    phone = row.phone or ""
    return CallbackItem(
        id=row.id,
        due_date=row.due_date,
        phone=mask_phone_number(phone) if masked else phone,
        listed_at=row.sent_at,
        called_at=row.called_at,
    )


class Callbacks:
    """The list's rules; the agent API only translates HTTP."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def open_items(self) -> CallbackList:
        async with self._db.read() as session:
            rows = await session.scalars(
                select(ReminderSent)
                .where(ReminderSent.channel == PHONE, ReminderSent.called_at.is_(None))
                .order_by(ReminderSent.due_date, ReminderSent.id)
            )
            return CallbackList(items=[_item(row, masked=True) for row in rows])

    async def reveal(self, agent: AgentIdentity, item_id: int) -> CallbackItem:
        """The full number, for the agent about to call; audited in the same transaction."""
        async with self._db.transaction() as session:
            row = await self._row(session, item_id)
            record(session, AuditAction.REVEAL, agent_id=agent.id, detail={"callback_id": row.id})
            return _item(row, masked=False)

    async def mark_called(self, agent: AgentIdentity, item_id: int) -> CallbackItem:
        async with self._db.transaction() as session:
            row = await self._row(session, item_id)
            if row.called_at is None:
                row.called_at = utcnow()
                row.called_by = agent.id
            return _item(row, masked=True)

    @staticmethod
    async def _row(session: AsyncSession, item_id: int) -> ReminderSent:
        row = await session.get(ReminderSent, item_id)
        if row is None or row.channel != PHONE:
            raise NotFound(ErrorCode.NOT_FOUND)
        return row
