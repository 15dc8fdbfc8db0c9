"""Serving the gateway's own pages (web chat, agent console, kiosk): one page and its fixed
files, and the few files the pages share (`add_shared_files`, `SHARED_FILES`).

The pages are plain HTML, CSS and JavaScript under ``channels/static/<page>/``: no build
step and no CDN, so they work on an offline community-centre network and the files in
the repository are exactly what the browser runs. Files come from a fixed list rather
than a `StaticFiles` mount: a mount on an `APIRouter` is not carried over by
`include_router`, and a fixed list cannot be walked out of with ``..``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Final

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC_ROOT = Path(__file__).parent / "static"

# Everything comes from this origin; the pages have no inline script or style, so the
# policy needs no 'unsafe-inline'. `connect-src 'self'` also covers same-origin ws:/wss:.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


# What every page links from ``/static/common/``: the shared foundation of the pages'
# stylesheets (palette, focus rings, skip link, hiding), before each page's own CSS.
SHARED_FOLDER: Final = "common"
SHARED_FILES: Final[Mapping[str, str]] = MappingProxyType({"base.css": "text/css; charset=utf-8"})


def _headers(extra_csp: str = "") -> dict[str, str]:
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY + extra_csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Revalidate every time (cheap, ETag-based) so an update reaches users at once.
        "Cache-Control": "no-cache",
    }


def _add_files(
    router: APIRouter, *, folder: str, files: Mapping[str, str], headers: Mapping[str, str]
) -> None:
    """``GET /static/<folder>/{name}`` for the names in ``files`` (name → media type)."""
    static_dir = STATIC_ROOT / folder

    async def static_file(name: str) -> FileResponse:
        media_type = files.get(name)
        if media_type is None:
            # The app's handler turns this into {"error": {"code": "not_found", ...}}.
            raise HTTPException(status_code=404)
        return FileResponse(static_dir / name, media_type=media_type, headers=headers)

    router.add_api_route(
        f"/static/{folder}/{{name}}", static_file, methods=["GET"], include_in_schema=False
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
    headers = _headers(extra_csp)
    index = STATIC_ROOT / folder / "index.html"

    async def page() -> FileResponse:
        return FileResponse(index, media_type="text/html; charset=utf-8", headers=headers)

    router.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    _add_files(router, folder=folder, files=files, headers=headers)


def add_shared_files(
    router: APIRouter,
    *,
    folder: str = SHARED_FOLDER,
    files: Mapping[str, str] = SHARED_FILES,
) -> None:
    """Serve files that several pages link (``static/<folder>/``, by default
    `SHARED_FILES` under ``/static/common/``) with the same headers as the pages.

    Registered ONCE, by the agent console's router (`channels.console`), rather than by a
    router of its own in `channels.app`: the console router is what the console's browser
    tests mount on their fake agent API (tests/browser/fake_api.py), so the console page
    is styled there too without that app having to know about a second router; the real
    gateway includes all three page routers anyway, and the console already serves the
    favicon the other two pages use. Not once per page router: the same route three
    times would only ever answer from the first.
    """
    _add_files(router, folder=folder, files=files, headers=_headers())
