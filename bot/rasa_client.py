"""Client for the Rasa server (REST channel and HTTP API) and the action server.

One `httpx.AsyncClient` is shared by every request so connections to the local Rasa
are reused; the composition root owns its lifetime (`aclose`). Nothing here logs the
user's text or the API token.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from bot.errors import EngineUnavailable
from bot.messages import BotReply, UserMessage
from bot.privacy.log_redaction import redact_tokens
from bot.settings import Settings

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/rest/webhook"

_REPLIES = TypeAdapter(list[BotReply])


@dataclass(frozen=True)
class ComponentHealth:
    """Whether one backend works, with a one-line reason an operator can act on."""

    ok: bool
    detail: str


class RasaClient:
    """Talks to ``rasa run`` and the action server; maps every failure to `EngineUnavailable`."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        # httpx logs every request URL at INFO; Rasa only accepts its token in the query.
        redact_tokens("httpx")
        self._settings = settings
        self._owns_http = http is None
        # trust_env=False: both backends are on this machine, and a proxy configured in
        # the environment (HTTP_PROXY) must not intercept calls to 127.0.0.1.
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(settings.rasa_timeout_s),
            trust_env=False,
        )

    async def aclose(self) -> None:
        """Close the connection pool, unless the caller lent us their client."""
        if self._owns_http:
            await self._http.aclose()

    async def send(self, message: UserMessage) -> list[BotReply]:
        """Run one turn through Rasa's REST channel and return its replies in order."""
        url = self._settings.rasa_url + WEBHOOK_PATH
        payload = {
            "sender": message.sender_id,
            "message": message.text,
            "metadata": message.metadata,
        }
        try:
            response = await self._http.post(url, json=payload)
        except httpx.TimeoutException as err:
            logger.warning("Rasa did not answer within %ss", self._settings.rasa_timeout_s)
            raise EngineUnavailable() from err
        except httpx.HTTPError as err:
            logger.warning("Rasa unreachable at %s: %s", url, type(err).__name__)
            raise EngineUnavailable() from err

        if response.status_code != 200:
            # 4xx is as fatal as 5xx for the user (e.g. REST channel not enabled in
            # credentials.yml gives 404), but it is our misconfiguration: log louder.
            level = logging.WARNING if response.status_code >= 500 else logging.ERROR
            logger.log(level, "Rasa answered HTTP %s on %s", response.status_code, url)
            raise EngineUnavailable()

        try:
            replies = _REPLIES.validate_json(response.content)
        except ValidationError as err:
            # Do not log `err` itself: its text quotes the reply, which may echo user data.
            logger.error("Rasa answered with an unexpected body (%d problems)", err.error_count())
            raise EngineUnavailable() from err
        if not replies:
            # This bot answers every turn. Rasa's REST channel answers 200 and nothing when
            # the turn failed inside it (its lock store or an action server went away): say
            # so, so the resident hears 请稍后再试 and the retry is answered, not silence.
            logger.warning("Rasa answered the turn with nothing; treated as a failed turn")
            raise EngineUnavailable()
        return replies

    async def health(self) -> dict[str, ComponentHealth]:
        """Probe Rasa and the action server concurrently, so /health costs one timeout at most."""
        rasa, actions = await asyncio.gather(self.rasa_health(), self.actions_health())
        return {"rasa": rasa, "actions": actions}

    async def rasa_health(self) -> ComponentHealth:
        """Rasa is healthy when it answers and has a model loaded (checked via /status)."""
        base = self._settings.rasa_url
        try:
            hello = await self._get(base + "/")
        except httpx.HTTPError as err:
            return ComponentHealth(False, f"unreachable at {base} ({type(err).__name__})")
        if hello.status_code != 200:
            return ComponentHealth(False, f"{base}/ answered HTTP {hello.status_code}")
        version = hello.text.strip()
        if not version.startswith("Hello from Rasa"):
            return ComponentHealth(False, f"{base}/ answered, but not like a Rasa server")

        params = {}
        token = self._settings.rasa_token_value()
        if token is not None:
            params["token"] = token
        try:
            status = await self._get(base + "/status", params=params)
        except httpx.HTTPError as err:
            return ComponentHealth(False, f"/status failed ({type(err).__name__})")
        return _judge_status(version, status, has_token=token is not None)

    async def actions_health(self) -> ComponentHealth:
        """The action server's own /health says {"status": "ok"} when it is up."""
        base = self._settings.action_server_url
        try:
            response = await self._get(base + "/health")
        except httpx.HTTPError as err:
            return ComponentHealth(False, f"unreachable at {base} ({type(err).__name__})")
        if response.status_code != 200:
            return ComponentHealth(False, f"/health answered HTTP {response.status_code}")
        body = _json_or_none(response)
        if isinstance(body, dict) and body.get("status") == "ok":
            return ComponentHealth(True, "ok")
        return ComponentHealth(False, "/health did not say ok")

    async def _get(self, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        """A GET with the short health timeout instead of the long per-turn one."""
        return await self._http.get(url, params=params, timeout=self._settings.health_timeout_s)


def _judge_status(version: str, status: httpx.Response, *, has_token: bool) -> ComponentHealth:
    """Turn Rasa's /status answer into a verdict with the reason spelled out."""
    if status.status_code == 200:
        body = _json_or_none(status)
        model = body.get("model_file") if isinstance(body, dict) else None
        if model:
            return ComponentHealth(True, f"{version}; model {model}")
        return ComponentHealth(False, f"{version}; no model loaded")
    if status.status_code == 409:
        # Rasa answers 409 Conflict on /status while no agent/model is loaded.
        return ComponentHealth(False, f"{version}; no model loaded")
    if status.status_code in (401, 403):
        if not has_token:
            return ComponentHealth(False, f"{version}; /status needs a token (RASA_TOKEN)")
        return ComponentHealth(False, f"{version}; /status rejected the token")
    if status.status_code == 404:
        return ComponentHealth(False, f"{version}; /status missing (start rasa with --enable-api)")
    return ComponentHealth(False, f"{version}; /status answered HTTP {status.status_code}")


def _json_or_none(response: httpx.Response) -> Any:
    """Health probes must never raise on a malformed body; None means "not what we expected"."""
    try:
        return response.json()
    except ValueError:
        return None
