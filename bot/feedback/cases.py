"""差评必改 cases: opened by every 差评, moved on by agents, told back to the resident.

Rules (the HTTP layer only translates):

- a case belongs to the agent it is assigned to: the agent who was rated, or whoever
  takes an unassigned one. Only that agent (or a supervisor) reads its transcript and
  moves it on; anyone else gets 403. Every read of a transcript and every step is audited.
- steps: open -> called_back (the resident was called) -> fixed / explained (with the
  sentence the resident is told) -> closed. A case cannot be fixed before the call-back.
- deadlines are set when the case opens: call-back in working days, fix in working hours
  (simple or complex; changing the complexity moves the fix deadline).
- fixed / explained tells the resident on their channel at once (Telegram and web chat
  through the transcript and the event bus), with one 追评 question. A kiosk resident
  is not at the kiosk any more: they are told the next time they identify themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.agents import AgentIdentity
from bot.bus.events import EventBus
from bot.bus.outbox import Outbox
from bot.errors import Conflict, ErrorCode, Forbidden, InvalidRequest, NotFound
from bot.feedback import texts
from bot.feedback.rating_words import BUTTON_ORDER, LEVEL_WORDS, SPOKEN_OPTIONS, Level
from bot.feedback.views import CaseDetail, CaseList, CaseStepView, CaseSummary
from bot.feedback.working_time import WorkCalendar
from bot.messages import Button
from bot.privacy.masking import mask_pii
from bot.store.audit import AuditAction, record
from bot.store.db import Database
from bot.store.models import Agent, Case, CaseState, CaseStep, Conversation, Rating, utcnow
from bot.store.transcript import lock_conversation, staff_transcript

logger = logging.getLogger(__name__)

_RESOLVED = (CaseState.FIXED.value, CaseState.EXPLAINED.value, CaseState.CLOSED.value)
_MAX_NOTE_CHARS = 1000


@dataclass(frozen=True)
class CaseRules:
    """Deadline settings: call-back working days, fix hours, the calendar, warning time."""

    calendar: WorkCalendar
    callback_working_days: int = 1
    fix_simple: timedelta = timedelta(hours=24)
    fix_complex: timedelta = timedelta(hours=72)
    warn_before: timedelta = timedelta(hours=4)

    def callback_due(self, opened_at: datetime) -> datetime:
        """When the resident must have been called back."""
        return self.calendar.add_working_days(opened_at, self.callback_working_days)

    def fix_due(self, opened_at: datetime, complexity: str) -> datetime:
        """When the problem must be fixed or explained."""
        hours = self.fix_complex if complexity == "complex" else self.fix_simple
        return self.calendar.add(opened_at, hours)


async def open_case(session: AsyncSession, rating: Rating, rules: CaseRules, now: datetime) -> Case:
    """Open the case of a 差评 (one per rating; the caller flushed the rating)."""
    case = Case(
        rating_id=rating.id,
        conversation_id=rating.conversation_id,
        channel=rating.channel,
        resident_ref=rating.resident_ref,
        state=CaseState.OPEN.value,
        complexity="simple",
        assigned_to=rating.agent_id,
        opened_at=now,
        callback_due_at=rules.callback_due(now),
        fix_due_at=rules.fix_due(now, "simple"),
    )
    session.add(case)
    await session.flush()
    session.add(CaseStep(case_id=case.id, from_state=None, to_state=case.state, created_at=now))
    logger.info("case %d opened for rating %d level=%s", case.id, rating.id, rating.level)
    return case


async def untold_cases_of_resident(session: AsyncSession, ref: str) -> list[Case]:
    """Resolved cases of this resident whose result was not told yet (kiosk cards)."""
    return list(
        await session.scalars(
            select(Case)
            .where(
                Case.resident_ref == ref,
                Case.state.in_(_RESOLVED),
                Case.resident_told_at.is_(None),
            )
            .order_by(Case.id)
        )
    )


def urgency(case: Case, now: datetime, warn_before: timedelta) -> str:
    """ "overdue", "due_soon" or "ok" for the next deadline the case still has to meet."""
    if case.state in _RESOLVED:
        return "ok"
    due = case.callback_due_at if case.called_back_at is None else case.fix_due_at
    due = min(due, case.fix_due_at)
    if now >= due:
        return "overdue"
    if now >= due - warn_before:
        return "due_soon"
    return "ok"


class CaseDesk:
    """Agent actions on cases; built once by the composition root."""

    def __init__(self, database: Database, bus: EventBus, rules: CaseRules) -> None:
        self._db = database
        self._bus = bus
        self._rules = rules

    async def cases_for(self, agent: AgentIdentity) -> CaseList:
        """The agent's own cases (a supervisor: every taken case) and the unassigned ones."""
        async with self._db.read() as session:
            rows = await self._summaries(session, None)
        mine = [
            s
            for s, assigned in rows
            if assigned is not None and (assigned == agent.id or _supervisor(agent))
        ]
        unassigned = [s for s, assigned in rows if assigned is None]
        return CaseList(mine=mine, unassigned=unassigned)

    async def overdue(self) -> list[CaseSummary]:
        """Cases past a deadline or within the warning time, for supervisors' queue."""
        async with self._db.read() as session:
            rows = await self._summaries(session, None)
        return [s for s, _ in rows if s.urgency != "ok"]

    async def detail(self, agent: AgentIdentity, case_id: int) -> CaseDetail:
        """A case page with its masked transcript; audited, 403 unless it is the agent's."""
        async with self._db.transaction() as session:
            case = await _case(session, case_id)
            _require_owner(agent, case)
            record(
                session,
                AuditAction.CASE_VIEW,
                agent_id=agent.id,
                conversation_id=case.conversation_id,
                detail={"case_id": case.id},
            )
            return await self._detail(session, case)

    async def take(self, agent: AgentIdentity, case_id: int) -> CaseDetail:
        """Assign an unassigned case to oneself (409 if someone has it)."""
        async with self._db.transaction() as session:
            case = await _case(session, case_id, lock=True)
            if case.assigned_to is not None and case.assigned_to != agent.id:
                raise Conflict(ErrorCode.CASE_TAKEN)
            case.assigned_to = agent.id
            self._step(session, agent, case, case.state, case.state, "接手")
            return await self._detail(session, case)

    async def set_complexity(self, agent: AgentIdentity, case_id: int, value: str) -> CaseDetail:
        """Simple (24 h) or complex (72 h); the fix deadline follows from the opening time."""
        if value not in ("simple", "complex"):
            raise InvalidRequest(ErrorCode.INVALID_CASE_STEP)
        async with self._db.transaction() as session:
            case = await _case(session, case_id, lock=True)
            _require_owner(agent, case)
            if case.state in _RESOLVED:
                raise Conflict(ErrorCode.INVALID_CASE_STEP)
            case.complexity = value
            case.fix_due_at = self._rules.fix_due(case.opened_at, value)
            self._step(
                session,
                agent,
                case,
                case.state,
                case.state,
                "复杂" if value == "complex" else "简单",
            )
            return await self._detail(session, case)

    async def step(
        self, agent: AgentIdentity, case_id: int, to_state: CaseState, note: str | None
    ) -> CaseDetail:
        """Move a case on; fixed / explained need the sentence told to the resident."""
        note = mask_pii(note.strip())[:_MAX_NOTE_CHARS] if note and note.strip() else None
        allowed = {
            CaseState.CALLED_BACK: (CaseState.OPEN.value,),
            CaseState.FIXED: (CaseState.CALLED_BACK.value,),
            CaseState.EXPLAINED: (CaseState.CALLED_BACK.value,),
            CaseState.CLOSED: (CaseState.FIXED.value, CaseState.EXPLAINED.value),
        }.get(to_state)
        if allowed is None:
            raise InvalidRequest(ErrorCode.INVALID_CASE_STEP)
        if to_state in (CaseState.FIXED, CaseState.EXPLAINED) and not note:
            raise Conflict(ErrorCode.RESOLUTION_REQUIRED)
        outbox = Outbox()
        async with self._db.transaction() as session:
            case = await _case(session, case_id, lock=True)
            _require_owner(agent, case)
            if case.state not in allowed:
                raise Conflict(ErrorCode.INVALID_CASE_STEP)
            now = utcnow()
            if to_state is CaseState.CALLED_BACK:
                case.called_back_at, case.called_back_by = now, agent.id
            elif to_state is CaseState.CLOSED:
                case.closed_at, case.closed_by = now, agent.id
            else:
                case.resolved_at, case.resolved_by, case.resolution = now, agent.id, note
                await self._tell(session, case, outbox, now)
            from_state = case.state
            case.state = to_state.value
            self._step(session, agent, case, from_state, to_state.value, note)
            detail = await self._detail(session, case)
        outbox.publish(self._bus)
        return detail

    async def mark_abusive(self, supervisor: AgentIdentity, rating_id: int, reason: str) -> None:
        """申诉复核: a supervisor marks a rating abusive after review, with a reason.

        The rating then leaves the figures (`bot.reports.figures`) but stays on record with
        its level; it is marked once (409 after that). Audited. Supervisors only: the HTTP
        layer checks the role, and so does this, so no other caller can skip it.
        """
        if not _supervisor(supervisor):
            raise Forbidden()
        async with self._db.transaction() as session:
            rating = await session.get(Rating, rating_id, with_for_update=True)
            if rating is None:
                raise NotFound()
            if rating.abusive or rating.level is None:
                raise Conflict(ErrorCode.INVALID_CASE_STEP)
            rating.abusive = True
            rating.abusive_reason = mask_pii(reason.strip())[:_MAX_NOTE_CHARS]
            rating.abusive_by = supervisor.id
            rating.abusive_at = utcnow()
            record(
                session,
                AuditAction.RATING_ABUSIVE,
                agent_id=supervisor.id,
                conversation_id=rating.conversation_id,
                detail={"rating_id": rating.id},
            )

    async def _tell(self, session: AsyncSession, case: Case, outbox: Outbox, now: datetime) -> None:
        """The result on the resident's channel now, with the 追评; kiosk: at next visit."""
        if case.channel == "kiosk":
            return
        conversation = await lock_conversation(session, case.conversation_id)
        if conversation is None:
            return
        await outbox.say(
            session,
            conversation,
            texts.result_told(case.resolution or "") + texts.ASK_FOLLOWUP,
            buttons=[Button(title=words, payload=words) for words in BUTTON_ORDER],
            custom={
                "feedback": {"kind": "case_result", "id": case.id},
                "expect": {"kind": "choice", "options": list(SPOKEN_OPTIONS)},
            },
        )
        case.resident_told_at = now
        case.followup_asked_at = now
        case.followup_conversation_id = conversation.id

    def _step(
        self,
        session: AsyncSession,
        agent: AgentIdentity,
        case: Case,
        from_state: str,
        to_state: str,
        note: str | None,
    ) -> None:
        session.add(
            CaseStep(
                case_id=case.id,
                from_state=from_state,
                to_state=to_state,
                agent_id=agent.id,
                note=note,
                created_at=utcnow(),
            )
        )
        record(
            session,
            AuditAction.CASE_STEP,
            agent_id=agent.id,
            conversation_id=case.conversation_id,
            detail={"case_id": case.id, "from": from_state, "to": to_state},
        )

    async def _summaries(
        self, session: AsyncSession, case_id: int | None
    ) -> list[tuple[CaseSummary, int | None]]:
        statement = (
            select(Case, Rating, Agent.username)
            .join(Rating, Rating.id == Case.rating_id)
            .outerjoin(Agent, Agent.id == Case.assigned_to)
            .order_by(Case.id.desc())
        )
        if case_id is not None:
            statement = statement.where(Case.id == case_id)
        now = utcnow()
        return [
            (self._summary(case, rating, username, now), case.assigned_to)
            for case, rating, username in (await session.execute(statement)).all()
        ]

    def _summary(
        self, case: Case, rating: Rating, username: str | None, now: datetime
    ) -> CaseSummary:
        return CaseSummary(
            id=case.id,
            rating_id=rating.id,
            conversation_id=case.conversation_id,
            channel=case.channel,
            state=case.state,
            complexity=case.complexity,
            level=rating.level,
            level_words=LEVEL_WORDS[Level(rating.level)] if rating.level else None,
            subject=rating.subject,
            task=rating.task,
            service=rating.service,
            assigned_to=username,
            opened_at=case.opened_at,
            callback_due_at=case.callback_due_at,
            fix_due_at=case.fix_due_at,
            called_back_at=case.called_back_at,
            resolved_at=case.resolved_at,
            closed_at=case.closed_at,
            resident_told_at=case.resident_told_at,
            followup_level=case.followup_level,
            urgency=urgency(case, now, self._rules.warn_before),
        )

    async def _detail(self, session: AsyncSession, case: Case) -> CaseDetail:
        await session.flush()
        (summary, _), *_ = await self._summaries(session, case.id)
        rating = await session.get(Rating, case.rating_id)
        steps = (
            await session.execute(
                select(CaseStep, Agent.username)
                .outerjoin(Agent, Agent.id == CaseStep.agent_id)
                .where(CaseStep.case_id == case.id)
                .order_by(CaseStep.id)
            )
        ).all()
        return CaseDetail(
            case=summary,
            reason=rating.reason if rating else None,
            resolution=case.resolution,
            transcript=await staff_transcript(session, case.conversation_id, masked=True),
            steps=[
                CaseStepView(
                    from_state=step.from_state,
                    to_state=step.to_state,
                    agent=username,
                    note=step.note,
                    created_at=step.created_at,
                )
                for step, username in steps
            ],
        )


def _supervisor(agent: AgentIdentity) -> bool:
    return bool(getattr(agent, "is_supervisor", False))


def _require_owner(agent: AgentIdentity, case: Case) -> None:
    """Only the case's agent (or a supervisor) reads or moves it: 403 otherwise."""
    if case.assigned_to != agent.id and not _supervisor(agent):
        raise Forbidden(ErrorCode.NOT_YOUR_CASE)


async def _case(session: AsyncSession, case_id: int, *, lock: bool = False) -> Case:
    statement = select(Case).where(Case.id == case_id)
    if lock:
        statement = statement.with_for_update()
    case: Case | None = await session.scalar(statement)
    if case is None:
        raise NotFound(ErrorCode.CASE_NOT_FOUND)
    return case


async def conversation_of(session: AsyncSession, case: Case) -> Conversation | None:
    """The conversation a case came from (None if it was deleted meanwhile)."""
    return await session.get(Conversation, case.conversation_id)
