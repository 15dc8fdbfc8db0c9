"""Tables of the gateway's own database: conversations, transcript, handoff queue, agents.

Everything a restart must not lose lives here and nowhere else (no queue in memory), so
a gateway can be stopped at any moment. The schema is created and changed only by the
Alembic migrations in `bot/migrations`; these classes must match them (a test compares).

Times are stored in UTC. SQLite has no time-zone type, so `UTCDateTime` stores naive
UTC there and hands back aware datetimes on both databases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
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
    # `AgentRole`: supervisors also see every case, the dashboard and the review screen.
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")


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


# --- 好差评 ratings and 差评必改 cases (issue 12; logic in `bot.feedback`) -------------------


class RatingStatus(StrEnum):
    """Life of one rating: pending -> asked -> rated / skipped (or expired, never rated).

    ``pending``: a task ended but its turn left a question open; asked after the next turn
    that leaves none. ``asked``: the question is out; the resident's next turn is read as
    an answer first. ``rated`` is final: no one may change a resident's level afterwards.
    """

    PENDING = "pending"
    ASKED = "asked"
    RATED = "rated"
    SKIPPED = "skipped"


class RatedSubject(StrEnum):
    """What a rating is about: the bot's handling of a task, or an agent's conversation."""

    BOT = "bot"
    AGENT = "agent"


class CaseState(StrEnum):
    """差评必改: open -> called_back -> fixed / explained -> closed."""

    OPEN = "open"
    CALLED_BACK = "called_back"
    FIXED = "fixed"
    EXPLAINED = "explained"
    CLOSED = "closed"


class Rating(Base):
    """One 好差评 request and its answer: asked once per ended task, never altered.

    Tables for the dashboard (issue 12B): ``ratings`` has one row per task end that was
    offered a rating (``asked_at`` set) or is still waiting to be offered (``pending``).
    ``subject`` is ``bot`` (the bot finished ``task``: pension_auth / auth_status /
    service_lookup, with ``service`` the service id if any) or ``agent`` (an agent closed
    the conversation: ``handoff_id``, ``agent_id``). ``level`` is 5 非常满意, 4 满意,
    3 基本满意, 2 不满意, 1 非常不满意 (NULL while not rated); a 差评 is level <= 2 and has
    one ``cases`` row. 好评率 = rated with level >= 4 / rated; 未评价率 = asked but not
    rated / asked. ``reason`` is the resident's masked answer to 哪里不满意？. A supervisor's
    申诉复核 sets ``abusive`` (+ ``abusive_reason``, ``abusive_by``, ``abusive_at``): the row
    then leaves the figures but stays. ``resident_ref`` is the registry's opaque HMAC of the
    ID number when known (``custom.resident.ref``). ``cases``: one per 差评 (``rating_id``
    unique), ``state`` open -> called_back -> fixed / explained -> closed, deadlines
    ``callback_due_at`` / ``fix_due_at`` (working time, see `bot.feedback.working_time`),
    who/when of each step in columns and in ``case_steps`` (one row per transition, also
    audited), ``resident_told_at`` when the result reached the resident, ``followup_level``
    the 追评 (same scale, once). ``assigned_to`` is the agent whose case it is (agents see
    only those); NULL means any agent may take it. Rows go with their conversation
    (ON DELETE CASCADE), so 删除我的记录 leaves nothing of the resident's here.
    """

    __tablename__ = "ratings"
    __table_args__ = (
        Index("ix_ratings_conversation_id_status", "conversation_id", "status"),
        Index("ix_ratings_asked_at", "asked_at"),
        # One rating per ended task: the reply that ended it (or the closed handoff).
        Index("uq_ratings_source", "conversation_id", "source", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    # "m<message id>" of the reply carrying custom.task_done, or "h<handoff id>".
    source: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(16))
    task: Mapped[str | None] = mapped_column(String(32), nullable=True)
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    handoff_id: Mapped[int | None] = mapped_column(
        ForeignKey("handoffs.id", ondelete="SET NULL"), nullable=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    resident_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=RatingStatus.PENDING)
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set while 哪里不满意？ is out: the next turn's text is the reason.
    reason_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The channel the answer came through: "voice", "button", "later" (endpoint/command).
    rated_via: Mapped[str | None] = mapped_column(String(16), nullable=True)
    abusive: Mapped[bool] = mapped_column(Boolean, default=False)
    abusive_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    abusive_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    abusive_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Case(Base):
    """差评必改: the follow-up of one 差评 until the resident has been told the result."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_fix_due_at", "state", "fix_due_at"),
        Index("ix_cases_assigned_to", "assigned_to"),
        Index("ix_cases_resident_ref", "resident_ref"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rating_id: Mapped[int] = mapped_column(
        ForeignKey("ratings.id", ondelete="CASCADE"), unique=True
    )
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    resident_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=CaseState.OPEN)
    # "simple" (fix within 24 h) or "complex" (72 h); an agent may change it while open.
    complexity: Mapped[str] = mapped_column(String(8), default="simple")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    callback_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    fix_due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    called_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    called_back_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    # What the resident is told (masked): the fix or the explanation.
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    resident_told_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # A 追评 is offered with the result; its answer is final, like the rating's.
    followup_asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Where the 追评 was offered (a kiosk resident is told in a later conversation).
    followup_conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), nullable=True
    )
    followup_level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Deadline warnings already sent, so each is sent once.
    callback_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fix_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CaseStep(Base):
    """One state change of a case: who moved it, when, from what to what, with a note."""

    __tablename__ = "case_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TaskOutcome(Base):
    """A bot reply that ended a resident's task successfully (``custom.task_done``)."""

    __tablename__ = "task_outcomes"
    __table_args__ = (Index("ix_task_outcomes_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
    )
    task: Mapped[str] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TrainingCandidate(Base):
    """A user turn the bot missed, masked, until a supervisor accepts or drops it."""

    __tablename__ = "training_candidates"
    __table_args__ = (Index("ix_training_candidates_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    # `bot.reports.misses.MissKind`: fallback, handoff or low_confidence.
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    asr_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # pending -> accepted (with an intent) / dropped
    status: Mapped[str] = mapped_column(String(16), default="pending")
    intent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- Residents, reminders, job leases (issue 13; logic in `bot.residents`) ---------------


class Resident(Base):
    """A resident the registry identified (``custom.resident``), by its opaque ref only.

    ``ref`` is the registry's HMAC of the ID number: the gateway never sees the number.
    ``reminders_consent`` is None until asked, True after 到期前要提醒您吗？ was answered
    yes, False after 不要再提醒我了.
    """

    __tablename__ = "residents"

    ref: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    reminders_consent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ResidentSender(Base):
    """A sender (chat, session) in which a resident identified themselves: a way to reach them."""

    __tablename__ = "resident_senders"
    __table_args__ = (
        Index("uq_resident_senders_ref", "ref", "sender_id", unique=True),
        Index("ix_resident_senders_sender_id", "sender_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(ForeignKey("residents.ref", ondelete="CASCADE"))
    sender_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReminderOptOut(Base):
    """不要再提醒我了 said in a conversation where no resident was identified yet."""

    __tablename__ = "reminder_optouts"

    sender_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReminderSent(Base):
    """One reminder of one resident's due date: at most one per (ref, due date).

    ``channel``: ``telegram`` (sent to ``sender_id``), ``chat`` (shown in the resident's
    own turn), ``phone`` (on the staff's call-back list: ``phone`` as the call-back offer
    stored it, ``called_at``/``called_by`` once staff called).
    """

    __tablename__ = "reminders_sent"
    __table_args__ = (
        Index("uq_reminders_sent_ref", "ref", "due_date", unique=True),
        Index("ix_reminders_sent_channel", "channel", "called_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ref: Mapped[str] = mapped_column(String(64))
    due_date: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    sender_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    called_by: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)


class JobLease(Base):
    """Which gateway process runs a scheduled job, until when (one runner across replicas)."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
