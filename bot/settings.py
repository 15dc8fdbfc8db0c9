"""Gateway configuration, read from the environment when `get_settings()` is called.

Environment variables (all optional; defaults in brackets):

- ``GATEWAY_RASA_URL``: base URL of ``rasa run`` [http://127.0.0.1:5005]
- ``RASA_TOKEN``: token of Rasa's HTTP API. No prefix, because ``rasa run --auth-token``
  is started from the same variable. [see "Token lookup" below]
- ``GATEWAY_RASA_TOKEN_FILE``: file holding the token [<project root>/var/rasa_token]
- ``GATEWAY_ACTION_SERVER_URL``: base URL of the action server [http://127.0.0.1:5055]
- ``GATEWAY_RASA_TIMEOUT_S``: seconds to wait for Rasa to answer one turn [30]
- ``GATEWAY_HEALTH_TIMEOUT_S``: seconds to wait for each health probe [3]
- ``GATEWAY_MAX_MESSAGE_CHARS``: longest accepted user message, in characters [2000]
- ``GATEWAY_MAX_BODY_BYTES``: largest accepted request body, in bytes [16384]
- ``GATEWAY_HOST`` / ``GATEWAY_PORT``: where the gateway listens [127.0.0.1 / 8000]

The ``GATEWAY_`` prefix exists because bare ``HOST``/``PORT`` are set by some shells
and platforms for other purposes; a stray ``HOST`` must not make the gateway listen
on a public address.

Token lookup: ``RASA_TOKEN`` if set and non-empty, otherwise the first line of
``GATEWAY_RASA_TOKEN_FILE`` (default ``var/rasa_token`` under the project root, not
under the current directory, so the service finds it wherever it is started from),
otherwise no token. The token is a ``SecretStr`` so it never shows up in a repr or log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOKEN_FILE = PROJECT_ROOT / "var" / "rasa_token"


class Settings(BaseSettings):
    """Everything the gateway needs to know about its surroundings."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        env_ignore_empty=True,
        extra="ignore",
    )

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("RASA_TOKEN", "rasa_token"),
    )
    rasa_token_file: Path = DEFAULT_TOKEN_FILE
    action_server_url: str = "http://127.0.0.1:5055"
    rasa_timeout_s: float = Field(default=30.0, gt=0)
    health_timeout_s: float = Field(default=3.0, gt=0)
    max_message_chars: int = Field(default=2000, gt=0)
    max_body_bytes: int = Field(default=16 * 1024, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)

    @field_validator("rasa_url", "action_server_url")
    @classmethod
    def _normalise_base_url(cls, value: str) -> str:
        """Reject non-HTTP URLs early and drop the trailing slash so paths join cleanly."""
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _token_from_file(self) -> Settings:
        """Fall back to the token file so the token need not sit in a unit file or shell."""
        given = self.rasa_token.get_secret_value().strip() if self.rasa_token else ""
        self.rasa_token = SecretStr(given) if given else _read_token_file(self.rasa_token_file)
        return self

    def rasa_token_value(self) -> str | None:
        """The plain token, for the one place that must put it on the wire."""
        return self.rasa_token.get_secret_value() if self.rasa_token is not None else None


def _read_token_file(path: Path) -> SecretStr | None:
    """A missing file just means "no token"; an unreadable one is a deployment error."""
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    token = content.strip().splitlines()[0].strip() if content.strip() else ""
    if not token:
        logger.warning("Rasa token file %s is empty; calling Rasa without a token", path)
        return None
    return SecretStr(token)


def get_settings() -> Settings:
    """Build settings from the environment now, so importing the package has no side effects."""
    return Settings()
