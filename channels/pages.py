"""Serving the gateway's own pages (agent console, kiosk): one page and its fixed files.

The pages are plain HTML, CSS and JavaScript under ``channels/static/<page>/``: no build
step and no CDN, so they work on an offline community-centre network and the files in
the repository are exactly what the browser runs. Files come from a fixed list rather
than a `StaticFiles` mount: a mount on an `APIRouter` is not carried over by
`include_router`, and a fixed list cannot be walked out of with ``..``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_ROOT = Path(__file__).parent / "static"

# Everything comes from this origin; the pages have no inline script or style, so the
# policy needs no 'unsafe-inline'. `connect-src 'self'` also covers same-origin ws:/wss:.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def add_page(
    router: APIRouter,
    *,
    path: str,
    folder: str,
    files: Mapping[str, str],
    extra_csp: str = "",
) -> None:
    """Serve ``static/<folder>/index.html`` at ``path`` and ``files`` (name → media type,
    charset spelled out so Chinese never depends on sniffing) at ``/static/<folder>/``."""
    static_dir = STATIC_ROOT / folder
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY + extra_csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Revalidate every time (cheap, ETag-based) so an update reaches users at once.
        "Cache-Control": "no-cache",
    }

    async def page() -> FileResponse:
        return FileResponse(
            static_dir / "index.html", media_type="text/html; charset=utf-8", headers=headers
        )

    async def static_file(name: str) -> FileResponse:
        media_type = files.get(name)
        if media_type is None:
            # The app's handler turns this into {"error": {"code": "not_found", ...}}.
            raise HTTPException(status_code=404)
        return FileResponse(static_dir / name, media_type=media_type, headers=headers)

    router.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    router.add_api_route(
        f"/static/{folder}/{{name}}", static_file, methods=["GET"], include_in_schema=False
    )
