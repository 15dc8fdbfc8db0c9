"""Exception handlers that give every HTTP error the same body: {"error": {"code", "message"}}.

One shape means a kiosk or web chat needs one code path to show or speak an error, and
the Chinese `message` can be presented as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from bot.errors import MESSAGES, ErrorCode, GatewayError

logger = logging.getLogger(__name__)

_HTTP_STATUS_CODES = {
    400: ErrorCode.BAD_REQUEST,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.BODY_TOO_LARGE,
    422: ErrorCode.INVALID_REQUEST,
}


class ErrorDetail(BaseModel):
    """What went wrong: `code` for programs, `message` for people."""

    code: str
    message: str


class ErrorBody(BaseModel):
    """The body of every error response (declared for the OpenAPI document)."""

    error: ErrorDetail


def error_response(
    code: ErrorCode, message: str, status: int, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """Build the common error body; Chinese stays readable (no \\u escapes)."""
    body = {"error": {"code": code.value, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


async def _gateway_error(request: Request, exc: Exception) -> JSONResponse:
    """Our own errors already carry code, message and status."""
    assert isinstance(exc, GatewayError)
    return error_response(exc.code, exc.message, exc.status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation (query/path/body models of future routers)."""
    assert isinstance(exc, RequestValidationError)
    # Log where and what kind, never the offending input: it may be personal data.
    problems = [(".".join(map(str, e.get("loc", ()))), e.get("type")) for e in exc.errors()]
    logger.info("request validation failed on %s: %s", request.url.path, problems)
    code = ErrorCode.INVALID_REQUEST
    return error_response(code, MESSAGES[code], 422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's 404/405 and any HTTPException raised by a dependency."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_STATUS_CODES.get(exc.status_code)
    if code is None:
        code = ErrorCode.INTERNAL_ERROR if exc.status_code >= 500 else ErrorCode.BAD_REQUEST
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error_response(code, MESSAGES[code], exc.status_code, headers)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path.

    Starlette's 405 names only the methods of the first route whose path matched, so a
    path served by two routes (``GET`` and ``PUT /api/agent/canned-replies``) would tell a
    client that only ``GET`` exists.
    """
    methods: set[str] = set()
    for route in request.app.routes:
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(request.url.path):
            methods.update(route_methods)
    return sorted(methods)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Last resort, so even a bug answers in the common shape and in Chinese."""
    logger.error("unhandled %s on %s", type(exc).__name__, request.url.path, exc_info=exc)
    code = ErrorCode.INTERNAL_ERROR
    return error_response(code, MESSAGES[code], 500)


def install_error_handlers(app: FastAPI) -> None:
    """Register all handlers; call once from the composition root."""
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
