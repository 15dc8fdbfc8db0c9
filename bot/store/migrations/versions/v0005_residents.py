"""Residents, reminders and job leases (issue 13: reminders before the due date, retention).

- ``residents``: the registry's opaque ref (HMAC of the ID number, never the number), the
  next due date, whether payment is suspended, and the reminder consent (None: not asked).
- ``resident_senders``: the senders (Telegram chats, web/kiosk sessions) in which a
  resident identified themselves; a Telegram one is where a reminder can be sent.
- ``reminder_optouts``: 不要再提醒我了 said before any resident was identified.
- ``reminders_sent``: every reminder, at most one per (ref, due date): when, through which
  channel; ``phone`` rows are the staff's call-back list (``called_at`` / ``called_by``).
- ``job_leases``: which gateway process runs a scheduled job until when, so exactly one
  replica runs it (a row with an expiry works on SQLite and PostgreSQL alike).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "residents",
        sa.Column("ref", sa.String(64), primary_key=True),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("reminders_consent", sa.Boolean(), nullable=True),
        sa.Column("consent_at", _TIME, nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_table(
        "resident_senders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ref",
            sa.String(64),
            sa.ForeignKey("residents.ref", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("linked_at", _TIME, nullable=False),
    )
    op.create_index(
        "uq_resident_senders_ref", "resident_senders", ["ref", "sender_id"], unique=True
    )
    op.create_index("ix_resident_senders_sender_id", "resident_senders", ["sender_id"])
    op.create_table(
        "reminder_optouts",
        sa.Column("sender_id", sa.String(128), primary_key=True),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(128), nullable=True),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("sent_at", _TIME, nullable=False),
        sa.Column("called_at", _TIME, nullable=True),
        sa.Column("called_by", sa.Integer(), sa.ForeignKey("agents.id"), nullable=True),
    )
    op.create_index("uq_reminders_sent_ref", "reminders_sent", ["ref", "due_date"], unique=True)
    op.create_index("ix_reminders_sent_channel", "reminders_sent", ["channel", "called_at"])
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("job_leases")
    op.drop_index("ix_reminders_sent_channel", table_name="reminders_sent")
    op.drop_index("uq_reminders_sent_ref", table_name="reminders_sent")
    op.drop_table("reminders_sent")
    op.drop_table("reminder_optouts")
    op.drop_index("ix_resident_senders_sender_id", table_name="resident_senders")
    op.drop_index("uq_resident_senders_ref", table_name="resident_senders")
    op.drop_table("resident_senders")
    op.drop_table("residents")
