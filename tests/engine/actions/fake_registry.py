"""A fake social-security registry: the HTTP API `actions.registry_http` assumes.

An aiohttp app on a free 127.0.0.1 port serving residents from an in-memory dict, with
switchable failures (server errors for the next N requests, every request down, slow
answers) and a bearer-token check. It counts every request it receives, so tests can see
that a retry happened, or that an open circuit breaker spared the server.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web
from aiohttp.typedefs import Handler

TOKEN = "test-token"


@dataclass
class FakeRegistry:
    residents: dict[str, dict[str, str | None]] = field(default_factory=dict)
    token: str = TOKEN
    fail_next: int = 0  # answer this many of the next requests with `fail_status`
    fail_status: int = 500
    down: bool = False  # answer every request with 503
    delay_s: float = 0.0  # answer this late
    requests: int = 0
    certifications: list[tuple[str, datetime]] = field(default_factory=list)
    # The `assisted_by` part of each certification that had one (帮他人认证).
    assisted: list[dict[str, object]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = field(default=None, init=False, repr=False)

    def add(self, id_number: str, name: str, district: str, last: str | None = None) -> None:
        self.residents[id_number] = {
            "id_number": id_number,
            "name": name,
            "district": district,
            "pension_status": "receiving",
            "last_certified": last,
        }

    async def start(self) -> str:
        app = web.Application(middlewares=[self._faults])
        app.router.add_get("/api/residents/{id_number}", self._get)
        app.router.add_post("/api/residents/{id_number}/certifications", self._post)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/api"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.down:
            raise web.HTTPServiceUnavailable()
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=self.fail_status, text="fault injected")
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise web.HTTPUnauthorized()
        return await handler(request)

    async def _get(self, request: web.Request) -> web.Response:
        resident = self.residents.get(request.match_info["id_number"])
        if resident is None:
            raise web.HTTPNotFound()
        return web.json_response(resident)

    async def _post(self, request: web.Request) -> web.Response:
        id_number = request.match_info["id_number"]
        if id_number not in self.residents:
            raise web.HTTPNotFound()
        body = await request.json()
        when = datetime.fromisoformat(body["certified_at"])
        self.certifications.append((id_number, when))
        if "assisted_by" in body:
            self.assisted.append(body["assisted_by"])
        self.residents[id_number]["last_certified"] = when.date().isoformat()
        self.residents[id_number]["pension_status"] = "receiving"  # the POST resumes payment
        return web.json_response({"id_number": id_number}, status=201)
