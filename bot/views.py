"""What the handoff code hands out: queue items, transcripts, conversations, logins.

Pydantic models so the HTTP layer can return them as they are (and document them in
OpenAPI) and the WebSocket can serialise the same objects; no transport defines its own
copy of these shapes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.messages import Button

Priority = Literal["urgent", "high", "normal"]
RoleName = Literal["user", "bot", "agent"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Profile(_Frozen):
    """Accessibility flags seen in the user's message metadata; they stay once seen."""

    kiosk: bool = False
    screen_reader: bool = False
    telegram: bool = False
    elder_mode: bool = False


class QueueItem(_Frozen):
    """One waiting request as the agent console lists it."""

    id: int = Field(description="Handoff (queue item) id")
    conversation_id: int
    reason: str
    priority: Priority
    channel: str
    queued_at: datetime
    waiting_s: float = Field(description="Seconds since the request was queued")
    position: int = Field(description="1 = next to be served")
    callback_phone: str | None = Field(
        default=None, description="Call-back number the user left, masked"
    )
    profile: Profile


class ClaimedItem(_Frozen):
    """A conversation the calling agent is handling now."""

    id: int
    conversation_id: int
    reason: str
    priority: Priority
    channel: str
    queued_at: datetime
    claimed_at: datetime
    callback_phone: str | None = None
    profile: Profile


class AgentQueue(_Frozen):
    """``GET /api/agent/queue``: who waits, and what this agent already has."""

    items: list[QueueItem]
    claimed: list[ClaimedItem]


class TranscriptMessage(_Frozen):
    """One turn as staff see it (masked unless revealed)."""

    id: int
    role: RoleName
    text: str | None = None
    buttons: list[Button] | None = None
    custom: dict[str, Any] | None = None
    channel: str
    created_at: datetime
    asr_confidence: float | None = Field(
        default=None, description="Speech recogniser confidence of a spoken user turn"
    )
    low_confidence: bool = Field(
        default=False, description="True when asr_confidence is below 0.6: maybe misheard"
    )
    agent: str | None = Field(default=None, description="Username of the agent who wrote it")


class NoteView(_Frozen):
    """An internal note; only ever shown to staff."""

    id: int
    text: str
    agent: str
    created_at: datetime


class HandoffView(_Frozen):
    """The latest request for a human in a conversation."""

    id: int
    status: Literal["waiting", "claimed", "handed_back", "closed", "cancelled"]
    reason: str
    priority: Priority
    queued_at: datetime
    claimed_at: datetime | None = None
    claimed_by: str | None = None
    ended_at: datetime | None = None
    callback_state: Literal["none", "offered", "collected", "declined"]
    callback_phone: str | None = None


class ConversationView(_Frozen):
    """A conversation with its full transcript, for an agent."""

    id: int
    sender_id: str
    channel: str
    profile: Profile
    masked: bool = Field(description="False only in the audited reveal answer")
    handoff: HandoffView | None
    messages: list[TranscriptMessage]
    notes: list[NoteView]


class UserMessageView(_Frozen):
    """One turn as the user's own channel shows it (never notes, never other users)."""

    id: int
    role: RoleName
    text: str | None = None
    buttons: list[Button] | None = None
    custom: dict[str, Any] | None = None
    created_at: datetime


class UserMessages(_Frozen):
    """A page of the user's transcript; pass ``cursor`` as ``after`` to get what follows."""

    messages: list[UserMessageView]
    cursor: int


class LoginResult(_Frozen):
    """A fresh agent token; send it as ``Authorization: Bearer <token>``."""

    token: str
    expires_at: datetime
    agent: str


class CannedReplies(_Frozen):
    """The team's ready-made replies, in display order."""

    replies: list[str]
