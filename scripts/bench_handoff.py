"""Handoff load benchmark: many users asking for a person, many agents working the queue.

``python -m scripts.bench_handoff`` (app env). Starts the fake Rasa of the tests
(``python -m tests.app.fake_rasa``) and a real gateway (``python -m channels``), each in
its own process on a free 127.0.0.1 port, with a fresh SQLite database in a temporary
folder, creates the agent accounts, then:

- every agent logs in and keeps a console WebSocket open (``/ws/agent``);
- N users say "转人工" through the REST webhook (at most 50 requests in flight);
- meanwhile every agent works through the API: pick a waiting conversation from its
  console's latest queue push, claim it (409 when a colleague was faster: pick again),
  read it, reply, close it.

Prints p50/p95 of the time from a user's handoff request to the conversation's first
appearance in a console (over all consoles, and the first console to show it), the
claim latency (all attempts, and winners only), and the webhook latency. Everything is
bounded: loopback only, a fixed number of users, and a deadline (--deadline-s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bot.agents import create_agent
from bot.store.db import Database
from scripts.bench_stacks import free_port

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"
IN_FLIGHT_USERS = 50
HTTP_TIMEOUT_S = 15.0


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile; fine for reporting a few hundred samples."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[index]


def describe(name: str, samples_s: list[float]) -> str:
    if not samples_s:
        return f"{name:<44} no samples"
    ms = [s * 1000 for s in samples_s]
    return (
        f"{name:<44} p50 {percentile(ms, 0.5):8.1f} ms   p95 {percentile(ms, 0.95):8.1f} ms"
        f"   max {max(ms):8.1f} ms   n={len(ms)}"
    )


@dataclass
class Console:
    """One agent: its token, its live queue view, and what it has seen when."""

    username: str
    token: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)
    first_seen: dict[int, float] = field(default_factory=dict)
    # Wall-clock delay from the gateway's queued_at (same machine, same clock) to arrival.
    push_delay: dict[int, float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Results:
    sent_at: dict[str, float] = field(default_factory=dict)
    webhook_s: list[float] = field(default_factory=list)
    claim_s: list[float] = field(default_factory=list)
    won_claim_s: list[float] = field(default_factory=list)
    conflicts: int = 0
    sender_of: dict[int, str] = field(default_factory=dict)
    closed: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


async def listen(ws: ClientConnection, console: Console) -> None:
    """Record when each conversation first shows up in this console's queue pushes."""
    async for raw in ws:
        push = json.loads(raw)
        if push.get("type") != "queue":
            continue
        now, wall = time.monotonic(), time.time()
        console.items = push["items"]
        for item in push["items"]:
            if item["conversation_id"] not in console.first_seen:
                console.first_seen[item["conversation_id"]] = now
                queued = datetime.fromisoformat(item["queued_at"]).timestamp()
                console.push_delay[item["conversation_id"]] = wall - queued
        console.changed.set()


async def user(
    http: httpx.AsyncClient, sender: str, results: Results, gate: asyncio.Semaphore
) -> None:
    async with gate:
        results.sent_at[sender] = started = time.monotonic()
        response = await http.post(
            "/webhooks/rest/webhook", json={"sender": sender, "message": "转人工"}
        )
        results.webhook_s.append(time.monotonic() - started)
        if response.status_code != 200:
            results.errors.append(f"webhook {response.status_code}")


async def work(
    http: httpx.AsyncClient, console: Console, results: Results, total: int, deadline: float
) -> None:
    """Claim, read, reply, close until every conversation is done or time is up."""
    rng = random.Random(console.username)
    while len(results.closed) < total and time.monotonic() < deadline:
        candidates = [i for i in console.items if i["conversation_id"] not in results.closed][:3]
        if not candidates:
            console.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(console.changed.wait(), timeout=0.5)
            continue
        conversation_id = rng.choice(candidates)["conversation_id"]
        base = f"/api/agent/conversations/{conversation_id}"
        started = time.monotonic()
        claim = await http.post(f"{base}/claim", headers=console.auth)
        elapsed = time.monotonic() - started
        results.claim_s.append(elapsed)
        if claim.status_code in (404, 409):
            results.conflicts += 1
            console.items = [i for i in console.items if i["conversation_id"] != conversation_id]
            continue
        if claim.status_code != 200:
            results.errors.append(f"claim {claim.status_code}")
            continue
        results.won_claim_s.append(elapsed)
        results.sender_of[conversation_id] = claim.json()["sender_id"]
        await http.post(f"{base}/messages", headers=console.auth, json={"text": "您好，我来帮您。"})
        closed = await http.post(f"{base}/close", headers=console.auth)
        if closed.status_code == 200:
            results.closed.add(conversation_id)
        else:
            results.errors.append(f"close {closed.status_code}")


async def create_agents(database_url: str, count: int) -> None:
    """The accounts, created the way the CLI does it (argon2 hashing included)."""
    database = Database(database_url)
    try:
        await database.upgrade()
        for index in range(count):
            await create_agent(database, f"bench{index:02d}", PASSWORD)
    finally:
        await database.dispose()


@contextlib.contextmanager
def process(argv: list[str], log_path: Path, env: dict[str, str]) -> Iterator[int]:
    """Run `argv` in its own process group for the ``with`` block; yields its pid."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@contextlib.contextmanager
def fake_rasa_and_gateway(workdir: Path, database_url: str) -> Iterator[str]:
    """The fake Rasa and a real gateway in front of it; yields the gateway's base URL."""
    rasa_port, gateway_port = free_port(), free_port()
    rasa_url = f"http://127.0.0.1:{rasa_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    gateway_env = {
        **env,
        "DATABASE_URL": database_url,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(gateway_port),
        "GATEWAY_RASA_URL": rasa_url,
        "GATEWAY_ACTION_SERVER_URL": rasa_url,
    }
    gateway_env.pop("GATEWAY_DATABASE_URL", None)
    fake = [sys.executable, "-m", "tests.app.fake_rasa", "--port", str(rasa_port)]
    with (
        process(fake, workdir / "fake_rasa.log", env),
        process([sys.executable, "-m", "channels"], workdir / "gateway.log", gateway_env),
    ):
        yield f"http://127.0.0.1:{gateway_port}"


async def wait_healthy(http: httpx.AsyncClient, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            health = await http.get("/health")
            # The fake serves the action server's /health too: ok once it is up.
            if health.status_code == 200 and health.json()["components"]["actions"]["ok"]:
                return
        await asyncio.sleep(0.2)
    raise TimeoutError("gateway did not start (see its log)")


async def run(args: argparse.Namespace, base: str) -> tuple[Results, list[Console], float]:
    """Log in, connect the consoles, then users and agents at the same time."""
    results = Results()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(
        base_url=base, timeout=HTTP_TIMEOUT_S, limits=limits, trust_env=False
    ) as http:
        await wait_healthy(http, timeout_s=30)
        consoles = [Console(f"bench{i:02d}") for i in range(args.agents)]
        for console in consoles:
            login = await http.post(
                "/api/agent/login", json={"username": console.username, "password": PASSWORD}
            )
            login.raise_for_status()
            console.token = login.json()["token"]
        ws_base = base.replace("http://", "ws://")
        sockets = [
            await connect(f"{ws_base}/ws/agent?token={c.token}", max_size=None) for c in consoles
        ]
        listeners = [
            asyncio.create_task(listen(ws, c)) for ws, c in zip(sockets, consoles, strict=True)
        ]
        await asyncio.sleep(0.5)  # the first (empty) queue push of each console

        started = time.monotonic()
        deadline = started + args.deadline_s
        gate = asyncio.Semaphore(IN_FLIGHT_USERS)
        users = [
            user(http, f"bench-user-{i:03d}", results, gate) for i in range(args.conversations)
        ]
        workers = [work(http, c, results, args.conversations, deadline) for c in consoles]
        await asyncio.gather(*users, *workers)
        duration = time.monotonic() - started

        for task in listeners:
            task.cancel()
        for ws in sockets:
            await ws.close()
    return results, consoles, duration


def report(
    args: argparse.Namespace, results: Results, consoles: list[Console], duration: float
) -> None:
    every_console: list[float] = []
    first_console: list[float] = []
    for conversation_id, sender in results.sender_of.items():
        sent = results.sent_at[sender]
        seen = [c.first_seen[conversation_id] for c in consoles if conversation_id in c.first_seen]
        every_console.extend(t - sent for t in seen)
        if seen:
            first_console.append(min(seen) - sent)
    print(
        f"handoff bench: {args.conversations} users, {args.agents} agents, "
        f"SQLite, push interval default; {duration:.1f} s, "
        f"{len(results.closed)} conversations claimed+answered+closed "
        f"({len(results.closed) / duration:.1f}/s)"
    )
    print(describe("webhook '转人工' (Rasa + queue + reply)", results.webhook_s))
    print(describe("handoff -> first console shows it", first_console))
    print(describe("handoff -> each console shows it", every_console))
    pushes = [delay for c in consoles for delay in c.push_delay.values()]
    print(describe("queued in DB -> each console shows it", pushes))
    print(describe("claim, all attempts (200 and 409)", results.claim_s))
    print(describe("claim, winners", results.won_claim_s))
    print(f"claims lost to a colleague (409/404): {results.conflicts}")
    if results.errors:
        print(f"errors: {len(results.errors)} e.g. {results.errors[:5]}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_handoff", description=__doc__)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--deadline-s", type=float, default=90.0)
    parser.add_argument("--keep-log", type=Path, help="copy the gateway's log here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-handoff-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite+aiosqlite:///{workdir / 'gateway.db'}"
        asyncio.run(create_agents(database_url, args.agents))
        try:
            with fake_rasa_and_gateway(workdir, database_url) as base:
                results, consoles, duration = asyncio.run(run(args, base))
        finally:
            if args.keep_log:
                shutil.copy(workdir / "gateway.log", args.keep_log)
    report(args, results, consoles, duration)
    done = len(results.closed) == args.conversations and not results.errors
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
