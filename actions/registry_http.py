"""The social-security registry over HTTP, for a real deployment.

Behind the same `Registry` interface as the embedded SQLite registry. The API we assume:

    GET  {base}/residents/{id_number}                 -> 200 resident JSON, or 404
    POST {base}/residents/{id_number}/certifications  {"certified_at": ISO datetime} -> 201
    Authorization: Bearer <token>

The resident JSON carries ``district`` (whose region rule sets the authentication cycle,
`actions.cycle`), ``pension_status`` ("receiving" / "suspended") and ``last_certified``
(ISO date or null). We expect the POST itself to resume a suspended payment (from the next
month, missed months paid: 补发), as the embedded registry does; the kiosk only tells the
resident so and does not send a second request for it.

A resident is waiting at the kiosk, so every call is bounded (`RegistryHttpSettings`):
a short per-request timeout, a few retries with exponential backoff and jitter on
connection errors, timeouts and 5xx (never on 4xx: asking again gets the same answer), an
overall deadline, and a circuit breaker so that while the registry is down nobody waits
for it at all. Every failure is a `RegistryUnavailable`, the one error the actions handle.

Full ID numbers go in the URL (that is the API) but never into a log line or an error
message: those use `mask_id_number`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from actions.registry import (
    Assistance,
    RegistryUnavailable,
    Resident,
    Verification,
    verification,
)
from actions.settings import RegistryHttpSettings
from nlu.id_card import mask_id_number

logger = logging.getLogger(__name__)

_TRANSIENT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)
# No retry that would have less time than this left before the deadline (a zero
# timeout means "no timeout" to aiohttp).
_MIN_ATTEMPT_S = 0.05


class CircuitBreaker:
    """Counts consecutive failed requests; when too many, fails fast for a cool-down.

    Closed: requests go through. Open (``threshold`` failures in a row): requests are
    refused until ``cooldown_s`` has passed. Then one trial request goes through; its
    success closes the breaker, its failure opens it for another cool-down.
    """

    def __init__(
        self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None

    def before_request(self) -> None:
        """Let a request through, or raise `RegistryUnavailable` while the breaker is open."""
        if self._opened_at is None:
            return
        left = self._cooldown_s - (self._clock() - self._opened_at)
        if left > 0 or self._trial_in_flight:
            raise RegistryUnavailable(f"registry circuit open, {max(left, 0):.1f}s cool-down left")
        self._trial_in_flight = True

    def success(self) -> None:
        if self._opened_at is not None:
            logger.info("registry circuit closed: the registry answers again")
        self._failures = 0
        self._opened_at = None
        self._trial_in_flight = False

    def failure(self) -> None:
        self._failures += 1
        if self._trial_in_flight or (self._opened_at is None and self._failures >= self._threshold):
            logger.warning(
                "registry circuit open for %.0fs after %d failed requests",
                self._cooldown_s,
                self._failures,
            )
            self._opened_at = self._clock()
        self._trial_in_flight = False

    def abandon(self) -> None:
        """A request was cancelled: it proved nothing, let the next one be the trial."""
        self._trial_in_flight = False


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes


def _parse_resident(body: bytes, id_number: str) -> Resident:
    """A resident from the registry's JSON; a malformed one is an unusable registry."""
    try:
        data: dict[str, Any] = json.loads(body)
        last = data["last_certified"]
        resident = Resident(
            id_number=str(data["id_number"]),
            name=str(data["name"]),
            district=str(data["district"]),
            pension_status=str(data["pension_status"]),
            last_certified=date.fromisoformat(last) if last else None,
        )
    except (ValueError, TypeError, KeyError) as err:
        raise RegistryUnavailable("registry sent a malformed resident") from err
    if resident.id_number != id_number:
        raise RegistryUnavailable("registry answered for another ID number")
    return resident


class HttpRegistry:
    """Client of the registry's HTTP API; one instance (and one session) per process."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        settings: RegistryHttpSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("REGISTRY_URL must start with http:// or https://")
        if not token:
            logger.warning("REGISTRY_TOKEN is not set: registry requests are unauthenticated")
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._settings = settings or RegistryHttpSettings()
        self._breaker = CircuitBreaker(
            self._settings.breaker_threshold, self._settings.breaker_cooldown_s, clock
        )
        self._session: aiohttp.ClientSession | None = None

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    def _get_session(self) -> aiohttp.ClientSession:
        """The shared session, created on first use inside the running event loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, raise_for_status=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _url(self, id_number: str, *rest: str) -> str:
        return "/".join((self._base_url, "residents", quote(id_number, safe=""), *rest))

    def _backoff(self, retry: int) -> float:
        delay = min(self._settings.backoff_max_s, self._settings.backoff_s * 2 ** (retry - 1))
        return delay + random.uniform(0, delay / 2)

    async def _send(self, method: str, url: str, payload: Any, timeout: float) -> _Reply:
        session = self._get_session()
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with session.request(method, url, json=payload, timeout=client_timeout) as response:
            return _Reply(response.status, await response.read())

    async def _request(
        self, method: str, id_number: str, *rest: str, payload: Any = None
    ) -> _Reply:
        """Send with retries; return the first reply that is not a server error."""
        what = f"{method} {mask_id_number(id_number)}"
        url = self._url(id_number, *rest)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._settings.deadline_s
        for attempt in range(1, self._settings.attempts + 1):
            self._breaker.before_request()
            error: BaseException | None = None
            try:
                timeout = min(self._settings.request_timeout_s, deadline - loop.time())
                reply = await self._send(method, url, payload, timeout)
            except _TRANSIENT_ERRORS as err:
                error, reason = err, type(err).__name__
            except asyncio.CancelledError:
                self._breaker.abandon()
                raise
            else:
                if reply.status < 500:
                    self._breaker.success()
                    return reply
                reason = f"HTTP {reply.status}"
            self._breaker.failure()
            delay = self._backoff(attempt)
            out_of_time = loop.time() + delay + _MIN_ATTEMPT_S >= deadline
            if attempt == self._settings.attempts or out_of_time:
                raise RegistryUnavailable(
                    f"registry {what}: {reason} after {attempt} attempt(s)"
                ) from error
            logger.warning("registry %s: %s, retry in %.2fs", what, reason, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def find(self, id_number: str) -> Resident | None:
        reply = await self._request("GET", id_number)
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise RegistryUnavailable(f"registry GET {mask_id_number(id_number)}: {reply.status}")
        return _parse_resident(reply.body, id_number)

    async def verify(self, id_number: str, name: str) -> Verification:
        # The registry API returns the registered name; the comparison is ours, so both
        # registries match names by the same rules.
        return verification(await self.find(id_number), name)

    async def record_certification(
        self, id_number: str, when: datetime, assisted: Assistance | None = None
    ) -> None:
        # A naive time is the kiosk's local time; the registry gets it with its offset.
        payload: dict[str, Any] = {"certified_at": when.astimezone().isoformat(timespec="seconds")}
        if assisted is not None:
            payload["assisted_by"] = {
                "relation": assisted.relation,
                "resident_confirmed": assisted.resident_confirmed,
            }
        reply = await self._request("POST", id_number, "certifications", payload=payload)
        if not 200 <= reply.status < 300:
            raise RegistryUnavailable(
                f"registry POST {mask_id_number(id_number)}: HTTP {reply.status}"
            )
        logger.info("certification recorded for %s", mask_id_number(id_number))
