"""What the gateway forgets, and when: the retention purge and 删除我的记录.

`delete_conversations` removes conversations with every row that hangs off them — the
transcript, notes, handoffs and whatever later tables reference those (ratings, cases,
task outcomes, ...): it walks the foreign keys of `bot.store.models.Base.metadata`, so a
new table that points at a conversation is deleted with it without a change here (rows
that only *may* point at it, through a nullable key, lose the link instead). Audit
rows are the one exception: they stay (who did what must remain answerable), but lose
their link to the conversation and keep only a masked reference of the sender and the
numeric ids of their detail.

`purge` (the retention job, default 180 days) deletes conversations untouched for that
long (none with an open handoff) — but keeps what the dashboard counts (`STATISTICS`:
ratings, cases, task outcomes; their conversation stays as an anonymous row without
words or profile) — reminder records, and residents nobody needs any more;
a resident who asked for reminders keeps their ref, due date and Telegram chat until the
due date itself is older than the retention period.

`forget_sender` (``custom.forget_me``) deletes all conversations of the sender and of every
sender linked to the same resident, the resident's ref, links, reminders and opt-outs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    cast,
    delete,
    exists,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.store.db import Database
from bot.store.models import (
    ACTIVE_STATUSES,
    AuditEntry,
    Base,
    Conversation,
    Handoff,
    ReminderOptOut,
    ReminderSent,
    Resident,
    ResidentSender,
)

logger = logging.getLogger(__name__)

BATCH = 500
# What the dashboard counts (好差评, 差评整改, 问题解决率): kept by the retention purge, with
# no words of the conversation left; 删除我的记录 deletes these too.
STATISTICS = frozenset({"ratings", "cases", "case_steps", "task_outcomes"})
ANONYMOUS = "purged-"
_AUDIT_TABLE = "audit_log"
_KEEP_LINKS_PREFIX = "tg-"  # a Telegram chat can still be reached; a web session cannot


def masked_reference(sender_id: str) -> str:
    """A sender as the audit may keep it: its channel prefix and last two characters."""
    prefix, _, rest = sender_id.rpartition("-")
    tail = rest[-2:] if len(rest) > 2 else ""
    return f"{prefix}-***{tail}" if prefix else f"***{tail}"


async def delete_conversations(
    session: AsyncSession, conversation_ids: Sequence[int], *, keep: frozenset[str] = frozenset()
) -> int:
    """Delete these conversations and everything referencing them; audit rows are masked.

    Rows of the tables in `keep` stay (the retention purge keeps `STATISTICS`); a
    conversation they still point at stays as an anonymous row (`ANONYMOUS` + its id, no
    profile) so the figures keep their channel, and is never looked at again.
    """
    ids = list(conversation_ids)
    if not ids:
        return 0
    await _mask_audit(session, ids)
    conversations = Base.metadata.tables["conversations"]
    await _delete_tree(session, conversations, conversations.c.id.in_(ids), keep)
    return len(ids)


async def _delete_tree(
    session: AsyncSession, table: Table, where: ColumnElement[bool], keep: frozenset[str]
) -> None:
    """Delete `table`'s rows matching `where` after the rows that reference them."""
    kept: list[ColumnElement[bool]] = []
    for child in Base.metadata.sorted_tables:
        if child is table or child.name == _AUDIT_TABLE:
            continue
        for key in child.foreign_keys:
            if key.column.table is not table:
                continue
            referenced = select(key.column).where(where)
            if key.parent.nullable:
                # An optional link (a case's follow-up conversation, an outcome's message):
                # the row belongs to something else too, so only the link goes.
                await session.execute(
                    update(child).where(key.parent.in_(referenced)).values({key.parent.name: None})
                )
            elif child.name in keep:
                kept.append(key.column.in_(select(key.parent)))
            else:
                await _delete_tree(session, child, key.parent.in_(referenced), keep)
    if not kept:
        await session.execute(delete(table).where(where))
        return
    still_needed = or_(*kept)
    await session.execute(delete(table).where(where, ~still_needed))
    if table.name == "conversations":
        await session.execute(
            update(table)
            .where(where, still_needed)
            .values(sender_id=literal(ANONYMOUS) + cast(table.c.id, String), profile={})
        )


async def _mask_audit(session: AsyncSession, ids: list[int]) -> None:
    """Audit rows of these conversations keep a masked sender and numeric ids only."""
    rows = await session.execute(
        select(AuditEntry.id, AuditEntry.detail, Conversation.sender_id)
        .join(Conversation, Conversation.id == AuditEntry.conversation_id)
        .where(AuditEntry.conversation_id.in_(ids))
    )
    for entry_id, detail, sender_id in rows.all():
        kept: dict[str, Any] = {
            key: value
            for key, value in (detail or {}).items()
            if isinstance(value, int) and not isinstance(value, bool)
        }
        kept["conversation"] = masked_reference(sender_id)
        await session.execute(
            update(AuditEntry)
            .where(AuditEntry.id == entry_id)
            .values(conversation_id=None, detail=kept)
        )


async def forget_sender(session: AsyncSession, sender_id: str) -> int:
    """删除我的记录: this sender's and the same resident's other senders' data; how many
    conversations went."""
    refs = set(
        await session.scalars(
            select(ResidentSender.ref).where(ResidentSender.sender_id == sender_id)
        )
    )
    senders = {sender_id}
    if refs:
        senders |= set(
            await session.scalars(
                select(ResidentSender.sender_id).where(ResidentSender.ref.in_(refs))
            )
        )
    ids = list(
        await session.scalars(select(Conversation.id).where(Conversation.sender_id.in_(senders)))
    )
    deleted = await delete_conversations(session, ids)
    if refs:
        await session.execute(delete(ReminderSent).where(ReminderSent.ref.in_(refs)))
    await session.execute(
        delete(ResidentSender).where(
            or_(ResidentSender.ref.in_(refs), ResidentSender.sender_id.in_(senders))
        )
    )
    if refs:
        await session.execute(delete(Resident).where(Resident.ref.in_(refs)))
    await session.execute(delete(ReminderOptOut).where(ReminderOptOut.sender_id.in_(senders)))
    return deleted


@dataclass
class PurgeReport:
    """What one retention run deleted (for logs and tests)."""

    conversations: int = 0
    reminders: int = 0
    residents: int = 0


class RetentionJob:
    """The retention purge; `bot.residents.jobs.PeriodicJob` runs it once a tick."""

    def __init__(self, database: Database, days: int) -> None:
        self._db = database
        self._days = days

    async def __call__(self, now: datetime) -> PurgeReport:
        report = await purge(self._db, now - timedelta(days=self._days))
        if report.conversations or report.reminders or report.residents:
            logger.info(
                "retention: %d conversations, %d reminders, %d residents deleted",
                report.conversations,
                report.reminders,
                report.residents,
            )
        return report


async def purge(database: Database, cutoff: datetime) -> PurgeReport:
    """Delete what is older than `cutoff`, conversations in batches (short transactions)."""
    report = PurgeReport()
    open_handoff = exists().where(
        Handoff.conversation_id == Conversation.id, Handoff.status.in_(ACTIVE_STATUSES)
    )
    while True:
        async with database.transaction() as session:
            ids = list(
                await session.scalars(
                    select(Conversation.id)
                    .where(Conversation.updated_at < cutoff, ~open_handoff)
                    .where(~Conversation.sender_id.startswith(ANONYMOUS))
                    .order_by(Conversation.id)
                    .limit(BATCH)
                )
            )
            report.conversations += await delete_conversations(session, ids, keep=STATISTICS)
        if len(ids) < BATCH:
            break
    async with database.transaction() as session:
        result = await session.execute(delete(ReminderSent).where(ReminderSent.sent_at < cutoff))
        report.reminders = int(getattr(result, "rowcount", 0) or 0)
        cutoff_day = cutoff.date()
        stale = (Resident.updated_at < cutoff) & (
            Resident.reminders_consent.is_not(True)
            | Resident.next_due.is_(None)
            | (Resident.next_due < cutoff_day)
        )
        refs = list(await session.scalars(select(Resident.ref).where(stale)))
        if refs:
            await session.execute(delete(ResidentSender).where(ResidentSender.ref.in_(refs)))
            await session.execute(delete(Resident).where(Resident.ref.in_(refs)))
        report.residents = len(refs)
        await session.execute(
            delete(ResidentSender).where(
                ResidentSender.linked_at < cutoff,
                ~ResidentSender.sender_id.startswith(_KEEP_LINKS_PREFIX),
            )
        )
    return report
