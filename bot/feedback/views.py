"""What the case API returns (typed, so the console and 12B's dashboard read one shape)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from bot.views import TranscriptMessage


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class CaseStepView(_Frozen):
    """One state change: who (username), when, from what to what, the note."""

    from_state: str | None
    to_state: str
    agent: str | None
    note: str | None
    created_at: datetime


class CaseSummary(_Frozen):
    """A case in a list: state, deadlines and whether they are near or past."""

    id: int
    rating_id: int
    conversation_id: int
    channel: str
    state: str
    complexity: str
    level: int | None
    level_words: str | None
    subject: str
    task: str | None
    service: str | None
    assigned_to: str | None
    opened_at: datetime
    callback_due_at: datetime
    fix_due_at: datetime
    called_back_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resident_told_at: datetime | None
    followup_level: int | None
    # "ok", "due_soon" (within the warning time) or "overdue" for the next open deadline.
    urgency: str


class CaseDetail(_Frozen):
    """A case page: the summary, the masked reason and transcript, the steps."""

    case: CaseSummary
    reason: str | None
    resolution: str | None
    transcript: list[TranscriptMessage]
    steps: list[CaseStepView]


class CaseList(_Frozen):
    """An agent's cases and the ones nobody has taken yet (no transcript in either)."""

    mine: list[CaseSummary]
    unassigned: list[CaseSummary]
