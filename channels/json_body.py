"""Reading a JSON request body ourselves, with a size cap and precise error codes.

FastAPI's automatic body parsing reports bad UTF-8, bad JSON and a missing field all as
one 422; clients of this gateway (kiosk, web chat, Telegram bridge) need to tell them
apart, and the size cap must hold before anything is parsed. Every channel that takes a
JSON body should go through `read_json_body`.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from starlette.requests import Request

from bot.errors import BadRequest, ErrorCode, PayloadTooLarge

# Deepest nesting of arrays/objects a body may have. No client needs more than a few
# levels (metadata); far deeper bodies exist only to exhaust the parser's recursion.
MAX_JSON_DEPTH = 64


async def read_json_body(request: Request, max_bytes: int) -> Any:
    """Return the parsed body, or raise `BadRequest` / `PayloadTooLarge` with the exact code."""
    raw = await read_body_limited(request, max_bytes)
    try:
        # utf-8-sig: a leading byte-order mark (some Windows tools add one) is not an error.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadRequest(ErrorCode.INVALID_ENCODING) from err
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except ValueError as err:  # JSONDecodeError is a ValueError
        raise BadRequest(ErrorCode.INVALID_JSON) from err
    except RecursionError as err:
        # The C parser recurses per level: 5,000 "[" exceed the interpreter's limit. Not
        # a ValueError, so without this it became a 500, and a 500 makes uvicorn close
        # the keep-alive connection under the client's next request.
        raise BadRequest(ErrorCode.INVALID_JSON) from err
    _require_shallow(data)
    _require_encodable(data)
    return data


async def read_body_limited(request: Request, max_bytes: int) -> bytes:
    """Read at most `max_bytes`, refusing early on Content-Length and again while streaming.

    The second check covers chunked uploads, which announce no length.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge()
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise PayloadTooLarge()
    return bytes(body)


def _reject_constant(name: str) -> NoReturn:
    """NaN and Infinity are not JSON; Python accepts them, Rasa's JSON encoder would not."""
    raise ValueError(f"{name} is not valid JSON")


def _require_shallow(data: Any) -> None:
    """Refuse nesting deeper than `MAX_JSON_DEPTH` (checked without recursion).

    Bodies the parser could still read (a few hundred levels) would otherwise recurse
    again in every later step that walks them: `json.dumps` below, logging, the
    request to Rasa.
    """
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise BadRequest(ErrorCode.INVALID_JSON)
        pending.extend((child, depth + 1) for child in children)


def _require_encodable(data: Any) -> None:
    r"""Reject escaped lone surrogates (``"\ud800"``): valid JSON, but not text.

    They decode into a Python str that cannot be encoded as UTF-8 again, so they would
    blow up later when we forward the message to Rasa or write it to a log.
    """
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as err:
        raise BadRequest(ErrorCode.INVALID_ENCODING) from err
