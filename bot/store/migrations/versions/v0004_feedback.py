"""好差评 ratings and 差评必改 cases (issue 12, part A); see `bot.store.models.Rating`.

- ``ratings``: one row per ended task offered a rating (bot task or agent conversation),
  its five-level answer (5 非常满意 ... 1 非常不满意, NULL = not rated), the masked reason
  of a 差评 and a supervisor's 申诉复核 (``abusive``).
- ``cases``: one per 差评, with its call-back and fix deadlines, who moved it when, when
  the resident was told and their 追评.
- ``case_steps``: every state change of a case (also in the audit log).

Rows go with their conversation (ON DELETE CASCADE), like the other per-resident tables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def _conversation() -> sa.Column[int]:
    return sa.Column(
        "conversation_id",
        sa.Integer(),
        sa.ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    )


def _agent(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("agents.id"), nullable=True)


def upgrade() -> None:
    op.create_table(
        "ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        _conversation(),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("task", sa.String(32), nullable=True),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column(
            "handoff_id",
            sa.Integer(),
            sa.ForeignKey("handoffs.id", ondelete="SET NULL"),
            nullable=True,
        ),
        _agent("agent_id"),
        sa.Column("resident_ref", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reason_asked_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("asked_at", _TIME, nullable=True),
        sa.Column("rated_at", _TIME, nullable=True),
        sa.Column("rated_via", sa.String(16), nullable=True),
        sa.Column("abusive", sa.Boolean(), nullable=False),
        sa.Column("abusive_reason", sa.Text(), nullable=True),
        _agent("abusive_by"),
        sa.Column("abusive_at", _TIME, nullable=True),
    )
    op.create_index("ix_ratings_conversation_id_status", "ratings", ["conversation_id", "status"])
    op.create_index("ix_ratings_asked_at", "ratings", ["asked_at"])
    op.create_index("uq_ratings_source", "ratings", ["conversation_id", "source"], unique=True)
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "rating_id",
            sa.Integer(),
            sa.ForeignKey("ratings.id", ondelete="CASCADE"),
            nullable=False,
        ),
        _conversation(),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("resident_ref", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("complexity", sa.String(8), nullable=False),
        _agent("assigned_to"),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("callback_due_at", _TIME, nullable=False),
        sa.Column("fix_due_at", _TIME, nullable=False),
        sa.Column("called_back_at", _TIME, nullable=True),
        _agent("called_back_by"),
        sa.Column("resolved_at", _TIME, nullable=True),
        _agent("resolved_by"),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("closed_at", _TIME, nullable=True),
        _agent("closed_by"),
        sa.Column("resident_told_at", _TIME, nullable=True),
        sa.Column("followup_asked_at", _TIME, nullable=True),
        sa.Column(
            "followup_conversation_id",
            sa.Integer(),
            sa.ForeignKey("conversations.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("followup_level", sa.Integer(), nullable=True),
        sa.Column("followup_at", _TIME, nullable=True),
        sa.Column("callback_warned_at", _TIME, nullable=True),
        sa.Column("fix_warned_at", _TIME, nullable=True),
        sa.UniqueConstraint("rating_id", name="uq_cases_rating_id"),
    )
    op.create_index("ix_cases_state_fix_due_at", "cases", ["state", "fix_due_at"])
    op.create_index("ix_cases_assigned_to", "cases", ["assigned_to"])
    op.create_index("ix_cases_resident_ref", "cases", ["resident_ref"])
    op.create_table(
        "case_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "case_id", sa.Integer(), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        _agent("agent_id"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_index("ix_case_steps_case_id", "case_steps", ["case_id"])


def downgrade() -> None:
    for table in ("case_steps", "cases", "ratings"):
        op.drop_table(table)
