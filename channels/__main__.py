"""``python -m channels``: run the gateway with uvicorn on settings.host:settings.port."""

from __future__ import annotations

import logging

import uvicorn

from bot.settings import get_settings
from channels.app import create_app


def main() -> None:
    """Read settings once and serve until interrupted.

    Logging is configured here (not on import) so the per-turn INFO lines of `bot.hub`
    are visible when the gateway runs as a service.
    """
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    settings = get_settings()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
