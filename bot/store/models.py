"""Tables of the gateway's own database: conversations, transcript, handoff queue, agents.

Everything a restart must not lose lives here and nowhere else (no queue in memory), so
a gateway can be stopped at any moment. The schema is created and changed only by the
Alembic migrations in `bot/migrations`; these classes must match them (a test compares).

Times are stored in UTC. SQLite has no time-zone type, so `UTCDateTime` stores naive
UTC there and hands back aware datetimes on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids for the
# tables that grow with every turn.
BigId = BigInteger().with_variant(Integer(), "sqlite")
# Largest ids the columns can hold (PostgreSQL INTEGER / BIGINT). The HTTP layer declares
# them as limits, so an absurd id in a URL is a 422 instead of a driver overflow (500).
MAX_INT_ID = 2**31 - 1
MAX_BIG_ID = 2**63 - 1


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC time")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The one clock of the handoff code, so every stored time is aware UTC."""
    return datetime.now(UTC)


class Role(StrEnum):
    """Who said a turn. Notes are not turns: they live in their own table."""

    USER = "user"
    BOT = "bot"
    AGENT = "agent"


class HandoffStatus(StrEnum):
    """Life of one request for a human: waiting -> claimed -> handed_back / closed."""

    WAITING = "waiting"
    CLAIMED = "claimed"
    HANDED_BACK = "handed_back"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# While a request is in one of these, the user's messages go to people, not to Rasa.
ACTIVE_STATUSES = (HandoffStatus.WAITING, HandoffStatus.CLAIMED)


class CallbackState(StrEnum):
    """Where the call-back offer to a long-waiting user stands."""

    NONE = "none"
    OFFERED = "offered"
    COLLECTED = "collected"
    DECLINED = "declined"


class Base(DeclarativeBase):
    """Declarative base; `Base.metadata` is what the migration test compares against."""

    # Same constraint names as the migrations write, so comparing them shows no noise.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_name)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
        }
    )


class Conversation(Base):
    """One user of one channel (a REST sender, a kiosk session, a Telegram chat)."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    # Sticky accessibility flags seen in message metadata (see `bot.store.transcript.Profile`).
    profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Message(Base):
    """One turn of the transcript; its id is the user messages API's cursor."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        # A retried send finds its first attempt here instead of becoming a second turn;
        # unique so that even two gateway processes cannot store the same message twice.
        # NULLs (turns without a client id) never collide, on SQLite and PostgreSQL alike.
        Index("uq_messages_client_message_id", "conversation_id", "client_message_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    asr_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The channel's own id for a user turn (the web chat's per-message id, kept across
    # retries), so a retry after a lost answer is recognised; see `ConversationHub.handle`.
    client_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Handoff(Base):
    """A request for a human: the queue is the set of rows with status ``waiting``."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_queue", "status", "priority_rank", "queued_at", "id"),
        Index("ix_handoffs_conversation_id", "conversation_id"),
        # At most one open request per conversation, even across gateway replicas.
        Index(
            "uq_handoffs_one_active",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'claimed')"),
            postgresql_where=text("status IN ('waiting', 'claimed')"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    status: Mapped[str] = mapped_column(String(16), default=HandoffStatus.WAITING)
    reason: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    # 0 = urgent, 1 = high, 2 = normal: the queue orders by this, then by queued_at.
    priority_rank: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(32))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The position the user was last told, so a change (and only a change) is announced.
    notified_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    callback_state: Mapped[str] = mapped_column(String(16), default=CallbackState.NONE)
    callback_offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    callback_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Agent(Base):
    """A staff account; created only with ``python -m bot.agents create``."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AgentToken(Base):
    """A login: only the SHA-256 of the opaque token is stored, so a DB leak is no login."""

    __tablename__ = "agent_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """Who did what to which conversation: login, claim, reveal, hand-back, close, ..."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), nullable=True
    )
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Note(Base):
    """An internal remark about a conversation, for staff only; never sent to the user."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CannedReply(Base):
    """One of the team's ready-made answers, in display order."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
