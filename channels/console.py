"""The agent console: ``GET /agent`` (the page) and ``GET /static/console/{name}`` (its files).

The console is plain HTML, CSS and JavaScript in ``channels/static/console/``: no build
step and no CDN, so it works on an offline community-centre network and the files in the
repository are exactly what the browser runs. It talks to the agent API
(``/api/agent/...``) and the agent WebSocket (``/ws/agent``); this router only serves files.

Files are served from a fixed list rather than a `StaticFiles` mount: a mount on an
`APIRouter` is not carried over by `include_router`, and a fixed list cannot be walked
out of with ``..``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).parent / "static" / "console"
STATIC_PREFIX = "/static/console"

# name -> media type; charset spelled out so Chinese text never depends on sniffing.
_FILES = {
    "console.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}

# Everything comes from this origin; the page has no inline script or style, so the policy
# needs no 'unsafe-inline'. `connect-src 'self'` also covers same-origin ws:/wss:.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate every time (cheap, ETag-based) so an update reaches agents at once.
    "Cache-Control": "no-cache",
}

router = APIRouter(tags=["agent console"])


@router.get("/agent", include_in_schema=False)
async def console_page() -> FileResponse:
    """The single page of the console; the script decides between login and work views."""
    return FileResponse(
        STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_HEADERS
    )


@router.get(STATIC_PREFIX + "/{name}", include_in_schema=False)
async def console_file(name: str) -> FileResponse:
    """One of the console's own files; anything else is the usual 404 error body."""
    media_type = _FILES.get(name)
    if media_type is None:
        # The app's handler turns this into {"error": {"code": "not_found", ...}}.
        raise HTTPException(status_code=404)
    return FileResponse(STATIC_DIR / name, media_type=media_type, headers=_HEADERS)
