"""Idempotent user turns: the channel's own message id on the transcript.

A web chat send that reached the gateway but whose answer was lost (dropped connection,
proxy timeout) is retried with the same ``client_message_id``; the unique index on
(conversation_id, client_message_id) lets the hub recognise the retry and guarantees one
turn even across gateway processes. Existing rows keep NULL, and NULLs never collide.

Batch mode so SQLite, which cannot drop a column in place on older versions, can also
downgrade; on PostgreSQL the batch is a plain ALTER TABLE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "uq_messages_client_message_id"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("client_message_id", sa.String(64), nullable=True))
        batch.create_index(_INDEX, ["conversation_id", "client_message_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index(_INDEX)
        batch.drop_column("client_message_id")
