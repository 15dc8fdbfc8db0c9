"""HTTP for 好差评 and 差评必改: the agents' case routes and the resident's later rating.

- ``/api/agent/cases...`` (bearer token): an agent's cases, a case page with the masked
  transcript (403 unless the case is theirs), taking an unassigned case, state steps,
  complexity; ``/api/agent/cases/overdue`` for supervisors (deadlines near or past).
- ``/agent/cases``: the page agents work their cases on (files in ``static/cases``).
- ``/api/conversations/{sender_id}/rating`` (the sender id is the key, as for the user
  messages API): the newest task still open to a rating within the window, and the
  rating itself. A rating given is final: a second POST is 409 ``rating_closed``.

Routes only translate; the rules are in `bot.feedback.cases` and `bot.feedback.flow`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from bot.errors import Conflict, ErrorCode, InvalidRequest, NotFound
from bot.feedback.cases import CaseDesk
from bot.feedback.flow import FeedbackRules, ratable, rate_later
from bot.feedback.rating_words import BUTTON_ORDER, parse_level
from bot.feedback.views import CaseDetail, CaseList, CaseSummary
from bot.store.db import Database
from bot.store.models import MAX_INT_ID, CaseState, Rating, utcnow
from bot.store.transcript import find_by_sender
from channels.deps import CurrentAgent, CurrentSupervisor, body_doc, current_agent, json_model
from channels.error_handlers import ErrorBody
from channels.pages import add_page
from channels.rest import SENDER_PATTERN


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "invalid_json or invalid_encoding",
        401: "unauthorized: missing, unknown or expired token",
        403: "not_your_case (or forbidden: supervisors only)",
        404: "case_not_found / conversation_not_found",
        409: "case_taken, invalid_case_step, resolution_required or rating_closed",
        413: "body_too_large",
        422: "invalid_request",
    }
    return {s: {"model": ErrorBody, "description": descriptions[s]} for s in statuses}


def get_cases(connection: HTTPConnection) -> CaseDesk:
    desk: CaseDesk = connection.app.state.cases
    return desk


def get_rules(connection: HTTPConnection) -> FeedbackRules:
    rules: FeedbackRules = connection.app.state.feedback_rules
    return rules


def get_database(connection: HTTPConnection) -> Database:
    database: Database = connection.app.state.database
    return database


CasesDep = Annotated[CaseDesk, Depends(get_cases)]
RulesDep = Annotated[FeedbackRules, Depends(get_rules)]
DatabaseDep = Annotated[Database, Depends(get_database)]
CaseId = Annotated[int, Path(ge=1, le=MAX_INT_ID)]


class StepRequest(BaseModel):
    """Move a case on; fixed / explained need ``note``: the sentence the resident is told
    (without one they are 409 ``resolution_required``, like any step out of order)."""

    model_config = ConfigDict(strict=True)

    to: Literal["called_back", "fixed", "explained", "closed"]
    note: str | None = Field(
        default=None, max_length=1000, examples=["已经加派人手，以后不用等这么久。"]
    )


class ComplexityRequest(BaseModel):
    """Simple (fix in 24 working hours) or complex (72)."""

    model_config = ConfigDict(strict=True)

    complexity: Literal["simple", "complex"]


class RatingRequest(BaseModel):
    """A later rating: the level's words (非常满意 ... 非常不满意) or 1-5, optional reason.

    Not strict: JSON's 4.0 is the integer 4 as far as the schema is concerned.
    """

    level: (
        Literal["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
        | Annotated[int, Field(ge=1, le=5)]
    ) = Field(examples=["不满意", 2])
    reason: str | None = Field(default=None, max_length=500)


class AbusiveRequest(BaseModel):
    """Why the supervisor judged the rating abusive (申诉复核)."""

    model_config = ConfigDict(strict=True)

    reason: str = Field(min_length=1, max_length=1000, pattern=r"\S", examples=["辱骂工作人员"])


class OpenRating(BaseModel):
    """The task a resident may still rate (``rating`` null: nothing to rate)."""

    rating_id: int | None = None
    subject: str | None = None
    task: str | None = None
    service: str | None = None
    levels: list[str] = Field(default_factory=lambda: list(BUTTON_ORDER))


class RatingResult(BaseModel):
    """A stored rating; ``case_opened`` for a 差评."""

    rating_id: int
    level: int
    case_opened: bool


agent = APIRouter(
    prefix="/api/agent/cases",
    tags=["cases"],
    dependencies=[Depends(current_agent)],
    responses=_errors(401),
)
user = APIRouter(prefix="/api/conversations", tags=["user"])
ratings = APIRouter(
    prefix="/api/agent/ratings",
    tags=["cases"],
    dependencies=[Depends(current_agent)],
    responses=_errors(401),
)
# The agents' 差评件 page (channels/static/cases), linked from the console's banner.
page = APIRouter(tags=["agent console"])
add_page(
    page,
    path="/agent/cases",
    folder="cases",
    files={"cases.js": "text/javascript; charset=utf-8", "cases.css": "text/css; charset=utf-8"},
)


@agent.get("", summary="Your cases and the unassigned ones")
async def list_cases(cases: CasesDep, me: CurrentAgent) -> CaseList:
    """Newest first; no transcripts here (the case page has it, audited)."""
    return await cases.cases_for(me)


@agent.get(
    "/overdue", summary="Cases near or past a deadline (supervisors)", responses=_errors(403)
)
async def overdue_cases(cases: CasesDep, _: CurrentSupervisor) -> list[CaseSummary]:
    """The supervisors' queue: urgency ``due_soon`` or ``overdue``."""
    return await cases.overdue()


@agent.get("/{case_id}", summary="A case with its masked transcript", responses=_errors(403, 404))
async def get_case(cases: CasesDep, me: CurrentAgent, case_id: CaseId) -> CaseDetail:
    """Only the case's agent (or a supervisor); the read is audited."""
    return await cases.detail(me, case_id)


@agent.post("/{case_id}/take", summary="Take an unassigned case", responses=_errors(404, 409))
async def take_case(cases: CasesDep, me: CurrentAgent, case_id: CaseId) -> CaseDetail:
    """The case becomes yours; 409 if another agent has it."""
    return await cases.take(me, case_id)


@agent.post(
    "/{case_id}/steps",
    summary="Move a case on (called back, fixed, explained, closed)",
    responses=_errors(400, 403, 404, 409, 413, 422),
    openapi_extra=body_doc(StepRequest),
)
async def step_case(
    cases: CasesDep,
    me: CurrentAgent,
    case_id: CaseId,
    body: Annotated[StepRequest, Depends(json_model(StepRequest))],
) -> CaseDetail:
    """Fixed / explained tell the resident the note on their channel; audited."""
    return await cases.step(me, case_id, CaseState(body.to), body.note)


@agent.post(
    "/{case_id}/complexity",
    summary="Simple or complex: moves the fix deadline",
    responses=_errors(400, 403, 404, 409, 413, 422),
    openapi_extra=body_doc(ComplexityRequest),
)
async def case_complexity(
    cases: CasesDep,
    me: CurrentAgent,
    case_id: CaseId,
    body: Annotated[ComplexityRequest, Depends(json_model(ComplexityRequest))],
) -> CaseDetail:
    """Only while the case is not fixed or explained yet."""
    return await cases.set_complexity(me, case_id, body.complexity)


@ratings.post(
    "/{rating_id}/abusive",
    status_code=204,
    summary="申诉复核: mark a rating abusive (supervisors)",
    responses=_errors(400, 403, 404, 409, 413, 422),
    openapi_extra=body_doc(AbusiveRequest),
)
async def mark_abusive(
    cases: CasesDep,
    supervisor: CurrentSupervisor,
    rating_id: CaseId,
    body: Annotated[AbusiveRequest, Depends(json_model(AbusiveRequest))],
) -> Response:
    """The rating leaves the figures but stays on record; once; audited."""
    await cases.mark_abusive(supervisor, rating_id, body.reason)
    return Response(status_code=204)


@user.get(
    "/{sender_id}/rating",
    summary="The task you may still rate",
    responses=_errors(404),
)
async def open_rating(
    database: DatabaseDep,
    rules: RulesDep,
    sender_id: Annotated[str, Path(pattern=SENDER_PATTERN)],
) -> OpenRating:
    """The newest unrated task of the last days (the window is a setting)."""
    async with database.read() as session:
        conversation = await find_by_sender(session, sender_id)
        if conversation is None:
            raise NotFound()
        rating = await ratable(session, conversation.id, utcnow() - rules.rating_window)
    if rating is None:
        return OpenRating()
    return OpenRating(
        rating_id=rating.id, subject=rating.subject, task=rating.task, service=rating.service
    )


@user.post(
    "/{sender_id}/rating/{rating_id}",
    summary="Rate a task later (once)",
    responses=_errors(400, 404, 409, 413, 422),
    openapi_extra=body_doc(RatingRequest),
)
async def give_rating(
    database: DatabaseDep,
    rules: RulesDep,
    sender_id: Annotated[str, Path(pattern=SENDER_PATTERN)],
    rating_id: CaseId,
    body: Annotated[RatingRequest, Depends(json_model(RatingRequest))],
) -> RatingResult:
    """A 差评 opens a case; a rating already given, or too old, is 409 rating_closed."""
    level = parse_level(str(body.level))
    if level is None:
        raise InvalidRequest()
    async with database.transaction() as session:
        conversation = await find_by_sender(session, sender_id)
        rating = await session.get(Rating, rating_id, with_for_update=True)
        if conversation is None or rating is None or rating.conversation_id != conversation.id:
            raise NotFound()
        if not await rate_later(session, rating, level, body.reason or "", rules):
            raise Conflict(ErrorCode.RATING_CLOSED)
    return RatingResult(rating_id=rating.id, level=int(level), case_opened=level.is_bad)
