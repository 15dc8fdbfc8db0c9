"""``POST /telegram/webhook``: where Telegram delivers updates in webhook mode.

Telegram sends the secret given at ``setWebhook`` in ``X-Telegram-Bot-Api-Secret-Token``;
a request without the right secret is refused with 403, so nobody else can speak for a
chat. The update is handled in the background and Telegram gets its 200 at once (it
resends an update that is not acknowledged in time). In polling mode, or without a token,
the route answers 404 as if it did not exist. Hidden from the OpenAPI schema: it is
Telegram's interface, not ours.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from channels.deps import SettingsDep
from channels.json_body import read_json_body
from channels.telegram.runner import TelegramRunner, is_webhook_secret

logger = logging.getLogger(__name__)

PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # updates are a few kB; media are fetched separately

router = APIRouter(tags=["telegram"])


@router.post(PATH, include_in_schema=False)
async def telegram_webhook(request: Request, settings: SettingsDep) -> Response:
    runner: TelegramRunner | None = getattr(request.app.state, "telegram", None)
    if runner is None or runner.mode != "webhook":
        return JSONResponse({"error": "not_found"}, status_code=404)
    if not is_webhook_secret(settings, request.headers.get(SECRET_HEADER)):
        logger.warning("telegram webhook: request without the right secret refused")
        return JSONResponse({"error": "forbidden"}, status_code=403)
    update: Any = await read_json_body(request, MAX_UPDATE_BYTES)
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        return JSONResponse({"error": "invalid_request"}, status_code=400)
    runner.feed(update)
    return JSONResponse({"ok": True})
