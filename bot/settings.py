"""Gateway configuration, read from the environment when `get_settings()` is called.

Environment variables (all optional; defaults in brackets):

- ``GATEWAY_RASA_URL``: base URL of ``rasa run`` [http://127.0.0.1:5005]
- ``RASA_TOKEN``: token of Rasa's HTTP API. No prefix, because Rasa is started from the
  same variable (``scripts/rasa_server.py``, which keeps it off the command line).
  [see "Token lookup" below]
- ``GATEWAY_RASA_TOKEN_FILE``: file holding the token [<project root>/var/rasa_token]
- ``GATEWAY_ACTION_SERVER_URL``: base URL of the action server [http://127.0.0.1:5055]
- ``GATEWAY_RASA_TIMEOUT_S``: seconds to wait for Rasa to answer one turn [30]
- ``GATEWAY_HEALTH_TIMEOUT_S``: seconds to wait for each health probe [3]
- ``GATEWAY_MAX_MESSAGE_CHARS``: longest accepted user message, in characters [2000]
- ``GATEWAY_MAX_BODY_BYTES``: largest accepted request body, in bytes [16384]
- ``GATEWAY_HOST`` / ``GATEWAY_PORT``: where the gateway listens [127.0.0.1 / 8000]
- ``DATABASE_URL`` (or ``GATEWAY_DATABASE_URL``): handoff queue, transcripts, agents, audit
  [sqlite+aiosqlite:///<project root>/var/gateway.db]; ``postgresql+asyncpg://user:pw@host/db``
  for PostgreSQL (plain ``postgresql://`` is accepted and gets the asyncpg driver).
- ``GATEWAY_REDIS_URL``: Redis for running several gateways (``make run-cluster``): events
  fan out through a Redis stream, a resident's turns are ordered by a Redis lock, one
  gateway is elected to poll Telegram. Unset: all of that stays in this process [unset]
- ``GATEWAY_REDIS_LOCK_TTL_S``: expiry of a sender's Redis lock, renewed while a turn runs;
  a gateway that dies holding one blocks that sender this long at most [10]
- ``GATEWAY_EVENT_RETENTION_S``: how long events stay in the Redis stream for consoles and
  kiosks catching up after a reconnect (they hold residents' words: kept short) [3600]
- ``GATEWAY_CALLBACK_OFFER_AFTER_S``: waiting time before the bot offers a call-back [300]
- ``GATEWAY_AGENT_TOKEN_TTL_S``: how long an agent's login token is valid [43200, 12 h]
- ``GATEWAY_DEFAULT_HANDLING_S``: assumed handling time per conversation for wait estimates
  while there is no history yet [240]
- ``GATEWAY_HANDOFF_TICK_S``: how often waiting requests are checked for a due call-back
  offer [5]
- ``GATEWAY_QUEUE_PUSH_INTERVAL_S``: shortest gap between two queue pushes to consoles;
  changes inside the gap are merged into one push [0.1]
- ``GATEWAY_TELEGRAM_TOKEN``: the bot token from @BotFather. Unset: no Telegram channel is
  started and the gateway works as before. [unset]
- ``GATEWAY_TELEGRAM_MODE``: ``polling`` (long polling: works behind NAT, no public HTTPS,
  right for a kiosk or a community centre) or ``webhook`` (Telegram calls
  ``POST /telegram/webhook``) [polling]
- ``GATEWAY_TELEGRAM_API_URL``: base URL of the Bot API server; change it for a local
  ``telegram-bot-api`` server (or a test double) [https://api.telegram.org]
- ``GATEWAY_TELEGRAM_WEBHOOK_URL``: the public HTTPS URL Telegram should call, ending in
  ``/telegram/webhook`` (webhook mode only, then required) [unset]
- ``GATEWAY_TELEGRAM_WEBHOOK_SECRET``: shared secret Telegram sends in the
  ``X-Telegram-Bot-Api-Secret-Token`` header; 1-256 of ``A-Z a-z 0-9 _ -`` (webhook mode
  only, then required) [unset]
- ``GATEWAY_TELEGRAM_MAX_VOICE_BYTES``: largest voice note accepted, checked before the
  download [1048576, 1 MiB: about 4 minutes of Telegram's Opus]
- ``GATEWAY_TELEGRAM_MAX_VOICE_S``: longest voice note accepted, in seconds [60]
- ``GATEWAY_TELEGRAM_POLLING_TIMEOUT_S``: long-polling wait of one ``getUpdates`` [30]
- ``GATEWAY_TELEGRAM_RETRY_LIMIT``: how often one send is retried after Telegram's flood
  control answered 429 (it says how long to wait; we wait that long) [3]
- ``GATEWAY_TELEGRAM_MAX_RETRY_WAIT_S``: a 429 asking for a longer wait than this drops
  the message instead of holding the chat's queue [60]
- ``GATEWAY_FEEDBACK_RATING_WINDOW_S``: how long after a task a resident may still rate it
  from the web chat or Telegram [259200, 3 days]
- ``GATEWAY_FEEDBACK_CALLBACK_WORKING_DAYS``: 差评必改 call-back deadline, working days [1]
- ``GATEWAY_FEEDBACK_FIX_SIMPLE_H`` / ``GATEWAY_FEEDBACK_FIX_COMPLEX_H``: fix deadline of a
  simple / complex case, hours of working days [24 / 72]
- ``GATEWAY_FEEDBACK_CALENDAR_FILE``: holidays and 调休 working days
  [<project root>/bot/feedback/calendar_cn.txt]
- ``GATEWAY_FEEDBACK_TIMEZONE``: where the working day starts and ends [Asia/Shanghai]
- ``GATEWAY_FEEDBACK_WARN_BEFORE_S``: a case's deadline is flagged this long before it
  passes [14400, 4 h]
- ``GATEWAY_FEEDBACK_TICK_S``: how often deadlines are checked [60]
- ``GATEWAY_REVIEWED_NLU_FILE``: where the review of missed utterances (``/admin``) exports
  the accepted training examples [<project root>/data/nlu/reviewed.yml]
- ``GATEWAY_REPORT_TIMEZONE``: the time zone the dashboard counts days in [Asia/Shanghai]
- ``GATEWAY_REMINDER_DAYS``: remind residents whose authentication is due within this
  many days [30]
- ``GATEWAY_REMINDER_QUIET_HOURS``: no reminder is sent in this local time window; the job
  waits for its end [21:00-08:00]
- ``GATEWAY_REMINDER_TIMEZONE``: the residents' time zone for quiet hours and due dates
  [Asia/Shanghai]
- ``GATEWAY_REMINDER_TICK_S``: how often the reminder job looks for due residents [600]
- ``GATEWAY_RETENTION_DAYS``: conversations, transcripts and reminder records older than
  this are deleted [180]
- ``GATEWAY_RETENTION_TICK_S``: how often the retention job runs [3600]

The ``GATEWAY_`` prefix exists because bare ``HOST``/``PORT`` are set by some shells
and platforms for other purposes; a stray ``HOST`` must not make the gateway listen
on a public address.

Token lookup: ``RASA_TOKEN`` if set and non-empty, otherwise the first line of
``GATEWAY_RASA_TOKEN_FILE`` (default ``var/rasa_token`` under the project root, not
under the current directory, so the service finds it wherever it is started from),
otherwise no token. The token is a ``SecretStr`` so it never shows up in a repr or log;
the same goes for the Telegram token and webhook secret.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TOKEN_FILE = PROJECT_ROOT / "var" / "rasa_token"
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'gateway.db'}"

# What Telegram accepts as a webhook's secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_QUIET_HOURS = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]")

# Drivers the gateway is tested with; a URL naming another one is a deployment mistake.
_DATABASE_URL_PREFIXES = {
    "sqlite+aiosqlite://": "sqlite+aiosqlite://",
    "sqlite://": "sqlite+aiosqlite://",
    "postgresql+asyncpg://": "postgresql+asyncpg://",
    "postgresql://": "postgresql+asyncpg://",
    "postgres://": "postgresql+asyncpg://",
}


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
    # Not prefixed, like RASA_TOKEN: DATABASE_URL is the name hosting platforms set.
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "GATEWAY_DATABASE_URL", "database_url"),
        repr=False,  # may hold a password
    )
    redis_url: str | None = Field(default=None, repr=False)  # may hold a password
    redis_lock_ttl_s: float = Field(default=10.0, gt=0)
    event_retention_s: float = Field(default=3600.0, gt=0)
    callback_offer_after_s: float = Field(default=300.0, gt=0)
    agent_token_ttl_s: float = Field(default=12 * 3600.0, gt=0)
    default_handling_s: float = Field(default=240.0, gt=0)
    handoff_tick_s: float = Field(default=5.0, gt=0)
    queue_push_interval_s: float = Field(default=0.1, ge=0)
    telegram_token: SecretStr | None = None
    telegram_mode: Literal["polling", "webhook"] = "polling"
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_max_voice_bytes: int = Field(default=1024 * 1024, gt=0)
    telegram_max_voice_s: float = Field(default=60.0, gt=0)
    telegram_polling_timeout_s: int = Field(default=30, ge=0, le=50)
    telegram_retry_limit: int = Field(default=3, ge=0, le=10)
    telegram_max_retry_wait_s: float = Field(default=60.0, ge=0)
    feedback_rating_window_s: float = Field(default=3 * 86400.0, gt=0)
    feedback_callback_working_days: int = Field(default=1, ge=0, le=30)
    feedback_fix_simple_h: float = Field(default=24.0, gt=0)
    feedback_fix_complex_h: float = Field(default=72.0, gt=0)
    feedback_calendar_file: Path = PROJECT_ROOT / "bot" / "feedback" / "calendar_cn.txt"
    feedback_timezone: str = "Asia/Shanghai"
    feedback_warn_before_s: float = Field(default=4 * 3600.0, ge=0)
    feedback_tick_s: float = Field(default=60.0, gt=0)
    reminder_days: int = Field(default=30, ge=0, le=366)
    reminder_quiet_hours: str = "21:00-08:00"
    reminder_timezone: str = "Asia/Shanghai"
    reminder_tick_s: float = Field(default=600.0, gt=0)
    retention_days: int = Field(default=180, ge=1)
    retention_tick_s: float = Field(default=3600.0, gt=0)
    reviewed_nlu_file: Path = PROJECT_ROOT / "data" / "nlu" / "reviewed.yml"
    report_timezone: str = "Asia/Shanghai"

    @field_validator("rasa_url", "action_server_url")
    @classmethod
    def _normalise_base_url(cls, value: str) -> str:
        """Reject non-HTTP URLs early and drop the trailing slash so paths join cleanly."""
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("reminder_quiet_hours")
    @classmethod
    def _quiet_hours(cls, value: str) -> str:
        """``HH:MM-HH:MM`` (may wrap midnight) or empty for none; checked at start-up."""
        value = value.strip()
        if value and not _QUIET_HOURS.fullmatch(value):
            raise ValueError("must be HH:MM-HH:MM, e.g. 21:00-08:00, or empty")
        return value

    @field_validator("reminder_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _telegram_base_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _telegram_webhook_complete(self) -> Settings:
        """Webhook mode without a public URL or a secret cannot work: refuse at start-up."""
        if self.telegram_token is not None and not self.telegram_token.get_secret_value().strip():
            self.telegram_token = None
        if self.telegram_token is None or self.telegram_mode != "webhook":
            return self
        if not self.telegram_webhook_url or not self.telegram_webhook_url.startswith("https://"):
            raise ValueError("GATEWAY_TELEGRAM_WEBHOOK_URL must be an https:// URL in webhook mode")
        secret = self.telegram_webhook_secret
        if secret is None or not _WEBHOOK_SECRET.fullmatch(secret.get_secret_value()):
            raise ValueError(
                "GATEWAY_TELEGRAM_WEBHOOK_SECRET must be 1-256 of A-Z a-z 0-9 _ - in webhook mode"
            )
        return self

    def telegram_token_value(self) -> str | None:
        """The plain bot token, for the one place that builds the Bot."""
        return self.telegram_token.get_secret_value() if self.telegram_token else None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @model_validator(mode="after")
    def _token_from_file(self) -> Settings:
        """Fall back to the token file so the token need not sit in a unit file or shell."""
        given = self.rasa_token.get_secret_value().strip() if self.rasa_token else ""
        self.rasa_token = SecretStr(given) if given else _read_token_file(self.rasa_token_file)
        return self

    def rasa_token_value(self) -> str | None:
        """The plain token, for the one place that must put it on the wire."""
        return self.rasa_token.get_secret_value() if self.rasa_token is not None else None

    @property
    def turn_limit_s(self) -> float:
        """The longest a turn can still be running: Rasa's timeout, and then some. A sender
        lock is waited for this long, and an unanswered turn older than this is abandoned."""
        return self.rasa_timeout_s + 10


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


def normalise_database_url(value: str) -> str:
    """Accept the usual spellings but always run on the async drivers we test with."""
    value = value.strip()
    for prefix, driver in _DATABASE_URL_PREFIXES.items():
        if value.startswith(prefix):
            return driver + value[len(prefix) :]
    raise ValueError("must be a sqlite+aiosqlite:// or postgresql+asyncpg:// URL")


def get_settings() -> Settings:
    """Build settings from the environment now, so importing the package has no side effects."""
    return Settings()
