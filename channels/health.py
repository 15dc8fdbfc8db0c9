"""``GET /health``: is the assistant usable, and if not, which part is broken.

Always 200 when the gateway itself answers: a kiosk or an operator page reads the body
to show *what* is wrong, and a 5xx would only tell them *that* something is.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import HTTPConnection, Request

from channels.deps import RasaClientDep
from voice import asr, tts

router = APIRouter(tags=["health"])


class ComponentStatus(BaseModel):
    """One backend's verdict."""

    ok: bool
    detail: str


class HealthReport(BaseModel):
    """``ok`` when every text-path component is ok; otherwise ``degraded``.

    Voice is reported on its own: without a speech model the assistant still works by
    text, and a kiosk uses ``voice`` to say so in large text and offer the keyboard.
    """

    status: Literal["ok", "degraded"]
    components: dict[str, ComponentStatus]
    voice: dict[str, ComponentStatus]
    telegram: ComponentStatus | None = Field(
        default=None,
        description="The Telegram channel (polling or webhook); null when no bot token is set."
        " Like voice, it does not change ``status``: the other channels work without it.",
    )


def voice_status() -> dict[str, ComponentStatus]:
    """Speech recognition and synthesis: cheap checks, nothing loaded, no network."""
    asr_ok, asr_detail = asr.availability()
    tts_ok, tts_detail = tts.availability()
    return {
        "asr": ComponentStatus(ok=asr_ok, detail=asr_detail),
        "tts": ComponentStatus(ok=tts_ok, detail=tts_detail),
    }


def telegram_status(connection: HTTPConnection) -> ComponentStatus | None:
    """The Telegram runner's own view (no network call), None when it is not configured."""
    runner = getattr(connection.app.state, "telegram", None)
    if runner is None:
        return None
    ok, detail = runner.status()
    return ComponentStatus(ok=ok, detail=detail)


@router.get("/health", summary="Health of the gateway and the components behind it")
async def health(rasa: RasaClientDep, request: Request) -> HealthReport:
    """Probe every backend now; results are not cached so a fix shows up immediately."""
    checks = await rasa.health()
    components = {
        name: ComponentStatus(ok=check.ok, detail=check.detail) for name, check in checks.items()
    }
    status: Literal["ok", "degraded"] = (
        "ok" if all(c.ok for c in components.values()) else "degraded"
    )
    return HealthReport(
        status=status,
        components=components,
        voice=voice_status(),
        telegram=telegram_status(request),
    )
