"""The supervisors' pages: ``GET /admin`` (dashboard and review of missed utterances) and
the API under ``/api/admin`` it talks to.

Every API route requires a supervisor (router-level dependency: 401 without a valid
login, 403 for an agent), so a new route cannot forget it. Routes only translate HTTP
to `bot.reports`; the figures, the review rules and the export live there. Viewing the
dashboard, each review decision and each export are audited.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import HTTPConnection

from bot.errors import InvalidRequest
from bot.reports import misses, presentation, reviewed
from bot.reports.figures import Granularity, ReportFilter, dashboard
from bot.store.audit import AuditAction, record
from bot.store.db import Database
from bot.store.models import MAX_BIG_ID, utcnow
from channels.deps import CurrentSupervisor, SettingsDep, body_doc, current_supervisor, json_model
from channels.error_handlers import ErrorBody
from channels.pages import add_page

DEFAULT_DAYS = 14

pages = APIRouter(tags=["admin"])
add_page(
    pages,
    path="/admin",
    folder="admin",
    files={
        "admin.js": "text/javascript; charset=utf-8",
        "admin.css": "text/css; charset=utf-8",
    },
)

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "unauthorized: missing, unknown or expired token"},
    403: {"model": ErrorBody, "description": "forbidden: the account is not a supervisor"},
    422: {"model": ErrorBody, "description": "invalid_request"},
}
router = APIRouter(
    prefix="/api/admin",
    tags=["admin"],
    dependencies=[Depends(current_supervisor)],
    responses=_ERRORS,
)


def get_database(connection: HTTPConnection) -> Database:
    """The database built in the app's lifespan."""
    return cast(Database, connection.app.state.database)


DatabaseDep = Annotated[Database, Depends(get_database)]


class AcceptRequest(BaseModel):
    """Accept a candidate as an example of `intent`; `text` replaces its words if given."""

    model_config = ConfigDict(strict=True)

    intent: str = Field(min_length=1, max_length=64, examples=["service_lookup"])
    text: str | None = Field(default=None, min_length=1, max_length=misses.MAX_EXAMPLE_CHARS)


class ExportResult(BaseModel):
    """What the export wrote."""

    examples: int
    written: bool
    file: str


def _filter(
    settings: SettingsDep,
    start: Annotated[date | None, Query(description="first local day [13 days before end]")] = None,
    end: Annotated[date | None, Query(description="last local day [today]")] = None,
    granularity: Annotated[Granularity, Query()] = Granularity.DAY,
    channel: Annotated[str | None, Query(max_length=32)] = None,
) -> ReportFilter:
    tz = ZoneInfo(settings.report_timezone)
    today = datetime.now(tz).date()
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    try:
        return ReportFilter(start, end, granularity, channel or None, tz)
    except ValueError:
        raise InvalidRequest() from None


FilterDep = Annotated[ReportFilter, Depends(_filter)]


async def _dashboard(
    database: Database, flt: ReportFilter, supervisor: CurrentSupervisor, form: str
) -> presentation.DashboardView:
    async with database.transaction() as session:
        dash = await dashboard(session, flt, utcnow())
        record(
            session,
            AuditAction.VIEW_DASHBOARD,
            agent_id=supervisor.id,
            detail={"start": str(flt.start), "end": str(flt.end), "form": form},
        )
    return presentation.build(dash)


@router.get("/dashboard", summary="The dashboard's figures, charts (SVG) and tables")
async def get_dashboard(
    database: DatabaseDep, flt: FilterDep, supervisor: CurrentSupervisor
) -> presentation.DashboardView:
    return await _dashboard(database, flt, supervisor, "page")


@router.get(
    "/dashboard.csv",
    summary="Every table of the dashboard as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM"}},
)
async def get_dashboard_csv(
    database: DatabaseDep, flt: FilterDep, supervisor: CurrentSupervisor
) -> Response:
    view = await _dashboard(database, flt, supervisor, "csv")
    # The BOM makes spreadsheet programs read the Chinese as UTF-8.
    body = "\ufeff" + presentation.to_csv(view)
    name = f"dashboard-{flt.start}-{flt.end}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


CandidateId = Annotated[int, Path(ge=1, le=MAX_BIG_ID)]


@router.get("/candidates", summary="Missed utterances waiting for review, and the intents")
async def get_candidates(database: DatabaseDep) -> misses.ReviewQueue:
    async with database.read() as session:
        return await misses.review_queue(session)


@router.post(
    "/candidates/{candidate_id}/accept",
    status_code=204,
    summary="Accept a missed utterance as a training example",
    openapi_extra=body_doc(AcceptRequest),
    responses={404: {"model": ErrorBody, "description": "not_found: no such pending candidate"}},
)
async def accept_candidate(
    candidate_id: CandidateId,
    body: Annotated[AcceptRequest, Depends(json_model(AcceptRequest))],
    database: DatabaseDep,
    supervisor: CurrentSupervisor,
) -> Response:
    async with database.transaction() as session:
        await misses.accept(session, candidate_id, body.intent, body.text, supervisor)
    return Response(status_code=204)


@router.post(
    "/candidates/{candidate_id}/drop",
    status_code=204,
    summary="Drop a missed utterance: it never becomes training data",
    responses={404: {"model": ErrorBody, "description": "not_found: no such pending candidate"}},
)
async def drop_candidate(
    candidate_id: CandidateId, database: DatabaseDep, supervisor: CurrentSupervisor
) -> Response:
    async with database.transaction() as session:
        await misses.drop(session, candidate_id, supervisor)
    return Response(status_code=204)


@router.post("/reviewed/export", summary="Write the accepted examples to the NLU data file")
async def export_reviewed(
    database: DatabaseDep, settings: SettingsDep, supervisor: CurrentSupervisor
) -> ExportResult:
    async with database.transaction() as session:
        examples = await reviewed.accepted_examples(session)
        written = reviewed.write_reviewed(settings.reviewed_nlu_file, examples)
        record(
            session,
            AuditAction.EXPORT_REVIEWED,
            agent_id=supervisor.id,
            detail={"examples": len(examples)},
        )
    return ExportResult(
        examples=len(examples), written=written, file=settings.reviewed_nlu_file.name
    )
