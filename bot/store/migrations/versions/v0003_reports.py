"""Supervisors, task outcomes and missed utterances (issue 12, the dashboard and learning).

- ``agents.role``: ``agent`` (the default, every existing account) or ``supervisor``
  (sees every case, the dashboard and the review screen); set with ``python -m bot.agents``.
- ``task_outcomes``: one row per bot reply that said a resident's task ended successfully
  (``custom.task_done``), the numerator of 问题解决率.
- ``training_candidates``: user turns the bot did not understand (a fallback reply, a
  handoff, a low recogniser confidence), masked, waiting for a supervisor to accept them
  as training examples (with an intent) or drop them.

Rows of both tables go with their conversation (ON DELETE CASCADE), so deleting a
resident's conversation (删除我的记录) leaves nothing of theirs behind here.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def _conversation_fk() -> sa.Column[int]:
    return sa.Column(
        "conversation_id",
        sa.Integer(),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    )


def _message_fk() -> sa.Column[int]:
    return sa.Column(
        "message_id", _BIG_ID, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
    )


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="agent"))
    op.create_table(
        "task_outcomes",
        sa.Column("id", _BIG_ID, primary_key=True),
        _conversation_fk(),
        _message_fk(),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_index("ix_task_outcomes_created_at", "task_outcomes", ["created_at"])
    op.create_table(
        "training_candidates",
        sa.Column("id", _BIG_ID, primary_key=True),
        _conversation_fk(),
        _message_fk(),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("asr_confidence", sa.Float(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("intent", sa.String(64), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
        sa.Column("reviewed_at", _TIME, nullable=True),
    )
    op.create_index(
        "ix_training_candidates_status", "training_candidates", ["status", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_training_candidates_status", table_name="training_candidates")
    op.drop_table("training_candidates")
    op.drop_index("ix_task_outcomes_created_at", table_name="task_outcomes")
    op.drop_table("task_outcomes")
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("role")
