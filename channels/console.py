"""The agent console: ``GET /agent`` (the page) and ``GET /static/console/{name}`` (its files),
plus ``GET /static/common/{name}``, the files all the pages share.

The console talks to the agent API (``/api/agent/...``) and the agent WebSocket
(``/ws/agent``); this router only serves its files (see `channels.pages`).
"""

from __future__ import annotations

from fastapi import APIRouter

from channels.pages import add_page, add_shared_files

router = APIRouter(tags=["agent console"])
add_page(
    router,
    path="/agent",
    folder="console",
    files={
        "console.js": "text/javascript; charset=utf-8",
        "console.css": "text/css; charset=utf-8",
        "favicon.svg": "image/svg+xml",
    },
)
# The files all three pages share (/static/common/base.css): registered here, once; see
# `add_shared_files` for why the console's router.
add_shared_files(router)
