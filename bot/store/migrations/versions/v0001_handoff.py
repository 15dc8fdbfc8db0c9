"""Handoff to people: conversations, transcript, queue, agents, audit, notes, canned replies.

Revision ID: 0001
Revises:
Create Date: 2025-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Aware timestamps; `bot.store.models.UTCDateTime` adapts them to SQLite, which has no time zones.
_TIME = sa.DateTime(timezone=True)
_ACTIVE = sa.text("status IN ('waiting', 'claimed')")

# A starting set the team edits from the console (PUT /api/agent/canned-replies).
# Kept here, not imported, so this migration means the same thing forever.
_CANNED_SEED = [
    "您好，我是社区工作人员，请问有什么可以帮您？",
    "请稍等，我帮您查一下。",
    "请带上身份证和户口本，到社区服务中心办理。",
    "您的认证已经帮您办好了。",
    "我们会给您回电话，请保持电话畅通。",
    "问题已经解决了，我把您转回智能助手。",
]


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("sender_id", name="uq_conversations_sender_id"),
    )
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.UniqueConstraint("username", name="uq_agents_username"),
    )
    op.create_table(
        "messages",
        sa.Column("id", _BIG_ID, primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("buttons", sa.JSON(), nullable=True),
        sa.Column("custom", sa.JSON(), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("asr_confidence", sa.Float(), nullable=True),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_index("ix_messages_conversation_id_id", "messages", ["conversation_id", "id"])
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("queued_at", _TIME, nullable=False),
        sa.Column("claimed_at", _TIME, nullable=True),
        sa.Column("claimed_by", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.Column("notified_position", sa.Integer(), nullable=True),
        sa.Column("callback_state", sa.String(16), nullable=False),
        sa.Column("callback_offered_at", _TIME, nullable=True),
        sa.Column("callback_phone", sa.String(32), nullable=True),
    )
    op.create_index("ix_handoffs_queue", "handoffs", ["status", "priority_rank", "queued_at", "id"])
    op.create_index("ix_handoffs_conversation_id", "handoffs", ["conversation_id"])
    op.create_index(
        "uq_handoffs_one_active",
        "handoffs",
        ["conversation_id"],
        unique=True,
        sqlite_where=_ACTIVE,
        postgresql_where=_ACTIVE,
    )
    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_agent_tokens_token_hash"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _BIG_ID, primary_key=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=True
        ),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversations.id"), nullable=False
        ),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agents.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_index("ix_notes_conversation_id", "notes", ["conversation_id"])
    canned = op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.bulk_insert(canned, [{"position": i, "text": t} for i, t in enumerate(_CANNED_SEED)])


def downgrade() -> None:
    for table in (
        "canned_replies",
        "notes",
        "audit_log",
        "agent_tokens",
        "handoffs",
        "messages",
        "agents",
        "conversations",
    ):
        op.drop_table(table)
